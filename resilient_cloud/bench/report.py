"""The benchmark's table for people and JSON for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def _fmt(value: Any, spec: str, lower_bound: bool = False) -> str:
    if value is None:
        return "-"
    text = format(value, spec)
    return f">={text}" if lower_bound else text


def render(run: dict[str, Any], console: Console) -> None:
    env = run["environment"]
    console.print(
        f"botocore {env['botocore']}, resilient_cloud {env['resilient_cloud']}, "
        f"seed {run['seed']}{' (quick)' if run['quick'] else ''}"
    )
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for result in run["results"]:
        by_scenario.setdefault(result["scenario"], []).append(result)
    for scenario, rows in by_scenario.items():
        if "ratio" in rows[0]:
            _render_overhead(scenario, rows[0], console)
            continue
        table = Table(title=scenario)
        for column in (
            "subject", "calls", "requests", "amplification",
            "attempts/call", "success", "p50 s", "p99 s", "unfinished",
        ):
            table.add_column(column, justify="left" if column == "subject" else "right")
        for row in rows:
            lower = row["amplification_is_lower_bound"]
            table.add_row(
                row["subject"],
                str(row["calls_started"]),
                _fmt(row["server_requests"], "d", lower),
                _fmt(row["amplification"], ".2f", lower),
                _fmt(row["attempts_per_finished_call"], ".2f"),
                _fmt(row["success_ratio"], ".2%"),
                _fmt(row["p50"], ".3f"),
                _fmt(row["p99"], ".3f"),
                str(row["unfinished"] + row["not_started"]),
            )
        console.print(table)


def _render_overhead(scenario: str, row: dict[str, Any], console: Console) -> None:
    table = Table(title=f"{scenario} (no network, {row['calls_per_subject']} calls each)")
    for column in ("plain botocore us/call", "resilient us/call", "ratio (median)", "ratio range"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{row['plain_us_per_call']:.0f}",
        f"{row['resilient_us_per_call']:.0f}",
        f"{row['ratio']:.3f}",
        f"{row['ratio_min']:.3f}-{row['ratio_max']:.3f}",
    )
    console.print(table)


def write_json(run: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(run, indent=2) + "\n")
