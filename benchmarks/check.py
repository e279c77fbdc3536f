"""The figures each issue asks for, measured in one run and checked.

    python benchmarks/check.py foundation [--seed 1] [--quick]   # issue 3
    python benchmarks/check.py breakers   [--seed 1] [--quick]   # issue 5
    python benchmarks/check.py dns        [--seed 1] [--quick]   # issue 6
    python benchmarks/check.py regions    [--seed 1] [--quick]   # issue 7
    python benchmarks/check.py aio        [--seed 1] [--quick]   # issue 13 (rc.aio)
    python benchmarks/check.py pressure   [--seed 1] [--quick]   # issue 15 (recovery, throttling)
    python benchmarks/check.py breakers --from benchmarks/full-run.json

Runs the target's scenarios for its subjects on one seed (the same runner
as `resilient-cloud bench`; one fake cloud per group of scenarios), writes
benchmarks/TARGET.json, prints the tables, then checks each target and
exits 1 if one is missed. With --from, checks a run already recorded by
`resilient-cloud bench --json` (or by this script).

Every run records the commit it measured (`environment.commit`: `git
rev-parse HEAD`, whether tracked files were dirty, and whether the library
itself, `resilient_cloud/`, was). --from refuses (exit 2) a recording that
does not describe HEAD's library: one without a stamp, one made with
uncommitted library changes (no commit holds the code it measured), or one
made at a commit whose `resilient_cloud/` differs from HEAD's (`git diff
--quiet RECORDED HEAD -- resilient_cloud` fails). Commits that change only
docs, tests, benchmarks/ or the fleet simulator (resilient_cloud/sim/, which
no benchmark runs) leave a recording valid. --allow-stale checks it
anyway, saying why it is stale.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from resilient_cloud.bench import report, runner
from resilient_cloud.bench.scenarios import FALLBACK, GROUPS

HERE = Path(__file__).resolve().parent
#: The checkout whose HEAD a recorded run must describe.
REPO = HERE.parent
Rows = dict[tuple[str, Any], dict[str, Any]]
Check = tuple[str, bool, str]
#: Runs of a target: (scenarios, subjects) each.
Plan = list[tuple[list[str], list[str]]]


def _bound(row: dict[str, Any]) -> str:
    return ">=" if row["amplification_is_lower_bound"] else ""


def foundation(rows: Rows) -> list[Check]:
    # The budget alone: with the breaker on, an outage costs ~0.1 requests per
    # call whatever the budget does, so the breaker is off for this target.
    outage, outage_legacy = rows[("outage", "resilient-budget")], rows[("outage", "legacy")]
    transient = rows[("transient", "resilient")]
    transient_legacy, transient_std = rows[("transient", "legacy")], rows[("transient", "standard")]
    overhead = rows[("overhead", None)]
    return [
        (
            "outage: the retry budget alone (breaker off) holds requests per call < 1.3",
            outage["amplification"] < 1.3,
            f"{outage['amplification']:.3f} (its bound, 1 + ratio 0.2 + floor 1/s x 10 s / "
            f"{outage['calls_started']} calls: {1.2 + 10 / outage['calls_started']:.3f}; "
            f"legacy {_bound(outage_legacy)}{outage_legacy['amplification']:.2f})",
        ),
        (
            "transient: resilient success >= 99.9%",
            transient["success_ratio"] >= 0.999,
            f"{transient['success_ratio']:.4%} of {transient['calls_finished']}",
        ),
        (
            "transient: requests per call within 2% of plain legacy's",
            abs(transient["amplification"] / transient_legacy["amplification"] - 1) <= 0.02,
            f"{transient['amplification']:.4f} vs {transient_legacy['amplification']:.4f}",
        ),
        (
            "transient: p99 well under plain standard's (under half)",
            transient["p99"] < transient_std["p99"] / 2,
            f"{transient['p99']:.3f}s vs {transient_std['p99']:.3f}s",
        ),
        (
            "overhead: resilient / plain botocore <= 1.10",
            overhead["ratio"] <= 1.10,
            f"{overhead['ratio']:.3f} (median of rounds; "
            f"{overhead['ratio_min']:.3f}-{overhead['ratio_max']:.3f})",
        ),
    ]


def breakers(rows: Rows) -> list[Check]:
    outage, outage_legacy = rows[("outage", "resilient")], rows[("outage", "legacy")]
    transient = rows[("transient", "resilient")]
    recovery = rows[("outage-recovery", "resilient")]
    bulkhead, bulkhead_legacy = rows[("bulkhead", "resilient")], rows[("bulkhead", "legacy")]
    recovered = recovery["time_to_recover"]
    return [
        (
            "outage: resilient requests per call <= 1.1",
            outage["amplification"] <= 1.1,
            f"{outage['amplification']:.3f} (legacy {_bound(outage_legacy)}"
            f"{outage_legacy['amplification']:.2f})",
        ),
        (
            "outage: median failing call <= 50 ms",
            outage["p50"] <= 0.05,
            f"{outage['p50'] * 1000:.2f} ms (legacy "
            f"{(outage_legacy['p50'] or float('nan')):.1f} s)",
        ),
        (
            "transient 10%: success >= 99.5% (the breaker stays closed)",
            transient["success_ratio"] >= 0.995,
            f"{transient['success_ratio']:.4%} of {transient['calls_finished']}",
        ),
        (
            "outage-recovery: full success within a few (4) break intervals of 5 s",
            recovered is not None and recovered <= 20.0,
            f"{'never' if recovered is None else f'{recovered:.2f}s'} after the outage ended",
        ),
        (
            "bulkhead: healthy p99 with the slow dependency <= 2x healthy p99 without",
            bulkhead["window_p99"] <= 2 * bulkhead["outside_p99"],
            f"{bulkhead['window_p99']:.3f}s vs {bulkhead['outside_p99']:.3f}s "
            f"(legacy {bulkhead_legacy['window_p99']:.3f}s vs {bulkhead_legacy['outside_p99']:.3f}s)",
        ),
    ]


def _empty_lookups(row: dict[str, Any]) -> int:
    return row["dns_lookups"]["us-east-1"]["dynamodb"].get("empty", 0)


def dns(rows: Rows) -> list[Check]:
    resilient = rows[("dns-empty", "resilient")]
    plain = {subject: rows[("dns-empty", subject)] for subject in ("legacy", "standard")}
    cost = rows[("dns-empty", None)]
    plain_detail = ", ".join(
        f"{subject} {row['window_success_ratio']:.2%}" for subject, row in plain.items()
    )
    return [
        (
            "dns-empty: resilient success in the fault window >= 99.9%",
            resilient["window_success_ratio"] >= 0.999,
            f"{resilient['window_success_ratio']:.4%} (plain botocore: {plain_detail})",
        ),
        (
            "dns-empty: plain botocore's fresh lookups fail in the window (empty answers seen)",
            all(_empty_lookups(row) > 0 for row in plain.values()),
            ", ".join(
                f"{subject}: {_empty_lookups(row)} empty answers, p99 in fault "
                f"{row['window_p99']:.3f}s, {row['attempts_per_finished_call']:.2f} attempts/call"
                for subject, row in plain.items()
            ) + f"; resilient: {_empty_lookups(resilient)} empty answers, p99 in fault "
            f"{resilient['window_p99']:.3f}s",
        ),
        (
            "dns cache hit < 1/20 of an uncached getaddrinfo of the same name "
            "(the fake cloud's in-process resolver)",
            cost["hit_ratio"] < 1 / 20,
            f"{cost['hit_ratio']:.3f} ({cost['cache_hit_us']:.2f} us vs {cost['getaddrinfo_us']:.2f} us)",
        ),
        (
            "dns cache hit < 1/20 of the C library's getaddrinfo of localhost (/etc/hosts, no network)",
            cost["hit_ratio_vs_libc"] < 1 / 20,
            f"{cost['hit_ratio_vs_libc']:.3f} ({cost['cache_hit_us']:.2f} us vs "
            f"{cost['libc_localhost_us']:.2f} us)",
        ),
    ]


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}s"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


PLAIN = ("legacy", "standard")
HEDGED = {
    "resilient-hedged": "fixed 100 ms hedge delay",
    "resilient-hedged-p95": "Hedge(percentile=95)",
    "resilient-hedged-p90": "rc.Hedge() defaults (p90 delay)",
}


def _region_outage(name: str, rows: Rows) -> list[Check]:
    resilient = rows[(name, "resilient")]
    plain = {subject: rows[(name, subject)] for subject in PLAIN}
    in_window = resilient["window_success_ratio"]
    first, back = resilient["first_success_after_fault"], resilient["primary_back_after"]
    switches = "; ".join(
        f"{s['t']:.2f}s {s['before']}->{s['after']}" for s in resilient["region_switches"] or ()
    ) or "none"
    window = resilient["window"]
    return [
        (
            f"{name}: resilient reads in the fault window succeed >= 99.9%",
            in_window is not None and in_window >= 0.999,
            f"{_percent(in_window)} of {resilient['window_calls']} "
            f"({_percent(resilient['fallback_served'])} of all successes served by {FALLBACK}; "
            f"p99 in fault {resilient['window_p99']:.3f}s)",
        ),
        (
            f"{name}: first success after the fault starts <= 1 s",
            first is not None and first <= 1.0,
            f"{_seconds(first)} (plain botocore: "
            + ", ".join(f"{s} {_seconds(r['first_success_after_fault'])}" for s, r in plain.items())
            + ")",
        ),
        (
            f"{name}: the primary serves reads again within 5 s of its recovery",
            back is not None and back <= 5.0,
            f"{_seconds(back)} after the fault ended at {window[1]:.2f}s; "
            f"region switches: {switches}",
        ),
        (
            f"{name}: plain botocore reads submitted in the window succeed ~0% while it lasts "
            "(the issue: 0%)",
            all((r["window_success_during_fault"] or 0.0) <= 0.01 for r in plain.values()),
            ", ".join(
                f"{s} {_percent(r['window_success_during_fault'])} during the fault "
                f"({_percent(r['window_success_ratio'])} in the end, p99 {r['window_p99']:.1f}s)"
                for s, r in plain.items()
            ),
        ),
    ]


def _hedging(rows: Rows, subject: str) -> list[Check]:
    unhedged, standard = rows[("slow-tail", "resilient")], rows[("slow-tail", "standard")]
    hedged = rows[("slow-tail", subject)]
    ratio = hedged["p99"] / unhedged["p99"]
    extra = hedged["amplification"] - unhedged["amplification"]
    delay = next(
        (h["hedging"]["delay"] for h in hedged["health"] or () if h["hedging"] is not None), None
    )
    label = HEDGED[subject]
    return [
        (
            f"slow-tail, {label}: hedged p99 <= half the unhedged p99",
            ratio <= 0.5,
            f"{ratio:.3f} ({hedged['p99']:.3f}s vs {unhedged['p99']:.3f}s; "
            f"plain standard {standard['p99']:.3f}s; p50 {hedged['p50']:.3f}s vs "
            f"{unhedged['p50']:.3f}s)",
        ),
        (
            f"slow-tail, {label}: extra requests per call <= 0.10",
            extra <= 0.10,
            f"{extra:.3f} ({hedged['server_requests']} vs {unhedged['server_requests']} requests "
            f"for {hedged['calls_started']} calls; by region {hedged['requests_by_region']}; "
            f"hedges fired {hedged['hedges_fired']}, won {hedged['hedges_won']}; "
            f"hedge delay at the end {_seconds(delay)})",
        ),
    ]


#: Hedged subjects held to the targets: the default and a fixed delay.
#: ``resilient-hedged-p95`` runs to show, in the tables, why the default is
#: not p95 (it cannot help a 5% tail); it is not a target.
HEDGE_TARGETS = ("resilient-hedged", "resilient-hedged-p90")


def regions(rows: Rows) -> list[Check]:
    checks = [check for name in GROUPS["region-outage"] for check in _region_outage(name, rows)]
    for subject in HEDGE_TARGETS:
        if ("slow-tail", subject) in rows:
            checks += _hedging(rows, subject)
    return checks


AIO_PLAIN, AIO = "aiobotocore", "resilient-aio"


def _also(rows: Rows, scenario: str, subject: str, show: Callable[[dict[str, Any]], str]) -> str:
    """``subject``'s figure on ``scenario`` for reference, when the run has it."""
    row = rows.get((scenario, subject))
    return "" if row is None else f"; {subject} {show(row)}"


def _aio_region_outage(name: str, rows: Rows) -> list[Check]:
    resilient, plain = rows[(name, AIO)], rows[(name, AIO_PLAIN)]
    in_window, first = resilient["window_success_ratio"], resilient["first_success_after_fault"]
    return [
        (
            f"{name}: resilient-aio reads in the fault window succeed >= 99.9%",
            in_window is not None and in_window >= 0.999,
            f"{_percent(in_window)} of {resilient['window_calls']} "
            f"({_percent(resilient['fallback_served'])} of all successes served by {FALLBACK}; "
            f"p99 in fault {resilient['window_p99']:.3f}s; plain aiobotocore "
            f"{_percent(plain['window_success_ratio'])}, "
            f"{_percent(plain['window_success_during_fault'])} during the fault"
            + _also(rows, name, "resilient", lambda r: _percent(r["window_success_ratio"])) + ")",
        ),
        (
            f"{name}: resilient-aio first success after the fault starts <= 1 s",
            first is not None and first <= 1.0,
            f"{_seconds(first)} (plain aiobotocore {_seconds(plain['first_success_after_fault'])}"
            + _also(rows, name, "resilient", lambda r: _seconds(r["first_success_after_fault"]))
            + ")",
        ),
    ]


def aio(rows: Rows) -> list[Check]:
    outage, outage_plain = rows[("outage", AIO)], rows[("outage", AIO_PLAIN)]
    dns_aio, dns_plain = rows[("dns-empty", AIO)], rows[("dns-empty", AIO_PLAIN)]
    overhead = rows[("overhead-aio", None)]
    storm = rows[("cancel-storm", AIO)]
    left = storm["after"]
    in_time = dns_aio["window_success_in_time"]
    checks = [
        (
            "outage: resilient-aio requests per call <= 1.1",
            outage["amplification"] <= 1.1,
            f"{outage['amplification']:.3f} (plain aiobotocore {_bound(outage_plain)}"
            f"{outage_plain['amplification']:.2f}"
            + _also(rows, "outage", "resilient", lambda r: f"{r['amplification']:.3f}") + ")",
        ),
        (
            "outage: resilient-aio median failing call <= 50 ms",
            outage["p50"] is not None and outage["p50"] <= 0.05,
            f"{(outage['p50'] or float('nan')) * 1000:.2f} ms (plain aiobotocore "
            f"{(outage_plain['p50'] or float('nan')):.1f} s"
            + _also(rows, "outage", "resilient", lambda r: f"{r['p50'] * 1000:.2f} ms") + ")",
        ),
        (
            "dns-empty: resilient-aio calls in the fault window succeed within 1 s >= 99.9%",
            in_time is not None and in_time >= 0.999,
            f"{_percent(in_time)} of {dns_aio['window_calls']} (p99 in fault "
            f"{dns_aio['window_p99']:.3f}s, {_empty_lookups(dns_aio)} empty answers); plain "
            f"aiobotocore {_percent(dns_plain['window_success_in_time'])} within 1 s, "
            f"{_percent(dns_plain['window_success_ratio'])} in the end (p99 in fault "
            f"{dns_plain['window_p99']:.3f}s, {_empty_lookups(dns_plain)} empty answers: aiohttp's "
            "own 10 s cache)"
            + _also(rows, "dns-empty", "resilient", lambda r: _percent(r["window_success_in_time"])),
        ),
    ]
    for name in GROUPS["region-outage"]:
        checks += _aio_region_outage(name, rows)
    checks += [
        (
            "overhead: resilient-aio / plain aiobotocore <= 1.10",
            overhead["ratio"] <= 1.10,
            f"{overhead['ratio']:.3f} (median of rounds; {overhead['ratio_min']:.3f}-"
            f"{overhead['ratio_max']:.3f}; {overhead['plain_us_per_call']:.0f} vs "
            f"{overhead['resilient_us_per_call']:.0f} us per call)",
        ),
        (
            "cancel-storm: every call is cancelled mid-flight",
            storm["cancelled"] == storm["calls_planned"] and storm["ended_by_themselves"] == 0,
            f"{storm['cancelled']} of {storm['calls_planned']} cancelled, "
            f"{storm['ended_by_themselves']} ended by themselves, "
            f"{storm['unfinished']} still running {storm.get('grace', 2.0):g} s after their cancellation; "
            f"{storm['requests_sent']} requests and {storm['hedges_fired']} hedges sent, bulkhead "
            f"peak {storm['peak_bulkhead_in_use']} in use and {storm['peak_bulkhead_waiting']} queued",
        ),
        (
            "cancel-storm: 0 bulkhead slots held afterwards",
            left["bulkhead_in_use"] == 0 and left["bulkhead_waiting"] == 0,
            f"{left['bulkhead_in_use']} in use, {left['bulkhead_waiting']} queued",
        ),
        (
            "cancel-storm: 0 tasks left afterwards",
            left["tasks"] == 0,
            f"{left['tasks']}" + (f" (awaiting: {'; '.join(left['where'])})" if left["tasks"] else ""),
        ),
        (
            "cancel-storm: 0 open hedges afterwards",
            left["hedges_open"] == 0,
            f"{left['hedges_open']} (connections still held for requests: "
            f"{left['connections_acquired']})",
        ),
    ]
    return checks


def pressure(rows: Rows) -> list[Check]:
    """Issue 15: recover as soon as the service does, absorb throttling."""
    recovery, blackhole = rows[("outage-recovery", "resilient")], rows[("blackhole", "resilient")]
    outage, outage_legacy = rows[("outage", "resilient")], rows[("outage", "legacy")]
    capacity = rows[("throttle-capacity", "resilient")]
    capacity_adaptive = rows.get(("throttle-capacity", "adaptive"))
    throttle, throttle_legacy = rows[("throttle", "resilient")], rows[("throttle", "legacy")]
    admitted = 40.0  # throttle-capacity's R (resilient_cloud/bench/scenarios.py)
    deadline = 2.0
    plain = {s: rows[("outage-recovery", s)] for s in ("legacy", "standard") if ("outage-recovery", s) in rows}
    return [
        (
            "outage-recovery: >= 99% of the calls submitted from 1 s after the recovery succeed",
            (recovery["success_1s_after"] or 0.0) >= 0.99,
            f"{_percent(recovery['success_1s_after'])} (recovered in "
            f"{_seconds(recovery['time_to_recover'])}; "
            + ", ".join(f"{s} {_percent(r['success_1s_after'])}" for s, r in plain.items()) + ")",
        ),
        (
            "blackhole: >= 99% of the calls submitted from 2 s after the recovery succeed",
            (blackhole["success_2s_after"] or 0.0) >= 0.99,
            f"{_percent(blackhole['success_2s_after'])} (recovered in "
            f"{_seconds(blackhole['time_to_recover'])})",
        ),
        (
            "outage: resilient requests per call <= 1.1",
            outage["amplification"] <= 1.1,
            f"{outage['amplification']:.3f} (legacy {_bound(outage_legacy)}"
            f"{outage_legacy['amplification']:.2f})",
        ),
        (
            "throttle-capacity: goodput during the overload >= 0.95 R",
            capacity["window_goodput"] >= 0.95 * admitted,
            f"{capacity['window_goodput']:.1f} successes/s for R = {admitted:g}/s",
        ),
        (
            "throttle-capacity: throttled requests <= 10% of all requests",
            capacity["throttled_share"] <= 0.10,
            f"{_percent(capacity['throttled_share'])} of {capacity['server_requests']}"
            + _also(rows, "throttle-capacity", "legacy", lambda r: _percent(r["throttled_share"]))
            + _also(rows, "throttle-capacity", "standard", lambda r: _percent(r["throttled_share"])),
        ),
        (
            f"throttle-capacity: no caller waits past its deadline ({deadline:g} s)",
            capacity["max_latency"] is not None and capacity["max_latency"] <= deadline + 0.05,
            f"longest call {capacity['max_latency']:.3f}s"
            + ("" if capacity_adaptive is None else
               f"; plain adaptive: longest {capacity_adaptive['max_latency']:.1f}s"),
        ),
        (
            "throttle-capacity: >= 99.9% success for calls submitted from 1 s after the load drops",
            (capacity["success_1s_after"] or 0.0) >= 0.999,
            f"{_percent(capacity['success_1s_after'])}",
        ),
        (
            "throttle: success >= 99%",
            throttle["success_ratio"] >= 0.99,
            f"{throttle['success_ratio']:.2%} (legacy {throttle_legacy['success_ratio']:.2%})",
        ),
        (
            "throttle: requests per call <= 1.05x legacy's",
            throttle["amplification"] <= 1.05 * throttle_legacy["amplification"],
            f"{throttle['amplification']:.3f} vs {throttle_legacy['amplification']:.3f} "
            f"({throttle['amplification'] / throttle_legacy['amplification']:.3f}x)",
        ),
    ]


TARGETS: dict[str, tuple[Plan, Callable[[Rows], list[Check]]]] = {
    "foundation": (
        [
            (["outage", "transient", "overhead"], ["legacy", "standard", "resilient"]),
            (["outage"], ["resilient-budget"]),
        ],
        foundation,
    ),
    "breakers": (
        [(["outage", "transient", "outage-recovery", "bulkhead"], ["legacy", "resilient"])],
        breakers,
    ),
    "dns": ([(["dns-empty"], ["legacy", "standard", "resilient"])], dns),
    "regions": (
        [
            (list(GROUPS["region-outage"]), ["legacy", "standard", "resilient"]),
            (["slow-tail"], ["standard", "resilient", *HEDGED]),
        ],
        regions,
    ),
    "pressure": (
        [
            (["outage-recovery", "blackhole", "throttle"], ["legacy", "standard", "resilient"]),
            (["throttle-capacity"], ["legacy", "standard", "adaptive", "resilient"]),
            (["outage"], ["legacy", "resilient"]),
        ],
        pressure,
    ),
    # The sync resilient subject runs alongside for reference (not checked).
    "aio": (
        [
            (["outage", "dns-empty", *GROUPS["region-outage"]], [AIO_PLAIN, AIO, "resilient"]),
            (["overhead-aio", "cancel-storm"], [AIO]),
        ],
        aio,
    ),
}


def _git(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=False
    )


def staleness(run: dict[str, Any], root: Path | None = None) -> str | None:
    """Why a recorded run does not describe the library at ``root``'s HEAD
    (default: this checkout), or None when it does (the rule: see the
    module's docstring)."""
    root = REPO if root is None else root
    stamp = run.get("environment", {}).get("commit")
    if not stamp:
        return "it carries no commit stamp (recorded before stamps existed, or outside a git checkout)"
    sha = stamp["sha"]
    if stamp.get("library_dirty"):
        return f"it was recorded with uncommitted changes under {runner.LIBRARY}/ (on {sha[:12]})"
    head = _git("rev-parse", "HEAD", root=root)
    if head.returncode != 0:
        return f"{root} is not a git checkout: HEAD unknown"
    head_sha = head.stdout.strip()
    if sha == head_sha:
        return None
    if _git("cat-file", "-e", f"{sha}^{{commit}}", root=root).returncode != 0:
        return f"its commit {sha[:12]} is not in this repository"
    changed = _git("diff", "--name-only", sha, head_sha, "--", *runner.MEASURED, root=root)
    if changed.returncode != 0:
        return f"git diff {sha[:12]} HEAD failed: {changed.stderr.strip()}"
    files = changed.stdout.split()
    if files:
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        return (
            f"{runner.LIBRARY}/ changed between its commit {sha[:12]} and HEAD "
            f"{head_sha[:12]}: {shown}"
        )
    return None


def verdicts(checks: Callable[[Rows], list[Check]], run: dict[str, Any]) -> list[Check]:
    """The target's checks over a run's rows; a row the run lacks is a miss."""
    rows = {(r["scenario"], r.get("subject")): r for r in run["results"]}
    try:
        return checks(rows)
    except KeyError as missing:
        return [(f"the run has a row for {missing.args[0]}", False, "not measured: run the target")]


def _run(plan: Plan, seed: int, quick: bool, console: Console) -> dict[str, Any]:
    """Every (scenarios, subjects) run of ``plan``, merged into one record."""
    merged: dict[str, Any] | None = None
    for scenarios, subjects in plan:
        run = runner.run(
            scenarios, subjects, seed=seed, quick=quick,
            progress=lambda message: console.print(f"... {message}"),
        )
        if merged is None:
            merged = run
        else:
            merged["scenarios"].update(run["scenarios"])
            merged["results"] += run["results"]
    assert merged is not None
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=list(TARGETS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, help="default: benchmarks/TARGET.json")
    parser.add_argument("--from", dest="recorded", type=Path, help="check this recorded run")
    parser.add_argument(
        "--allow-stale", action="store_true",
        help="with --from: check a recording that does not describe HEAD's library anyway",
    )
    args = parser.parse_args(argv)
    plan, checks = TARGETS[args.target]
    console = Console(width=140)
    if args.recorded:
        run = json.loads(args.recorded.read_text())
        stale = staleness(run)
        console.print(
            f"{args.recorded}: {report.commit_line(run.get('environment', {}).get('commit'))}"
        )
        if stale is not None:
            if not args.allow_stale:
                console.print(f"STALE  refusing {args.recorded}: {stale} (--allow-stale to check it anyway)")
                return 2
            console.print(f"STALE  {args.recorded}: {stale}; checked anyway (--allow-stale)")
    else:
        run = _run(plan, args.seed, args.quick, console)
        report.write_json(run, args.json or HERE / f"{args.target}.json")
        report.render(run, console, detail=True)
    failed = 0
    for name, ok, detail in verdicts(checks, run):
        failed += not ok
        console.print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
