"""The benchmark's tables for people (a terminal, or Markdown) and JSON for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from resilient_cloud.bench import summary


def _fmt(value: Any, spec: str, lower_bound: bool = False) -> str:
    if value is None:
        return "-"
    text = format(value, spec)
    return f">={text}" if lower_bound else text


# (header, key, format); a column shows only if some row of the scenario has the key.
COLUMNS = (
    ("calls", "calls_started", "d"),
    ("requests", "server_requests", "d"),
    ("amplification", "amplification", ".2f"),
    ("attempts/call", "attempts_per_finished_call", ".2f"),
    ("success", "success_ratio", ".2%"),
    ("p50 s", "p50", ".3f"),
    ("p99 s", "p99", ".3f"),
    ("slow p99 s", "slow_p99", ".3f"),
    ("p99 in fault s", "window_p99", ".3f"),
    ("p99 outside s", "outside_p99", ".3f"),
    ("success in fault", "window_success_ratio", ".2%"),
    ("ok during fault", "window_success_during_fault", ".2%"),
    ("1st success s", "first_success_after_fault", ".2f"),
    ("recovery s", "time_to_recover", ".2f"),
    ("by fallback", "fallback_served", ".2%"),
    ("fallback requests", "fallback_requests", "d"),
    ("primary back s", "primary_back_after", ".2f"),
    ("hedges", "hedges_fired", "d"),
    ("hedges won", "hedges_won", "d"),
)
_LOWER_BOUND_KEYS = {"server_requests", "amplification", "fallback_requests"}


def render(run: dict[str, Any], console: Console, *, detail: bool = False) -> None:
    """The summary (a row per scenario, with a verdict), then with ``detail``
    every scenario's table."""
    env = run["environment"]
    console.print(
        f"botocore {env['botocore']}, resilient_cloud {env['resilient_cloud']}, "
        f"Python {env['python']}, {env['cpus']} CPUs, seed {run['seed']}"
        f"{' (quick)' if run['quick'] else ''}, {commit_line(env.get('commit'))}"
    )
    _render_summary(run, console)
    if not detail:
        console.print("Every subject and figure per scenario: --detail (and --json).")
        return
    for scenario, rows in _by_scenario(run).items():
        if "skipped" in rows[0]:
            continue  # said in the summary
        if "ratio" in rows[0]:
            _render_overhead(scenario, rows[0], console)
            continue
        if "storm" in rows[0]:
            for row in rows:
                console.print(f"{scenario}: " + _storm_line(row).replace("**", ""))
            continue
        subject_rows, probe_rows = _split(rows)
        if subject_rows:
            _render_scenario(scenario, run["scenarios"][scenario], subject_rows, console)
        for row in probe_rows:
            console.print(_probe_line(row).replace("**", ""))


def _render_summary(run: dict[str, Any], console: Console) -> None:
    """A row per scenario: plain botocore's best figure -> resilient_cloud's,
    and the verdict in words, in 80 columns."""
    compared = summary.lines(run)
    if compared:
        console.print("[bold]plain botocore → resilient_cloud[/bold]")
        for text, worse in compared:
            console.print(text, style="bold red" if worse else None, highlight=False, soft_wrap=True)
        console.print(
            "plain: the best of botocore's retry modes on each figure (legacy, standard, "
            "adaptive; aiobotocore for the asyncio rows, marked aio). success: of the calls "
            "submitted during the fault, those served within 1 s (all calls where a scenario has "
            "no fault window). recovery: from the fault's end until every later call succeeded. "
            "Differences within 10% (0.5 pts, 0.25 s) count as the same. ≥: a lower bound "
            "(calls still running at the time cap).",
            width=min(console.width, 80), highlight=False,
        )
    for scenario, rows in _by_scenario(run).items():
        if "skipped" in rows[0]:
            console.print(f"{scenario}: skipped, {rows[0]['skipped']}", width=min(console.width, 80),
                          highlight=False)
        elif "ratio" in rows[0]:
            row = rows[0]
            console.print(
                f"{scenario}: {row['ratio']:.3f}x plain's per-call cost (no network; "
                f"{row['plain_us_per_call']:.0f} vs {row['resilient_us_per_call']:.0f} us)",
                width=min(console.width, 80), highlight=False,
            )
        elif "storm" in rows[0]:
            for row in rows:
                after = row["after"]
                # A plain subject has no bulkhead or hedges: None, nothing to leave.
                left = sum(after[key] or 0 for key in ("bulkhead_in_use", "bulkhead_waiting", "tasks", "hedges_open"))
                console.print(
                    f"{scenario} ({row['subject']}): {row['cancelled']} of {row['calls_started']} "
                    f"calls cancelled, {left} slots, tasks or hedges left behind",
                    width=min(console.width, 80), highlight=False,
                )


def commit_line(stamp: dict[str, Any] | None) -> str:
    """Where the measured code came from, in a few words."""
    if not stamp:
        return "commit unknown"
    if stamp.get("library_dirty"):
        state = " with uncommitted library changes"
    elif stamp.get("dirty"):
        state = " (library clean, other files changed)"
    else:
        state = ""
    return f"commit {stamp['sha'][:12]}{state}"


def scenario_cells(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells of one scenario's rows (shared by both renderers)."""
    columns = [c for c in COLUMNS if any(row.get(c[1]) is not None for row in rows)]
    headers = ["subject", *(header for header, _, _ in columns), "unfinished"]
    body = []
    for row in rows:
        lower = row["amplification_is_lower_bound"]
        cells = [_fmt(row.get(key), spec, lower and key in _LOWER_BOUND_KEYS) for _, key, spec in columns]
        body.append([row["subject"], *cells, str(row["unfinished"] + row["not_started"])])
    return headers, body


def _render_scenario(
    scenario: str, description: dict[str, Any], rows: list[dict[str, Any]], console: Console
) -> None:
    table = Table(title=f"{scenario}: {description['description']}", title_justify="left")
    headers, body = scenario_cells(rows)
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index == 0 else "right")
    for cells in body:
        table.add_row(*cells)
    console.print(table)


def _render_overhead(scenario: str, row: dict[str, Any], console: Console) -> None:
    _render_ratio(f"{scenario}: no network, {row['calls_per_subject']} calls each", row, console)
    if "noop_us" in row:
        console.print(f"telemetry's no-op path (no SDK): {row['noop_us']:.2f} us per call")
    if "sdk" in row:
        _render_ratio(f"{scenario}: with the OpenTelemetry SDK", row["sdk"], console)


def _render_ratio(title: str, row: dict[str, Any], console: Console) -> None:
    table = Table(title=title, title_justify="left")
    plain, resilient = row.get("plain", "plain botocore"), row.get("resilient", "resilient")
    for column in (f"{plain} us/call", f"{resilient} us/call", "ratio (median)", "ratio range"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{row['plain_us_per_call']:.0f}",
        f"{row['resilient_us_per_call']:.0f}",
        f"{row['ratio']:.3f}",
        f"{row['ratio_min']:.3f}-{row['ratio_max']:.3f}",
    )
    console.print(table)


def _split(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A scenario's rows: one per subject, then its probes' measurements."""
    return [r for r in rows if "probe" not in r], [r for r in rows if "probe" in r]


def _probe_line(row: dict[str, Any]) -> str:
    return (
        f"DNS cache hit per new connection: {row['cache_hit_us']:.2f} us, "
        f"**{row['hit_ratio']:.3f}** of an uncached getaddrinfo of the same name through the "
        f"fake cloud's in-process resolver ({row['getaddrinfo_us']:.2f} us; rounds "
        f"{row['hit_ratio_min']:.3f}-{row['hit_ratio_max']:.3f}), "
        f"**{row['hit_ratio_vs_libc']:.3f}** of the C library's getaddrinfo of localhost from "
        f"/etc/hosts ({row['libc_localhost_us']:.2f} us); {row['lookups_per_subject']} lookups each"
    )


def _overhead_line(row: dict[str, Any]) -> str:
    plain, resilient = row.get("plain", "plain botocore"), row.get("resilient", "resilient")
    line = (
        f"{resilient} / {plain} per-call cost: **{row['ratio']:.3f}** (median of rounds, "
        f"{row['ratio_min']:.3f}-{row['ratio_max']:.3f}; {row['calls_per_subject']} calls each; "
        f"{row['plain_us_per_call']:.0f} vs {row['resilient_us_per_call']:.0f} us per call)"
    )
    if "noop_us" in row:
        line += f"; the no-op path alone: {row['noop_us']:.2f} us per call"
    if "sdk" in row:
        line += "; " + _overhead_line(row["sdk"])
    return line


def _storm_line(row: dict[str, Any]) -> str:
    after = row["after"]
    return (
        f"{row['subject']}: {row['cancelled']} of {row['calls_started']} calls cancelled mid-flight "
        f"({row['ended_by_themselves']} ended by themselves; {row['requests_sent']} requests and "
        f"{row['hedges_fired']} hedges sent; bulkhead peak {row['peak_bulkhead_in_use']} in use, "
        f"{row['peak_bulkhead_waiting']} queued); left behind: **{after['bulkhead_in_use']} slots "
        f"held, {after['bulkhead_waiting']} queued, {after['tasks']} tasks, {after['hedges_open']} "
        f"open hedges**, {after['connections_acquired']} connections held for requests"
    )


def markdown(run: dict[str, Any]) -> str:
    """The whole run as Markdown: one table per scenario, figures as measured."""
    env = run["environment"]
    lines = [f"botocore {env['botocore']}, Python {env['python']}, {env['cpus']} CPUs, seed {run['seed']}", ""]
    for scenario, rows in _by_scenario(run).items():
        about = run["scenarios"][scenario]
        lines.append(f"**{scenario}**: {about['description']}.")
        if "skipped" in rows[0]:
            lines += [f"Skipped: {rows[0]['skipped']}.", ""]
            continue
        if "ratio" in rows[0]:
            lines += [_overhead_line(rows[0]), ""]
            continue
        if "storm" in rows[0]:
            lines += [*(_storm_line(row) + "." for row in rows), ""]
            continue
        load = f"{about['calls']} calls" + (
            f" at {about['rate']:g}/s" if about["rate"] else f" from {about['threads']} threads"
        )
        window = f", fault {about['window'][0]:g}-{about['window'][1]:g} s" if about["window"] else ""
        lines += [f"{load}{window}, cap {about['cap']:g} s.", ""]
        subject_rows, probe_rows = _split(rows)
        if subject_rows:
            headers, body = scenario_cells(subject_rows)
            lines.append("| " + " | ".join(headers) + " |")
            lines.append("|---" * len(headers) + "|")
            lines += ["| " + " | ".join(cells) + " |" for cells in body]
            lines.append("")
        lines += [_probe_line(row) + "." for row in probe_rows]
        if probe_rows:
            lines.append("")
    return "\n".join(lines)


def _by_scenario(run: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for result in run["results"]:
        by_scenario.setdefault(result["scenario"], []).append(result)
    return by_scenario


def write_json(run: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(run, indent=1) + "\n")
