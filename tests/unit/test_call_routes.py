"""One call's regions (``CallRoutes``) and the pure rules of moving, without I/O."""

from __future__ import annotations

import pytest

from resilient_cloud import Failover, Safety
from resilient_cloud._core.decisions import may_leave_region
from resilient_cloud._failover import CallRoutes, Move, NeedRoute, Route
from resilient_cloud._outcome import AttemptOutcome
from resilient_cloud._registry import Endpoint
from resilient_cloud._routing import PRIMARY, RegionRouter, Start, Switch

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
EAST, WEST, EU = 0, 1, 2
SICK_SENT = AttemptOutcome("server-error", "InternalServerError", retryable=True)
SICK_NOT_SENT = AttemptOutcome("connection-failed", "x", retryable=True, may_have_reached_service=False)
HEALTHY = AttemptOutcome("client-error", "ValidationException")
START = Start(EAST)


def route(index: int) -> Route:
    region = REGIONS[index]
    return Route(index, region, Endpoint("aws", "dynamodb", region, f"h.{region}"), None, None, None)


def routes(
    start: Start = START, *, built: set[int] | None = None, open_: set[int] = frozenset(),
    router: RegionRouter | None = None, switch: Switch | None = None,
) -> CallRoutes:
    built = {EAST, WEST, EU} if built is None else built
    router = router or RegionRouter(REGIONS, Failover(), now=0.0)
    return CallRoutes(
        router, start, lambda i: route(i) if i in built else None, lambda i: i in open_, switch
    )


def test_a_move_goes_to_the_next_region_of_the_round_then_a_new_round() -> None:
    call = routes()
    assert call.plan_move(EAST) == Move(route(WEST), frozenset({EAST}))
    call.tried = frozenset({EAST})
    assert call.plan_move(WEST) == Move(route(EU), frozenset({EAST, WEST}))
    call.tried = frozenset({EAST, WEST})
    assert call.plan_move(EU) == Move(None, frozenset({EAST, WEST, EU}))  # the round is over
    assert call.plan_move(EU, new_round=True) == Move(route(EAST), frozenset())
    assert call.tried == frozenset({EAST, WEST})  # planning commits nothing


def test_a_new_round_that_leads_back_to_the_current_region_is_no_move() -> None:
    call = routes(open_={WEST, EU})
    assert call.plan_move(EAST, new_round=True) == Move(None, frozenset())


def test_open_and_unbuildable_regions_are_skipped_and_unbuilt_ones_asked_for() -> None:
    assert routes(open_={WEST}).plan_move(EAST).route == route(EU)
    call = routes()
    call.build_failed(WEST)
    assert call.plan_move(EAST).route == route(EU)
    with pytest.raises(NeedRoute) as need:
        routes(built={EAST}).plan_move(EAST)
    assert need.value.index == WEST


def test_a_start_whose_client_cannot_be_built_falls_back_to_the_primary() -> None:
    switch = Switch("us-east-1", "us-west-2", "why")
    call = routes(Start(WEST), built={EAST}, switch=switch)
    with pytest.raises(NeedRoute):
        call.start_route()
    call.build_failed(WEST)
    assert call.start_route() == route(EAST)
    assert call.start == Start(PRIMARY) and call.switch is switch
    assert call._order == (EAST, WEST, EU)  # from the primary now
    assert routes(Start(WEST)).start_route() == route(WEST)


def test_the_probe_is_answered_by_an_answer_from_the_primary_only() -> None:
    router = RegionRouter(REGIONS, Failover(), now=0.0)
    probe = Start(EAST, probe=True)
    call = routes(probe, router=router)
    call.record(1.0, WEST, SICK_SENT, "x")  # another region's answer
    assert call.start == probe
    call.record(1.0, EAST, AttemptOutcome("throttled", "T", throttled=True), "x")
    assert call.start == Start(EAST)  # answered (healthy): no longer the probe
    call = routes(probe, router=router)
    call.record(1.0, EAST, AttemptOutcome("error", "KeyError"), "x")  # says nothing
    assert call.start == probe


def test_a_hedge_goes_to_the_next_region_whose_breaker_is_not_open() -> None:
    assert routes().hedge_route(route(EAST)) == route(WEST)
    assert routes(open_={WEST}).hedge_route(route(EAST)) == route(EU)
    assert routes(open_={WEST, EU}).hedge_route(route(EAST)) is None
    call = routes()
    call.build_failed(WEST)
    call.build_failed(EU)
    assert call.hedge_route(route(EAST)) is None


def test_the_open_regions_are_a_snapshot() -> None:
    assert routes(open_={WEST}).open_regions() == frozenset({WEST})
    assert routes().open_regions() == frozenset()


@pytest.mark.parametrize(
    ("outcome", "safety", "moves"),
    [
        (HEALTHY, Safety.READ_ONLY, False),  # the region answered
        (SICK_SENT, Safety.READ_ONLY, True),
        (SICK_SENT, Safety.IDEMPOTENT, False),  # may have been applied where it went
        (SICK_NOT_SENT, Safety.IDEMPOTENT, True),
        (SICK_NOT_SENT, Safety.UNSAFE, True),
    ],
)
def test_which_failures_may_leave_the_region(outcome, safety, moves) -> None:
    assert may_leave_region(outcome, safety) is moves


def test_routes_and_moves_are_immutable_values() -> None:
    """A Route is shared by every call of a client (and its hedge legs on other
    threads); a Move is a plan that changes nothing until committed."""
    import dataclasses

    route = Route(0, "us-east-1", Endpoint("aws", "dynamodb", "us-east-1", "h"), None, None, None)
    for value in (route, Move(route, frozenset({0}))):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, dataclasses.fields(value)[0].name, None)
        assert not hasattr(value, "__dict__")
