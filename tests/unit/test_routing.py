"""The region router's state machine, driven with explicit times."""

from __future__ import annotations

import pytest

from resilient_cloud import Failover
from resilient_cloud._routing import PRIMARY, RegionRouter, Start, Switch

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
EAST, WEST, EU = 0, 1, 2
OPTIONS = Failover(switch_after=3, stick_for=5.0, max_stick_for=40.0, probe_interval=1.0)
FAILURE = "server-error (InternalServerError)"


#: The regions whose breakers are open, as the router is told them.
closed: frozenset[int] = frozenset()


def open_breakers(*indices: int) -> frozenset[int]:
    return frozenset(indices)


def make_router(options: Failover = OPTIONS, now: float = 100.0) -> RegionRouter:
    return RegionRouter(REGIONS, options, now=now)


def fail(
    router: RegionRouter, now: float, index: int, times: int = 1,
    is_open: frozenset[int] = closed,
) -> list[Switch | None]:
    """``times`` sick failures of calls that started in ``index``."""
    start = Start(index)
    return [router.record(now, start, index, True, FAILURE, is_open) for _ in range(times)]


def succeed(router: RegionRouter, now: float, index: int) -> Switch | None:
    return router.record(now, Start(index), index, False, None, closed)


def switch_away(router: RegionRouter, now: float) -> Switch:
    """Three sick failures of the region in use: the sticky switch."""
    current = REGIONS.index(router.region)
    *quiet, switch = fail(router, now, current, times=OPTIONS.switch_after)
    assert quiet == [None] * (OPTIONS.switch_after - 1)
    assert switch is not None
    return switch


def probe(router: RegionRouter, now: float) -> Start:
    start, switch = router.start(now, closed)
    assert start == Start(PRIMARY, probe=True) and switch is None
    return start


# -- the sticky switch --------------------------------------------------------


def test_starts_on_the_primary() -> None:
    router = make_router()
    assert router.start(100.0, closed) == (Start(PRIMARY), None)
    snapshot = router.snapshot(103.0)
    assert snapshot.regions == REGIONS
    assert snapshot.region == "us-east-1"
    assert snapshot.reason == "the client's own region"
    assert snapshot.since == 3.0
    assert snapshot.switches == 0
    assert snapshot.probe_after is None


def test_switches_after_switch_after_sick_failures_in_a_row_not_before() -> None:
    router = make_router()
    assert fail(router, 100.0, EAST, times=2) == [None, None]
    assert router.start(100.0, closed) == (Start(EAST), None)
    [switch] = fail(router, 100.5, EAST)
    assert switch == Switch(
        "us-east-1", "us-west-2", f"3 failures in a row in us-east-1: {FAILURE}"
    )
    assert router.region == "us-west-2"
    assert router.start(100.5, closed) == (Start(WEST), None)


@pytest.mark.parametrize("switch_after", [1, 2, 5])
def test_switch_after_is_honoured(switch_after: int) -> None:
    router = make_router(Failover(switch_after=switch_after))
    switches = fail(router, 100.0, EAST, times=switch_after)
    assert switches[:-1] == [None] * (switch_after - 1)
    assert switches[-1] is not None and switches[-1].after == "us-west-2"


def test_a_success_resets_the_count() -> None:
    router = make_router()
    fail(router, 100.0, EAST, times=2)
    assert succeed(router, 100.0, EAST) is None
    assert fail(router, 100.0, EAST, times=2) == [None, None]
    assert router.region == "us-east-1"
    assert fail(router, 100.0, EAST)[0] is not None


def test_outcomes_that_say_nothing_about_the_region_are_ignored() -> None:
    # failed=None (throttling, a client-side failure): neither counts nor resets.
    router = make_router()
    fail(router, 100.0, EAST, times=2)
    for _ in range(10):
        assert router.record(100.0, Start(EAST), EAST, None, "throttled", closed) is None
    assert router.region == "us-east-1"
    assert fail(router, 100.0, EAST)[0] is not None


def test_failures_in_a_region_not_in_use_do_not_count() -> None:
    router = make_router()
    # A call that started on the primary failed over: its fallback's
    # failures say nothing about where calls should start.
    for _ in range(10):
        assert router.record(100.0, Start(EAST), WEST, True, FAILURE, closed) is None
    assert fail(router, 100.0, EAST, times=2) == [None, None]
    assert router.region == "us-east-1"


def test_an_open_breaker_of_the_region_in_use_switches_at_once() -> None:
    router = make_router()
    start, switch = router.start(100.0, open_breakers(EAST))
    assert start == Start(WEST)
    assert switch == Switch("us-east-1", "us-west-2", "the breaker of us-east-1 is open")
    assert router.snapshot(100.0).reason == "the breaker of us-east-1 is open"


def test_an_open_breaker_skips_regions_whose_breakers_are_open_too() -> None:
    router = make_router()
    start, switch = router.start(100.0, open_breakers(EAST, WEST))
    assert start == Start(EU)
    assert switch is not None and switch.after == "eu-west-1"


def test_stays_when_every_other_region_is_open_too() -> None:
    router = make_router()
    everything_open = open_breakers(EAST, WEST, EU)
    assert router.start(100.0, everything_open) == (Start(EAST), None)
    assert fail(router, 100.0, EAST, times=5, is_open=open_breakers(WEST, EU)) == [None] * 5
    assert router.region == "us-east-1"
    assert router.snapshot(100.0).switches == 0
    # Once another region is usable again, the next failure moves.
    assert fail(router, 101.0, EAST)[0] is not None
    assert router.region == "us-west-2"


# -- stick window, probes and failback ---------------------------------------


def test_stick_window_then_one_probe_at_a_time_at_most_every_probe_interval() -> None:
    router = make_router()
    switch_away(router, 100.0)
    for now in (100.0, 102.0, 104.99):
        assert router.start(now, closed) == (Start(WEST), None)
    first = probe(router, 105.0)
    # The probe is in flight: every other call stays on the fallback.
    for now in (105.0, 105.5, 107.0, 200.0):
        assert router.start(now, closed) == (Start(WEST), None)
    router.release_probe(first)  # it ended without an answer from the primary
    # The next probe goes no sooner than probe_interval after the last one.
    assert router.start(105.9, closed) == (Start(WEST), None)
    second = probe(router, 106.0)
    assert router.start(106.0, closed) == (Start(WEST), None)
    router.release_probe(second)


def test_only_calls_that_may_probe_are_spent_as_probes() -> None:
    """A write (may_probe=False) starts where calls are stuck, even when a
    probe is due; the next read takes the probe."""
    router = make_router()
    switch_away(router, 100.0)
    assert router.start(105.0, closed, may_probe=False) == (Start(WEST), None)
    probe(router, 105.0)


def test_a_probe_call_tries_the_primary_then_the_region_calls_are_stuck_to() -> None:
    from resilient_cloud._failover import CallRoutes

    router = make_router()
    switch_away(router, 100.0)  # to us-west-2
    switch_away(router, 100.0)  # us-west-2 sick too: to eu-west-1
    assert router.region == "eu-west-1"
    start = probe(router, 120.0)
    routes = CallRoutes(router, start, lambda index: None, closed.__contains__)
    assert routes._order == (EAST, EU, WEST)


def test_the_primary_is_probed_even_while_its_breaker_is_open() -> None:
    """Failback is timed by the router: the probe may open the breaker early
    (CircuitBreakerState.admit(probe_now=True)), whose break grew meanwhile."""
    router = make_router()
    switch_away(router, 100.0)
    assert router.start(105.0, open_breakers(EAST)) == (Start(EAST, probe=True), None)


def test_probe_success_fails_back_with_a_reason() -> None:
    router = make_router()
    switch_away(router, 100.0)
    start = probe(router, 105.0)
    switch = router.record(105.2, start, EAST, False, None, closed)
    assert switch == Switch("us-west-2", "us-east-1", "a probe of us-east-1 succeeded")
    assert router.start(105.2, closed) == (Start(EAST), None)
    snapshot = router.snapshot(106.2)
    assert snapshot.region == "us-east-1"
    assert snapshot.reason == "a probe of us-east-1 succeeded"
    assert snapshot.since == pytest.approx(1.0)
    assert snapshot.switches == 2
    assert snapshot.probe_after is None


def test_probe_failure_stays_on_the_fallback() -> None:
    router = make_router()
    switch_away(router, 100.0)
    start = probe(router, 105.0)
    assert router.record(105.1, start, EAST, True, FAILURE, closed) is None
    assert router.region == "us-west-2"
    assert router.start(105.5, closed) == (Start(WEST), None)
    probe(router, 106.0)  # the next probe, one interval after the last


def test_only_a_probe_brings_calls_back() -> None:
    # A call that started on the primary before the switch, or reached it by
    # failing over from the fallback, is not a probe: its success does not
    # end the stay.
    router = make_router()
    switch_away(router, 100.0)
    for _ in range(5):
        assert router.record(101.0, Start(EAST), EAST, False, None, closed) is None
        assert router.record(101.0, Start(WEST), EAST, False, None, closed) is None
    assert router.region == "us-west-2"


def test_a_probe_answered_without_verdict_holds_its_slot_until_released() -> None:
    router = make_router()
    switch_away(router, 100.0)
    start = probe(router, 105.0)
    # Throttled in the primary: says nothing; the call goes on as the probe.
    assert router.record(105.1, start, EAST, None, "throttled", closed) is None
    assert router.start(110.0, closed) == (Start(WEST), None)
    router.release_probe(start)
    probe(router, 110.0)


def test_release_probe_ignores_calls_that_are_not_probes() -> None:
    router = make_router()
    switch_away(router, 100.0)
    start = probe(router, 105.0)
    router.release_probe(Start(WEST))
    router.release_probe(Start(EAST))
    assert router.start(200.0, closed) == (Start(WEST), None)  # still in flight
    router.release_probe(start)
    probe(router, 200.0)


def test_snapshot_on_a_fallback_says_when_the_primary_may_be_probed() -> None:
    router = make_router()
    switch_away(router, 100.0)
    snapshot = router.snapshot(102.0)
    assert snapshot.region == "us-west-2"
    assert snapshot.reason.startswith("3 failures in a row in us-east-1")
    assert snapshot.since == 2.0
    assert snapshot.switches == 1
    assert snapshot.probe_after == 3.0
    start = probe(router, 105.0)
    assert router.snapshot(105.25).probe_after == 0.75  # the probe interval
    router.release_probe(start)
    assert router.snapshot(107.0).probe_after == 0.0


# -- no flapping ----------------------------------------------------------------


def come_back(router: RegionRouter, now: float) -> None:
    start = probe(router, now)
    switch = router.record(now, start, EAST, False, None, closed)
    assert switch is not None and switch.after == "us-east-1"


def next_probe_time(router: RegionRouter, now: float) -> float:
    after = router.snapshot(now).probe_after
    assert after is not None
    return now + after


def test_a_quick_departure_after_a_return_doubles_the_stay_up_to_max_stick_for() -> None:
    router = make_router()
    now = 100.0
    stays = []
    for _ in range(6):
        switch_away(router, now)
        probe_at = next_probe_time(router, now)
        stays.append(probe_at - now)
        assert router.start(probe_at - 0.01, closed) == (Start(WEST), None)
        come_back(router, probe_at)
        now = probe_at + 0.5  # the primary fails again at once
    assert stays == [5.0, 10.0, 20.0, 40.0, 40.0, 40.0]


def test_a_primary_that_held_longer_than_the_stay_starts_over() -> None:
    router = make_router()
    switch_away(router, 100.0)
    come_back(router, 105.0)
    switch_away(router, 106.0)  # quick: 10 s
    assert next_probe_time(router, 106.0) == 116.0
    come_back(router, 116.0)
    switch_away(router, 126.5)  # held 10.5 s, longer than the last stay
    assert next_probe_time(router, 126.5) == 131.5


def test_a_primary_that_held_exactly_the_stay_starts_over() -> None:
    """A stay is how long the primary must hold to count as recovered:
    failing again once it has held that long is not a quick departure."""
    router = make_router()
    switch_away(router, 100.0)
    come_back(router, 105.0)
    switch_away(router, 110.0)  # held exactly 5 s, the stay
    assert next_probe_time(router, 110.0) == 115.0


def test_the_router_describes_itself() -> None:
    router = make_router()
    assert repr(router) == "<RegionRouter on us-east-1 of ['us-east-1', 'us-west-2', 'eu-west-1']: the client's own region>"


def test_a_flapping_primary_does_not_pull_calls_back_and_forth() -> None:
    """Calls every 0.1 s for 10 minutes; the primary is up 2 s, down 2 s."""
    options = Failover(switch_after=3, stick_for=5.0, max_stick_for=60.0, probe_interval=1.0)
    router = RegionRouter(REGIONS[:2], options, now=0.0)
    sent_to_sick_primary = 0
    for step in range(6000):
        now = step * 0.1
        primary_up = int(now // 2) % 2 == 0
        start, _ = router.start(now, closed)
        failed = start.index == EAST and not primary_up
        sent_to_sick_primary += failed
        router.record(now, start, start.index, failed, FAILURE if failed else None, closed)
    switches = router.snapshot(600.0).switches
    # Without doubling the stay: two switches per 4 s cycle (300). With it,
    # once the stay reaches max_stick_for: two per minute at most.
    assert switches <= 2 * (600 / 60.0) + 8
    assert sent_to_sick_primary <= options.switch_after * switches


# -- a fallback that becomes sick -------------------------------------------------


def test_a_sick_fallback_moves_calls_on_to_the_next_region() -> None:
    router = make_router()
    switch_away(router, 100.0)
    assert fail(router, 101.0, WEST, times=2) == [None, None]
    [switch] = fail(router, 101.0, WEST)
    assert switch == Switch(
        "us-west-2", "eu-west-1", f"3 failures in a row in us-west-2: {FAILURE}"
    )
    assert router.start(101.0, closed) == (Start(EU), None)
    # The primary is still probed when the first stay is over.
    assert router.start(104.9, closed) == (Start(EU), None)
    assert router.start(105.0, closed) == (Start(EAST, probe=True), None)


def test_an_open_fallback_breaker_moves_calls_on() -> None:
    router = make_router()
    switch_away(router, 100.0)
    start, switch = router.start(101.0, open_breakers(WEST))
    assert start == Start(EU)
    assert switch == Switch("us-west-2", "eu-west-1", "the breaker of us-west-2 is open")


def test_repr_names_the_region_in_use() -> None:
    router = make_router()
    assert "us-east-1" in repr(router)


@pytest.mark.parametrize("value", [
    Switch("us-east-1", "us-west-2", "why"),
    Start(EAST, probe=True),
    make_router().snapshot(100.0),
], ids=["switch", "start", "snapshot"])
def test_what_the_router_hands_out_are_immutable_values(value: object) -> None:
    """Starts are held by calls on other threads, switches go into events and
    snapshots to users (rc.health()): none can be changed after the fact, and
    none carries a per-instance dict (they are made per call)."""
    import dataclasses

    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, None)
    assert not hasattr(value, "__dict__")
