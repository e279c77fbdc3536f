"""The checked-in operation-safety table against the rules and the installed botocore.

Every operation of every service is classified (about 5 s, once per module).
A failure here means a rule, a curated entry or botocore's data changed the
answer for some operation: regenerate the table with

    python -m resilient_cloud._safety_table --write tests/data/operation_safety.tsv
    python -m resilient_cloud._safety_table --summary   # into docs/configuration.md

and review the diff before committing it.
"""

from __future__ import annotations

from pathlib import Path

import botocore
import pytest

from resilient_cloud import _safety_table
from resilient_cloud._safety_table import Row, parse, render, summary

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "tests" / "data" / "operation_safety.tsv"
DOCS = ROOT / "docs" / "configuration.md"
REGENERATE = "python -m resilient_cloud._safety_table --write tests/data/operation_safety.tsv"


@pytest.fixture(scope="module")
def checked_in() -> tuple[str, list[Row]]:
    return parse(TABLE.read_text())


@pytest.fixture(scope="module")
def installed() -> dict[tuple[str, str], Row]:
    return {row.key: row for row in _safety_table.installed_rows()}


def test_every_recorded_operation_still_classifies_as_recorded(checked_in, installed) -> None:
    _, rows = checked_in
    changed = [
        f"{row.service}.{row.operation}: {row.safety} by {row.rule} -> "
        f"{installed[row.key].safety} by {installed[row.key].rule}"
        for row in rows
        if row.key in installed and installed[row.key] != row
    ]
    assert not changed, f"review, then regenerate ({REGENERATE}):\n" + "\n".join(changed[:50])


def test_the_table_covers_the_recorded_botocore_exactly(checked_in, installed) -> None:
    version, rows = checked_in
    recorded = {row.key for row in rows}
    if botocore.__version__ != version:
        # Another botocore (CI runs the newest 1.44.x too) may add operations;
        # it may drop a few, but most of the table must still be there, or the
        # comparison above checked nothing.
        assert len(recorded & installed.keys()) >= 0.95 * len(recorded)
        pytest.skip(f"table recorded from botocore {version}, installed {botocore.__version__}")
    assert sorted(installed.keys() - recorded) == [], f"new operations: {REGENERATE}"
    assert sorted(recorded - installed.keys()) == [], f"operations gone: {REGENERATE}"


def test_the_table_is_sorted_without_duplicates(checked_in) -> None:
    _, rows = checked_in
    keys = [row.key for row in rows]
    assert keys == sorted(set(keys))


def test_render_and_parse_round_trip(checked_in) -> None:
    version, rows = checked_in
    assert parse(render(rows, version)) == (version, rows)
    assert render(rows, version) == TABLE.read_text()


def test_parse_rejects_other_files() -> None:
    with pytest.raises(ValueError, match="not an operation-safety table"):
        parse("service\toperation\n")
    with pytest.raises(ValueError, match="not an operation-safety table"):
        parse(_safety_table.HEADER_PREFIX + "1.0\nservice\toperation\n")


def test_docs_show_the_checked_in_counts(checked_in) -> None:
    version, rows = checked_in
    assert summary(rows, version) in DOCS.read_text(), (
        "docs/configuration.md: paste `python -m resilient_cloud._safety_table --summary`"
    )


def test_summary_counts_classes_and_rules() -> None:
    rows = [
        Row("a", "GetX", "GET", "read-only", "rest-method:GET"),
        Row("a", "PutX", "PUT", "idempotent", "rest-put-name"),
        Row("b", "GetY", "GET", "read-only", "rest-method:GET"),
    ]
    assert summary(rows, "9.9") == (
        "3 operations of 2 services, botocore 9.9:\n"
        "\n"
        "| class | operations |\n"
        "|---|---:|\n"
        "| read-only | 2 |\n"
        "| idempotent | 1 |\n"
        "| unsafe | 0 |\n"
        "\n"
        "| rule | class | operations |\n"
        "|---|---|---:|\n"
        "| `rest-method:GET` | read-only | 2 |\n"
        "| `rest-put-name` | idempotent | 1 |\n"
    )
