"""The figures of a fleet run: amplification, goodput, recovery, collapse."""

from __future__ import annotations

from typing import Any

from resilient_cloud.sim.engine import FleetRun

#: A bucket counts as recovered when this share of the calls submitted in
#: it succeed; the fleet has recovered from the first bucket after the
#: trigger from which every later bucket (until arrivals stop) has.
RECOVERED = 0.95


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def figures(run: FleetRun) -> dict[str, Any]:
    scenario, timeline = run.scenario, run.timeline
    bucket = timeline.bucket
    start, end = scenario.window
    buckets = len(timeline.offered)
    first, stop = min(int(start / bucket), buckets), min(int(end / bucket), buckets)
    last = min(buckets, int(round(scenario.duration / bucket)))
    during = range(first, stop)
    after = range(stop, last)

    def total(series: list[Any], span: range) -> float:
        return float(sum(series[i] for i in span))

    offered, succeeded = timeline.offered, timeline.succeeded_by_submit
    recovered_from = None
    for index in reversed(after):
        if offered[index] and succeeded[index] / offered[index] < RECOVERED:
            break
        recovered_from = index
    overshoot = [
        timeline.requests[i] / timeline.capacity[i] for i in after if timeline.capacity[i] > 0
    ]
    work = sum(timeline.useful) + sum(timeline.wasted)
    return {
        "policy": run.policy,
        "clients": scenario.clients,
        "calls": run.calls,
        "unfinished": run.calls - run.finished,
        "attempts": run.attempts,
        "requests": run.requests,
        "amplification": _ratio(run.attempts, run.calls),
        "amplification_during": _ratio(total(timeline.attempts, during), total(offered, during)),
        "success": _ratio(sum(succeeded), run.calls),
        "goodput_during": _ratio(total(succeeded, during), total(offered, during)),
        "goodput_after": _ratio(total(succeeded, after), total(offered, after)),
        "refused": _ratio(sum(timeline.refused_by_submit), run.calls),
        "time_to_recover": None if recovered_from is None else recovered_from * bucket - end,
        "peak_load_after": max(overshoot, default=None),
        "wasted_share": _ratio(sum(timeline.wasted), work),
        "max_held": run.max_held,
        "longest_call": run.longest,
        "throttled_share": _ratio(run.throttled, run.requests),
        "cpu_seconds": run.cpu,
        "attempts_per_cpu_minute": run.attempts / run.cpu * 60.0 if run.cpu else None,
    }


def timeline_per_second(run: FleetRun) -> dict[str, list[float | None]]:
    """The run's timeline as rates per second, for plots and JSON."""
    timeline = run.timeline
    per = 1.0 / timeline.bucket
    return {
        "t": [round(i * timeline.bucket, 3) for i in range(len(timeline.offered))],
        "offered": [n * per for n in timeline.offered],
        "attempts": [n * per for n in timeline.attempts],
        "goodput": [n * per for n in timeline.goodput],
        "wasted": [n * per for n in timeline.wasted],
        "capacity": [n * per for n in timeline.capacity],
        "queue": list(timeline.queue),
        "success": [
            (s / o if o else None) for s, o in zip(timeline.succeeded_by_submit, timeline.offered)
        ],
    }
