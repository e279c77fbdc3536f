"""tests/typing/check_client_types.py passes mypy, and would fail if the
client types it checks degraded to Any or BaseClient (shown on a copy whose
sessions and wraps are swapped for degraded stand-ins)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "tests" / "typing" / "check_client_types.py"
NEEDED = ("mypy", "types_boto3_dynamodb", "types_boto3_s3", "types_aiobotocore_dynamodb", "aiobotocore")

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in NEEDED),
    reason="needs mypy and the stubs: pip install -e '.[typing]'",
)

# Stand-ins typed the way a regression would type them.
DEGRADED = '''
from typing import Any as _Any

from botocore.client import BaseClient as _BaseClient


class _AnySession(rc.Session):
    def client(self, *args: _Any, **kwargs: _Any) -> _Any: ...  # type: ignore[override]


class _BaseClientSession(rc.Session):
    def client(self, *args: _Any, **kwargs: _Any) -> _BaseClient: ...  # type: ignore[override]


class _AnyAioSession(rc.aio.Session):
    def create_client(  # type: ignore[override]
        self, *args: _Any, **kwargs: _Any
    ) -> ResilientClientCreatorContext[_Any]: ...


def _any_wrap(client: _Any, **kwargs: _Any) -> _Any: ...
'''


def _mypy(path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(cache), "--no-error-summary", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


def _failed_lines(output: str, path: Path) -> set[int]:
    return {int(n) for n in re.findall(rf"^{re.escape(str(path))}:(\d+): error: .*\[assert-type\]", output, re.M)}


def test_the_client_types_hold_and_the_check_sees_them_degrade(tmp_path: Path) -> None:
    cache = tmp_path / "mypy-cache"
    real = _mypy(CHECK, cache)
    assert real.returncode == 0, real.stdout + real.stderr

    source = CHECK.read_text()
    imports_end = source.index("\n\n\ndef ")
    body = source[imports_end:]
    cases = {  # a regression's stand-in, and the kinds of assertion it must fail
        "any-client": (body.replace("rc.Session(", "_AnySession("), {"client", "client-by-name"}),
        "base-client": (body.replace("rc.Session(", "_BaseClientSession("), {"client"}),
        "any-wrap": (body.replace("rc.wrap(", "_any_wrap(").replace("rc.aio.wrap(", "_any_wrap("), {"wrap"}),
        "any-aio": (
            body.replace("rc.aio.Session(", "_AnyAioSession(").replace("rc.aio.get_session()", "_AnyAioSession()"),
            {"aio"},
        ),
    }
    for name, (degraded_body, kinds) in cases.items():
        copy = tmp_path / f"degraded_{name.replace('-', '_')}.py"
        copy.write_text(source[:imports_end] + DEGRADED + degraded_body)
        result = _mypy(copy, cache)
        expected = {
            number for number, line in enumerate(copy.read_text().splitlines(), 1)
            if (kind := re.search(r"# of: ([a-z-]+)", line)) and kind.group(1) in kinds
        }
        assert len(expected) >= 3, name
        assert result.returncode == 1, (name, result.stdout)
        assert _failed_lines(result.stdout, copy) == expected, (name, result.stdout)
