"""The operation-safety table: every operation of every service in botocore's
data, the facts the rules read from its model, its safety class, the rule that
gave it and, for curated entries, why.

    python -m resilient_cloud._safety_table                # the table (TSV) on stdout
    python -m resilient_cloud._safety_table --write PATH   # regenerate a checked-in table
    python -m resilient_cloud._safety_table --summary      # counts per class and per rule (Markdown)

The checked-in copy is ``tests/data/operation_safety.tsv``. ``tests/unit/
test_safety_table.py`` classifies every row's recorded facts again, so a rule
change or a new curated entry shows up as a diff of this table to review, on
any botocore; on the botocore version the table names, it also checks that the
table is exactly what that botocore's models give. It lives in the package (not
in ``scripts/``) so that the test imports the same code, and so an installed
copy can audit whatever botocore it runs with.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
import botocore.session

from resilient_cloud._botocore.operations import operation_facts
from resilient_cloud._safety import CURATED, OperationFacts, Safety, classify_with_rule

HEADER_PREFIX = "# operation safety, botocore "
COLUMNS = ("service", "operation", "protocol", "http_method", "idempotency_token", "safety", "rule", "why")
_YES_NO = {True: "yes", False: "no"}


@dataclass(frozen=True, slots=True, order=True)
class Row:
    """One operation's line of the table (sorted by service, then operation)."""

    service: str
    operation: str
    protocol: str
    http_method: str
    #: "yes" when the input has an ``idempotencyToken`` member, else "no".
    idempotency_token: str
    safety: str
    rule: str
    #: The curated entry's reason; empty for the other rules.
    why: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.operation)

    @property
    def facts(self) -> OperationFacts:
        return OperationFacts(
            self.service, self.operation, self.protocol, self.http_method, self.idempotency_token == "yes"
        )

    @classmethod
    def of(cls, facts: OperationFacts) -> Row:
        """Classify ``facts`` by the rules of today."""
        safety, rule = classify_with_rule(facts)
        why = CURATED[facts.service][facts.operation].why if rule == "curated" else ""
        token = _YES_NO[facts.has_idempotency_token]
        return cls(
            facts.service, facts.operation, facts.protocol, facts.http_method, token, safety.value, rule, why
        )


def installed_rows(session: Any = None) -> list[Row]:
    """Classify every operation of every service the installed botocore knows."""
    session = session or botocore.session.get_session()
    rows = []
    for service in session.get_available_services():
        service_model = session.get_service_model(service)
        for name in service_model.operation_names:
            rows.append(Row.of(operation_facts(service_model.operation_model(name))))
    return sorted(rows)


def render(rows: Iterable[Row], botocore_version: str) -> str:
    lines = [HEADER_PREFIX + botocore_version, "\t".join(COLUMNS)]
    # Rows without a reason end after the rule (no trailing tab).
    lines += ["\t".join(dataclasses.astuple(row)).rstrip("\t") for row in rows]
    return "\n".join(lines) + "\n"


def parse(text: str) -> tuple[str, list[Row]]:
    """The botocore version a table was generated from, and its rows."""
    lines = text.splitlines()
    if len(lines) < 2 or not lines[0].startswith(HEADER_PREFIX) or lines[1] != "\t".join(COLUMNS):
        raise ValueError("not an operation-safety table (header or columns differ)")
    return lines[0][len(HEADER_PREFIX) :], [Row(*line.split("\t")) for line in lines[2:]]


def summary(rows: Sequence[Row], botocore_version: str) -> str:
    """Markdown counts per class and per rule (for docs/configuration.md)."""
    by_class = collections.Counter(r.safety for r in rows)
    by_rule = collections.Counter((r.rule, r.safety) for r in rows)
    lines = [
        f"{len(rows)} operations of {len({r.service for r in rows})} services, botocore {botocore_version}:",
        "",
        "| class | operations |",
        "|---|---:|",
    ]
    lines += [f"| {s.value} | {by_class[s.value]} |" for s in Safety]
    lines += ["", "| rule | class | operations |", "|---|---|---:|"]
    # Most used first; ties by name so the output is stable.
    for (rule, safety), count in sorted(by_rule.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"| `{rule}` | {safety} | {count} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resilient_cloud._safety_table",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--write", metavar="PATH", type=Path, help="write the table to PATH")
    parser.add_argument("--summary", action="store_true", help="print counts per class and rule")
    args = parser.parse_args(argv)
    rows = installed_rows()
    if args.summary:
        sys.stdout.write(summary(rows, botocore.__version__))
    elif args.write is not None:
        args.write.write_text(render(rows, botocore.__version__))
        print(f"{len(rows)} operations written to {args.write}", file=sys.stderr)
    else:
        sys.stdout.write(render(rows, botocore.__version__))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
