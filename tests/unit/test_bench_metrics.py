"""The benchmark's arithmetic: recovery, windows, timelines, load shapes."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import pytest

from resilient_cloud import hooks
from resilient_cloud.bench.load import CallRecord, Tracer, _kinds, served_region
from resilient_cloud.bench.metrics import summarize, timeline
from resilient_cloud.bench.runner import subjects_for
from resilient_cloud.bench.scenarios import SCENARIOS, Load, Step, expand
from resilient_cloud.bench.subjects import DEFAULT_SUBJECTS, HEDGED_SUBJECTS, policy_fields
from resilient_cloud.bench.timeline import SAMPLE_EVERY, Timeline, apply
from resilient_cloud.fakecloud import REGION_HEADER, Faults


def record(
    submitted: float, ok: bool, duration: float = 0.1, kind: str = "main",
    region: str | None = None, hedges: int = 0, hedge_won: bool = False,
) -> CallRecord:
    return CallRecord(kind, submitted, submitted + duration, ok, 1, region, hedges, hedge_won)


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
    series = timeline(records, [(0.25, 4), (0.75, 10)], elapsed=30.0)  # half-second buckets
    assert series["t"][:3] == [0.0, 0.5, 1.0] and len(series["t"]) == 60
    assert series["offered"][:3] == [4.0, 2.0, 0.0]
    assert series["goodput"][:3] == [2.0, 2.0, 0.0]
    # 4 requests in (0, 0.25], 6 in (0.25, 0.75]: half of those in each bucket.
    assert series["requests"][:3] == [14.0, 6.0, 0.0]


def test_a_quick_run_has_enough_points_to_show_a_fault() -> None:
    # 3 seconds: 60 buckets of 50 ms; 100 requests a second sampled every 0.25 s
    # are spread evenly, not piled into one bucket in five.
    samples = [(0.25 * (i + 1), 25 * (i + 1)) for i in range(12)]
    series = timeline([], samples, elapsed=3.0)
    assert len(series["t"]) == 60 and series["t"][1] == 0.05
    assert series["requests"] == pytest.approx([100.0] * 60)
    assert len(timeline([], [], elapsed=600.0)["t"]) == 1200  # long runs keep 0.5 s buckets
    # 80 calls in 2 s: buckets of 0.1 s hold 4 calls on average, not 2.
    calls = [record(i / 40, True) for i in range(80)]
    assert timeline(calls, [], elapsed=2.0)["t"][1] == 0.1


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


def test_first_success_counts_only_calls_submitted_once_the_fault_was_on() -> None:
    # Submitted just before the fault took effect and answered after it
    # started: not a success "after the fault starts".
    records = [record(1.95, True, duration=0.1), record(2.0, False), record(2.4, True, duration=0.05)]
    summary = summarize(records, 3, 3, window=(2.0, 4.0))
    assert abs(summary["first_success_after_fault"] - 0.45) < 1e-9
    assert summarize([record(2.1, False)], 1, 1, window=(2.0, 4.0))["first_success_after_fault"] is None


def test_regions_served_and_the_primary_coming_back() -> None:
    east, west = "us-east-1", "us-west-2"
    records = [
        record(1.0, True, region=east),
        record(2.5, True, region=west),
        record(3.0, False),
        record(5.2, True, region=west),   # after the fault: still on the fallback
        record(5.6, True, region=east),   # a probe: primary answers
        record(5.8, True, region=west),   # ... but the switch back came later
        record(6.0, True, region=east),
        record(6.1, False),               # failures do not say where reads are served
        record(6.5, True, region=east),
    ]
    summary = summarize(records, 9, 9, window=(2.0, 5.0), primary=east)
    assert summary["served_by"] == {east: 4, west: 3}
    assert abs(summary["fallback_served"] - 3 / 7) < 1e-9
    assert abs(summary["primary_back_after"] - 1.0) < 1e-9
    # Without a primary (one region) none of the failover figures appear.
    single = summarize(records, 9, 9, window=(2.0, 5.0))
    assert "fallback_served" not in single and "primary_back_after" not in single


def test_primary_never_back_is_none() -> None:
    records = [record(5.5, True, region="us-east-1"), record(6.0, True, region="us-west-2")]
    summary = summarize(records, 2, 2, window=(2.0, 5.0), primary="us-east-1")
    assert summary["primary_back_after"] is None


def test_success_during_the_fault_excludes_calls_that_waited_it_out() -> None:
    records = [
        record(2.0, True, duration=0.1),
        record(2.5, True, duration=3.0),  # succeeds at 5.5, after the fault ended at 5.0
        record(3.0, False),
        record(4.0, True, duration=0.2),
    ]
    summary = summarize(records, 4, 4, window=(2.0, 5.0), primary="us-east-1")
    assert summary["window_success_ratio"] == 0.75
    assert summary["window_success_during_fault"] == 0.5


def test_hedges_are_counted_only_for_hedged_subjects() -> None:
    records = [record(0, True, hedges=1, hedge_won=True), record(1, True, hedges=1), record(2, True)]
    summary = summarize(records, 3, 3, window=None, hedged=True)
    assert (summary["hedges_fired"], summary["hedges_won"]) == (2, 1)
    assert "hedges_fired" not in summarize(records, 3, 3, window=None)


def _event(kind: type, **fields: Any) -> Any:
    return kind(service="dynamodb", operation="GetItem", region="us-east-1", **fields)


def test_tracer_counts_per_call_across_the_threads_of_a_hedged_call() -> None:
    tracer = Tracer()
    tracer.before_send()  # outside any call: ignored
    trace, token = tracer.begin()
    tracer.before_send()
    # A hedge's request runs in another thread in a copy of the caller's context.
    leg = threading.Thread(target=contextvars.copy_context().run, args=(tracer.before_send,))
    leg.start()
    leg.join()
    tracer.hook(_event(hooks.HedgeFired, to_region="us-west-2", delay=0.1))
    tracer.hook(_event(hooks.HedgeEnded, hedge_won=True))
    tracer.end(token)
    tracer.before_send()  # after the call: not counted for it
    assert (trace.sent, trace.hedges, trace.hedge_won) == (2, 1, True)
    other, token = tracer.begin()
    tracer.hook(_event(hooks.HedgeEnded, hedge_won=False))
    tracer.end(token)
    assert (other.sent, other.hedges, other.hedge_won) == (0, 0, False)


def test_served_region_reads_the_fake_clouds_header() -> None:
    answer = {"Item": {}, "ResponseMetadata": {"HTTPHeaders": {REGION_HEADER: "us-west-2"}}}
    assert served_region(answer) == "us-west-2"
    assert served_region({"ResponseMetadata": {"HTTPHeaders": {}}}) is None
    assert served_region(b"body") is None


class _Cloud:
    def __init__(self) -> None:
        self.faults: list[tuple[str, Faults, str | None]] = []

    def set_faults(self, region: str, faults: Faults, service: str | None = None) -> None:
        self.faults.append((region, faults, service))

    def stats(self, region: str) -> dict[str, int]:
        return {"requests": 0}


def test_steps_draw_faults_from_the_runs_seed_unless_they_set_their_own() -> None:
    cloud = _Cloud()
    apply(cloud, Step(0.0, "faults", {"latency": 1.0, "latency_rate": 0.05}), seed=7)
    apply(cloud, Step(0.0, "faults", {"error_rate": 0.5, "seed": 3}), seed=7)
    assert [faults.seed for _, faults, _ in cloud.faults] == [7, 3]
    assert cloud.faults[0][1].latency_rate == 0.05


def test_timeline_applies_steps_on_time_and_reports_when() -> None:
    import time

    cloud = _Cloud()
    steps = (Step(0.05, "faults", {"error_rate": 1.0}), Step(0.1, "faults", {"error_rate": 0.5}))
    timeline = Timeline(cloud, steps, ("us-east-1",), time.monotonic(), seed=1)
    timeline.start()
    time.sleep(0.3)
    timeline.stop()
    assert [due for due, _ in timeline.applied] == [0.05, 0.1]
    # Woken for each step, not only at the next sample (0.25 s after the
    # first): a bound that tells the two apart with room for a loaded machine.
    assert all(0 <= done - due < SAMPLE_EVERY for due, done in timeline.applied)
    start, end = timeline.fault_window((0.05, 0.1))
    assert (start, end) == tuple(done for _, done in timeline.applied)
    assert timeline.fault_window((1.0, 2.0)) == (1.0, 2.0)  # never applied: as planned
    assert timeline.fault_window(None) is None


def test_policy_fields_switch_off_with_none_and_reject_unknown_names() -> None:
    fields = policy_fields({"dns": None, "bulkhead": {"max_concurrent": 4}, "hedge": {"delay": 0.1}})
    assert fields["dns"] is None and fields["bulkhead"].max_concurrent == 4
    assert fields["hedge"].delay == 0.1
    with pytest.raises(ValueError, match="unknown policy field"):
        policy_fields({"nope": {}})


def test_region_outage_scenarios_fail_over_to_a_second_region() -> None:
    for name in expand(["region-outage"]):
        scenario = SCENARIOS[name]
        assert scenario.regions == ("us-east-1", "us-west-2") and scenario.window is not None
    # With its DNS cache on, the client would ride the empty record out on
    # the primary: the DNS variant measures failover with the cache off.
    assert SCENARIOS["region-outage-dns"].resilient_policy == {"dns": None}
    assert "dns=None" in SCENARIOS["region-outage-dns"].description


def test_slow_tail_runs_its_own_subjects_by_default() -> None:
    slow_tail = SCENARIOS["slow-tail"]
    assert slow_tail.steps[0].settings == {"latency": 1.0, "latency_rate": 0.05}
    assert subjects_for(slow_tail, None) == list(slow_tail.subjects or ())
    assert "resilient-hedged" in subjects_for(slow_tail, None)
    assert subjects_for(SCENARIOS["outage"], None) == list(DEFAULT_SUBJECTS)
    assert not HEDGED_SUBJECTS & set(DEFAULT_SUBJECTS)
    assert subjects_for(slow_tail, ["legacy"]) == ["legacy"]
