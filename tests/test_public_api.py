"""The public surface: names, modules, version, docs."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import resilient_cloud as rc

ROOT = Path(__file__).resolve().parents[1]


def test_all_names_import_and_show_the_public_module() -> None:
    for name in rc.__all__:
        obj = getattr(rc, name)
        if isinstance(obj, type):
            assert obj.__module__ in ("resilient_cloud", "resilient_cloud.errors"), name


def test_the_asyncio_api_shows_its_public_module() -> None:
    aio = __import__("pytest").importorskip("resilient_cloud.aio", reason="needs the aio extra")
    assert aio.__all__ == sorted(aio.__all__) == ["DnsResolver", "Session", "get_session", "wrap"]
    for name in aio.__all__:
        assert getattr(aio, name).__module__ == "resilient_cloud.aio", name
    assert issubclass(aio.Session, __import__("aiobotocore.session").session.AioSession)


def test_all_is_sorted() -> None:
    assert rc.__all__ == sorted(rc.__all__)


def test_version_matches_metadata() -> None:
    assert rc.__version__ == importlib.metadata.version("resilient-cloud")


def test_contract_names_from_the_design() -> None:
    for name in ("Session", "wrap", "Policy", "Retry", "RetryBudget", "ResilienceError", "DeadlineExceededError"):
        assert hasattr(rc, name)
    assert issubclass(rc.ResilienceError, __import__("botocore").exceptions.BotoCoreError)


def test_every_public_name_is_documented() -> None:
    index = (ROOT / "docs" / "index.md").read_text()
    for name in rc.__all__:
        if not name.startswith("__"):
            assert re.search(rf"`{name}`", index), f"{name} is not listed in docs/index.md"
    reference = (ROOT / "docs" / "configuration.md").read_text()
    for name in ("Policy", "Retry", "RetryBudget", "CircuitBreaker", "Bulkhead", "Safety", "health"):
        assert re.search(rf"\b{name}\b", reference), f"{name} is not in docs/configuration.md"


def test_cli_help_and_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "resilient_cloud._cli", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"resilient-cloud {rc.__version__}"
    help_text = subprocess.run(
        [sys.executable, "-m", "resilient_cloud._cli", "bench", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--quick" in help_text and "--seed" in help_text


def test_readme_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"<!-- test-command -->\s*```(?:sh|bash)?\n(.+?)\n```", readme, re.S)
    assert command, "README.md marks its test command with <!-- test-command -->"
    assert command.group(1).strip() in ci
