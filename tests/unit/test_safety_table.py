"""The checked-in operation-safety table against the rules and the installed botocore.

A failure here means a rule, a curated entry or botocore's data changed the
answer for some operation: regenerate the table and the counts with

    python -m resilient_cloud._safety_table --write tests/data/operation_safety.tsv
    python -m resilient_cloud._safety_table --summary   # into docs/configuration.md

and review the diff before committing it.
"""

from __future__ import annotations

from pathlib import Path

import botocore
import pytest

from resilient_cloud import _safety_table
from resilient_cloud._safety import OperationFacts
from resilient_cloud._safety_table import Row, parse, render, summary

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "tests" / "data" / "operation_safety.tsv"
DOCS = ROOT / "docs" / "configuration.md"
REGENERATE = "python -m resilient_cloud._safety_table --write tests/data/operation_safety.tsv"


@pytest.fixture(scope="module")
def checked_in() -> tuple[str, list[Row]]:
    return parse(TABLE.read_text())


def test_every_recorded_operation_still_classifies_as_recorded(checked_in) -> None:
    # From the facts the table recorded, so on any botocore a difference is a
    # rule or curated entry that changed, not a service model.
    _, rows = checked_in
    changed = [
        f"{row.service}.{row.operation}: {row.safety} by {row.rule} -> {now.safety} by {now.rule}"
        for row in rows
        if (now := Row.of(row.facts)) != row
    ]
    assert not changed, f"review, then regenerate ({REGENERATE}):\n" + "\n".join(changed[:50])


def test_the_table_is_what_the_recorded_botocore_gives(checked_in) -> None:
    # Walks every service model: about 5 s.
    version, rows = checked_in
    installed = _safety_table.installed_rows()
    if botocore.__version__ != version:
        # Another botocore (CI also runs the newest 1.44.x) adds operations and
        # changes some models; the table describes the one it names.
        recorded = {row.key: row for row in rows}
        new = sum(row.key not in recorded for row in installed)
        changed = sum(row.key in recorded and row.facts != recorded[row.key].facts for row in installed)
        pytest.skip(
            f"table recorded from botocore {version}, installed {botocore.__version__}: "
            f"{new} operations new, {changed} with other facts"
        )
    recorded_keys, installed_keys = {row.key for row in rows}, {row.key for row in installed}
    assert sorted(installed_keys - recorded_keys) == [], f"new operations: {REGENERATE}"
    assert sorted(recorded_keys - installed_keys) == [], f"operations gone: {REGENERATE}"
    assert installed == rows, f"facts read from the models differ: {REGENERATE}"


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


def test_a_row_records_the_facts_it_was_classified_from() -> None:
    facts = OperationFacts("stepfunctions", "GetActivityTask", "json", "POST", False)
    row = Row.of(facts)
    assert row.facts == facts
    assert (row.idempotency_token, row.safety, row.rule) == ("no", "unsafe", "curated")
    assert "dequeue" in row.why
    token = Row.of(OperationFacts("example", "CreateThing", "json", "POST", True))
    assert (token.idempotency_token, token.safety, token.rule, token.why) == (
        "yes",
        "idempotent",
        "idempotency-token",
        "",
    )
    assert token.facts.has_idempotency_token


def test_docs_show_the_checked_in_counts(checked_in) -> None:
    version, rows = checked_in
    assert summary(rows, version) in DOCS.read_text(), (
        "docs/configuration.md: paste `python -m resilient_cloud._safety_table --summary`"
    )


def test_summary_counts_classes_and_rules() -> None:
    rows = [
        Row("a", "GetX", "rest-json", "GET", "no", "read-only", "rest-method:GET"),
        Row("a", "PutX", "rest-json", "PUT", "no", "idempotent", "rest-put-name"),
        Row("b", "GetY", "rest-json", "GET", "no", "read-only", "rest-method:GET"),
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
