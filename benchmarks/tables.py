"""Print a recorded run (`resilient-cloud bench --json FILE`) as Markdown tables.

    python benchmarks/tables.py benchmarks/full-run.json

The README's tables are this script's output, pasted, so no figure is typed by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLUMNS = (
    ("requests", "server_requests", "d"),
    ("req/call", "amplification", ".2f"),
    ("attempts/call", "attempts_per_finished_call", ".2f"),
    ("success", "success_ratio", ".2%"),
    ("p50 s", "p50", ".3f"),
    ("p99 s", "p99", ".3f"),
    ("success in fault", "window_success_ratio", ".1%"),
    ("p99 in fault s", "window_p99", ".3f"),
    ("p99 outside s", "outside_p99", ".3f"),
    ("recovery s", "time_to_recover", ".1f"),
    ("unfinished", "unfinished", "d"),
)


def cell(row: dict[str, Any], key: str, spec: str) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    text = format(value, spec)
    lower = row.get("amplification_is_lower_bound") and key in ("server_requests", "amplification")
    return f">={text}" if lower else text


def main(path: str) -> None:
    run = json.loads(Path(path).read_text())
    env = run["environment"]
    print(f"botocore {env['botocore']}, Python {env['python']}, {env['cpus']} CPUs, seed {run['seed']}\n")
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for row in run["results"]:
        by_scenario.setdefault(row["scenario"], []).append(row)
    for scenario, rows in by_scenario.items():
        about = run["scenarios"][scenario]
        print(f"**{scenario}**: {about['description']}.")
        if "ratio" in rows[0]:
            row = rows[0]
            print(
                f"resilient / plain botocore per-call cost: **{row['ratio']:.3f}** (median of "
                f"rounds, {row['ratio_min']:.3f}-{row['ratio_max']:.3f}; {row['calls_per_subject']} calls each)\n"
            )
            continue
        load = f"{about['calls']} calls" + (f" at {about['rate']:g}/s" if about["rate"] else f" from {about['threads']} threads")
        window = f", fault {about['window'][0]:g}-{about['window'][1]:g} s" if about["window"] else ""
        print(f"{load}{window}, cap {about['cap']:g} s.\n")
        columns = [c for c in COLUMNS if any(r.get(c[1]) is not None for r in rows)]
        print("| subject | " + " | ".join(c[0] for c in columns) + " |")
        print("|---" * (len(columns) + 1) + "|")
        for row in rows:
            print(f"| {row['subject']} | " + " | ".join(cell(row, key, spec) for _, key, spec in columns) + " |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
