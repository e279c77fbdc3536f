"""The benchmark's arithmetic: recovery, windows, timelines, load shapes."""

from __future__ import annotations

from resilient_cloud.bench.load import CallRecord, _kinds
from resilient_cloud.bench.metrics import summarize, timeline
from resilient_cloud.bench.scenarios import SCENARIOS, Load, expand


def record(submitted: float, ok: bool, duration: float = 0.1, kind: str = "main") -> CallRecord:
    return CallRecord(kind, submitted, submitted + duration, ok, 1)


def test_time_to_recover_is_from_fault_end_to_the_last_failure_streak() -> None:
    records = [record(t / 10, ok=not (2.0 <= t / 10 < 5.5)) for t in range(80)]
    summary = summarize(records, 80, 80, window=(2.0, 5.0))
    assert summary["time_to_recover"] == 0.5  # failures ran on until 5.4
    assert summary["window_success_ratio"] == 0.0
    assert summary["window_calls"] == 30


def test_no_recovery_is_reported_as_none() -> None:
    records = [record(t / 10, ok=t < 20) for t in range(50)]
    assert summarize(records, 50, 50, window=(2.0, 3.0))["time_to_recover"] is None


def test_first_success_after_the_fault_starts() -> None:
    records = [record(1.0, True), record(2.1, False), record(2.3, True, duration=0.2)]
    summary = summarize(records, 3, 3, window=(2.0, 4.0))
    assert abs(summary["first_success_after_fault"] - 0.5) < 1e-9


def test_slow_calls_are_reported_apart() -> None:
    records = [record(0, True, 0.01), record(0, True, 1.0, kind="slow")]
    summary = summarize(records, 2, 2, window=None)
    assert summary["p99"] == 0.01 and summary["slow_p99"] == 1.0


def test_timeline_buckets_per_second_rates() -> None:
    records = [record(0.1, True), record(0.2, False), record(0.6, True)]
    series = timeline(records, [(0.25, 4), (0.75, 10)], elapsed=1.0)
    assert series["t"] == [0.0, 0.5]
    assert series["offered"] == [4.0, 2.0]
    assert series["goodput"] == [2.0, 2.0]
    assert series["requests"] == [8.0, 12.0]


def test_slow_share_spreads_slow_calls_evenly() -> None:
    kinds = _kinds(Load(slow_share=0.2))
    assert [kinds(i) for i in range(10)].count("slow") == 2
    assert _kinds(Load())(3) == "main"


def test_quick_sizes_and_groups() -> None:
    overload = SCENARIOS["overload"].sized(quick=True)
    assert overload.window == (0.5, 1.8)
    assert [s.at for s in overload.steps] == [0.0, 0.5, 1.8]
    assert SCENARIOS["outage"].sized(quick=False, calls=10, cap=2.0).load.calls == 10
    assert expand(["outage", "region-outage"]) == [
        "outage", "region-outage-500", "region-outage-dns", "region-outage-down",
    ]
