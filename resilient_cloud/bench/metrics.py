"""Turning call records into the figures a person compares."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from resilient_cloud.bench.load import CallRecord
from resilient_cloud.bench.stats import percentile

#: Seconds per timeline point: at most BUCKET, and small enough for about
#: POINTS points (a quick run lasts a few seconds), but not under MIN_BUCKET
#: nor so small that a bucket holds fewer than CALLS_PER_BUCKET calls on
#: average (below that a rate is mostly rounding: 1, 2 or 3 calls).
BUCKET = 0.5
POINTS = 60
MIN_BUCKET = 0.05
CALLS_PER_BUCKET = 4
#: A call that succeeded within this many seconds of its submission counts
#: as served in time ("window_success_in_time": >= 99.9% within 1 s).
IN_TIME = 1.0


def summarize(
    records: Sequence[CallRecord],
    submitted: int,
    planned: int,
    window: tuple[float, float] | None,
    *,
    primary: str | None = None,
    hedged: bool = False,
) -> dict[str, Any]:
    """The figures of one subject's run.

    ``window``: when the fault was on (as applied). ``primary``: the
    client's own region, for scenarios with fallback regions (which region
    served each call is then summarised). ``hedged``: count hedges.
    """
    main = [r for r in records if r.kind == "main"]
    latencies = [r.end - r.submitted for r in main]
    summary: dict[str, Any] = {
        "calls_planned": planned,
        "calls_started": submitted,
        "calls_finished": len(records),
        "unfinished": submitted - len(records),
        "not_started": planned - submitted,
        "successes": sum(r.ok for r in records),
        "success_ratio": (sum(r.ok for r in main) / len(main)) if main else None,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max_latency": max(latencies, default=None),
        "attempts_per_finished_call": (
            sum(r.attempts for r in records) / len(records) if records else None
        ),
    }
    if any(r.kind == "slow" for r in records):
        slow = [r.end - r.submitted for r in records if r.kind == "slow"]
        summary["slow_p99"] = percentile(slow, 99)
    served: dict[str, int] = {}
    for record in main:
        if record.ok and record.region is not None:
            served[record.region] = served.get(record.region, 0) + 1
    summary["served_by"] = dict(sorted(served.items()))
    if primary is not None:
        successes = sum(served.values())
        summary["fallback_served"] = (
            (successes - served.get(primary, 0)) / successes if successes else None
        )
    if hedged:
        summary["hedges_fired"] = sum(r.hedges for r in main)
        summary["hedges_won"] = sum(r.hedge_won for r in main)
    if window is not None:
        summary.update(_window_figures(main, window))
        if primary is not None:
            summary.update(_region_figures(main, window, primary))
    return summary


def _window_figures(main: Sequence[CallRecord], window: tuple[float, float]) -> dict[str, Any]:
    start, end = window
    inside = [r for r in main if start <= r.submitted < end]
    # Time to recover: from the fault's end until the first call after which
    # every call submitted succeeded.
    after = sorted((r for r in main if r.submitted >= end), key=lambda r: r.submitted)
    recovered_at = None
    for index, record in enumerate(after):
        if all(r.ok for r in after[index:]):
            recovered_at = record.submitted
            break
    # Calls submitted once the fault was on: a call submitted before it
    # may have been answered before the fault took effect.
    first_success_in_window = min((r.end for r in inside if r.ok), default=None)
    outside = [r for r in main if not start <= r.submitted < end]

    def success_from(delay: float) -> float | None:
        """Success of the calls submitted from ``delay`` after the fault ended."""
        later = [r for r in main if r.submitted >= end + delay]
        return sum(r.ok for r in later) / len(later) if later else None

    return {
        "window": [start, end],
        "window_calls": len(inside),
        "window_p99": percentile([r.end - r.submitted for r in inside], 99),
        "outside_p99": percentile([r.end - r.submitted for r in outside], 99),
        "window_success_ratio": (sum(r.ok for r in inside) / len(inside)) if inside else None,
        # Successes per second while the fault lasted, whenever submitted.
        "window_goodput": sum(r.ok and start <= r.end < end for r in main) / (end - start),
        "window_success_in_time": (
            sum(r.ok and r.end - r.submitted <= IN_TIME for r in inside) / len(inside)
            if inside else None
        ),
        "first_success_after_fault": (
            None if first_success_in_window is None else first_success_in_window - start
        ),
        "time_to_recover": None if recovered_at is None else max(0.0, recovered_at - end),
        "success_1s_after": success_from(1.0),
        "success_2s_after": success_from(2.0),
    }


def _region_figures(
    main: Sequence[CallRecord], window: tuple[float, float], primary: str
) -> dict[str, Any]:
    """Failover figures: reads served while the fault lasted, and how soon
    after it the primary region served reads again."""
    start, end = window
    inside = [r for r in main if start <= r.submitted < end]
    # Successes that came while the fault lasted (a call that waits the
    # fault out succeeds, but not while the primary is down).
    during = sum(r.ok and r.end <= end for r in inside)
    # From the fault's end until the first successful call, submitted after
    # it, that the primary served and after which every successful call
    # was served by the primary.
    after = sorted((r for r in main if r.submitted >= end and r.ok), key=lambda r: r.submitted)
    back_at = None
    for record in reversed(after):
        if record.region != primary:
            break
        back_at = record.submitted
    return {
        "window_success_during_fault": during / len(inside) if inside else None,
        "primary_back_after": None if back_at is None else back_at - end,
    }


def timeline(
    records: Sequence[CallRecord],
    request_samples: Sequence[tuple[float, int]],
    elapsed: float,
) -> dict[str, list[float]]:
    """Per-bucket offered load, goodput (successes finished) and requests the
    server saw, each per second."""
    bucket = bucket_for(elapsed, sum(record.kind == "main" for record in records))
    buckets = max(1, math.ceil(elapsed / bucket))
    offered = [0.0] * buckets
    goodput = [0.0] * buckets
    for record in records:
        if record.kind != "main":
            continue
        offered[min(buckets - 1, int(record.submitted / bucket))] += 1 / bucket
        if record.ok:
            goodput[min(buckets - 1, int(record.end / bucket))] += 1 / bucket
    requests = [0.0] * buckets
    previous_t, previous_n = 0.0, 0
    for t, n in request_samples:
        # The requests counted at t arrived since the previous sample: spread
        # over the buckets that span (samples may be further apart than buckets).
        _spread(requests, bucket, previous_t, t, n - previous_n)
        previous_t, previous_n = t, n
    return {
        "t": [round(i * bucket, 3) for i in range(buckets)],
        "offered": offered,
        "goodput": goodput,
        "requests": requests,
    }


def bucket_for(elapsed: float, calls: int = 0) -> float:
    """The timeline's bucket for a run of ``elapsed`` seconds and ``calls`` calls."""
    enough_calls = CALLS_PER_BUCKET * elapsed / calls if calls else 0.0
    return min(BUCKET, max(MIN_BUCKET, elapsed / POINTS, enough_calls))


def _spread(series: list[float], bucket: float, start: float, end: float, count: float) -> None:
    """Add ``count`` events that came evenly between ``start`` and ``end`` to
    ``series`` (per second, buckets of ``bucket`` seconds)."""
    last = len(series) - 1
    if end <= start:
        series[min(last, max(0, int(end / bucket)))] += count / bucket
        return
    first_index = int(start / bucket)
    for index in range(first_index, int(end / bucket) + 1):
        overlap = min(end, (index + 1) * bucket) - max(start, index * bucket)
        if overlap > 0:
            series[min(last, index)] += count * overlap / (end - start) / bucket
