"""The call core, driven step by step: no client, no I/O, a fake clock.

Each test plays a driver by hand: it answers the core's actions with
scripted results and checks the next action. The property tests at the end
drive it with random scripts and hold its invariants.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from hypothesis import given, settings
from hypothesis import strategies as st

from resilient_cloud import CircuitBreaker, Failover, Hedge, RateLimiter, RetryBudget, Safety
from resilient_cloud import hooks as rc_hooks
from resilient_cloud._breaker import Admission, CircuitBreakerState
from resilient_cloud._budget import RetryBudgetState
from resilient_cloud._call import Call
from resilient_cloud._core.actions import Build, Judged, Send, Sleep, Stop
from resilient_cloud._core.machine import CallCore
from resilient_cloud._failover import CallRoutes, Route
from resilient_cloud._hedging import HedgeState
from resilient_cloud._outcome import AttemptTrace, Exchange
from resilient_cloud._ratelimit import RateLimiterState
from resilient_cloud._registry import Endpoint
from resilient_cloud._routing import RegionRouter
from resilient_cloud._strategies import wait_full_jitter
from resilient_cloud.errors import CircuitOpenError, DeadlineExceededError, StopReason, stop_details
from resilient_cloud.testing import FakeClock

SERVICE = botocore.session.get_session().get_service_model("dynamodb")
REGIONS = ("us-east-1", "us-west-2")


def endpoint(region: str) -> Endpoint:
    return Endpoint("aws", "dynamodb", region, f"dynamodb.{region}.amazonaws.com")


def route(index: int) -> Route:
    return Route(index, REGIONS[index], endpoint(REGIONS[index]), None, None, None)


def server_error() -> ClientError:
    return ClientError(
        {"Error": {"Code": "InternalServerError", "Message": "x"},
         "ResponseMetadata": {"HTTPStatusCode": 500}},
        "GetItem",
    )


def throttle() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"},
         "ResponseMetadata": {"HTTPStatusCode": 400}},
        "GetItem",
    )


def not_sent() -> EndpointConnectionError:
    return EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


def read_timeout() -> ReadTimeoutError:
    return ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


OK = {"Item": {}, "ResponseMetadata": {"HTTPStatusCode": 200, "RetryAttempts": 0}}  # as botocore fills it


def exchange_for(answer: Any) -> Exchange:
    """What botocore's needs-retry event would have seen for ``answer``."""
    if isinstance(answer, ClientError):
        status = answer.response["ResponseMetadata"].get("HTTPStatusCode", 400)
        return Exchange(http_response(status), answer.response, None)
    if isinstance(answer, BaseException):
        return Exchange(None, None, answer)
    return Exchange(http_response(200), answer, None)


def http_response(status: int) -> AWSResponse:
    response = AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", status, {}, None)
    response._content = b"{}"
    return response


@dataclass
class Driver:
    """A driver played by the test: answers Sends from ``answers`` in order."""

    core: CallCore
    clock: FakeClock
    answers: list[Any]
    sent: list[Send] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    builds: list[int] = field(default_factory=list)
    #: Builds region ``index``'s client: True when it could.
    build: Any = lambda index: True

    def run(self, action: Any = None) -> Stop:
        action = self.core.begin(self.clock.monotonic()) if action is None else action
        for _ in range(100):
            self.events += self.core.take_events()
            if isinstance(action, Stop):
                return action
            if isinstance(action, Send):
                self.sent.append(action)
                action = self.core.settle(self.answer(action), self.clock.monotonic())
            elif isinstance(action, Sleep):
                self.sleeps.append(action.seconds)
                self.clock.sleep(action.seconds)
                action = self.core.slept(self.clock.monotonic())
            elif isinstance(action, Build):
                self.builds.append(action.index)
                ok = self.build(action.index)
                action = self.core.built(action.index, ok, self.clock.monotonic())
            else:
                raise AssertionError(f"unexpected action {action!r}")
        raise AssertionError("the core never stopped")

    def answer(self, send: Send) -> Judged:
        answer = self.answers.pop(0) if self.answers else OK
        self.events += self.core.leg_started(send.leg)
        now = self.clock.monotonic()
        error = answer if isinstance(answer, BaseException) else None
        trace = AttemptTrace(exchange=exchange_for(answer))
        judged = self.core.judge(
            send.leg, None if error else dict(answer), error, trace, now, now + 0.01
        )
        self.events += judged.events
        return judged


def make_core(
    clock: FakeClock,
    *,
    operation: str = "GetItem",
    safety: Safety | None = None,
    max_attempts: int = 4,
    deadline: float | None = None,
    budget: RetryBudgetState | None = None,
    breakers: dict[int, CircuitBreakerState] | None = None,
    routes: CallRoutes | None = None,
    hedge: HedgeState | None = None,
    rewindable: bool = True,
    retry_unsafe: bool = False,
    limiter: RateLimiterState | None = None,
) -> CallCore:
    from resilient_cloud._botocore.operations import describe

    described = describe(SERVICE, operation, {})
    if safety is not None:
        described = type(described)(described.name, described.model, safety, ())
    breakers = breakers or {}
    now = clock.monotonic()
    call = Call(
        operation=described, service="dynamodb", region="us-east-1", max_attempts=max_attempts,
        started_at=now, deadline_at=None if deadline is None else now + deadline,
        budget=None, retry_unsafe=retry_unsafe, route=route(0),
        routes=routes, hedge=hedge, rewindable=rewindable,
    )
    return CallCore(
        call,
        wait=wait_full_jitter(0.05, 0.5, 1.0, random.Random(1)),
        breaker_of=lambda r: breakers.get(r.index),
        budget_of=lambda r: budget if r.index == 0 else None,
        observed=True,
        limiter_of=None if limiter is None else (lambda r: limiter),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- one region ------------------------------------------------------------------


def test_a_success_stops_at_once_with_the_result_and_its_retry_count(clock) -> None:
    driver = Driver(make_core(clock), clock, [OK])
    stop = driver.run()
    assert stop.error is None and stop.result["ResponseMetadata"]["RetryAttempts"] == 0
    assert [send.leg.attempt for send in driver.sent] == [1]
    assert driver.sleeps == []
    assert [type(event) for event in driver.events] == [
        rc_hooks.AttemptStarted, rc_hooks.AttemptEnded, rc_hooks.CallEnded,
    ]


def test_a_retryable_failure_backs_off_then_retries_until_attempts_are_spent(clock) -> None:
    errors = [server_error() for _ in range(3)]
    driver = Driver(make_core(clock, max_attempts=3), clock, list(errors))
    stop = driver.run()
    assert stop.error is errors[-1]
    assert [send.leg.attempt for send in driver.sent] == [1, 2, 3]
    assert [send.rewind for send in driver.sent] == [False, True, True]
    assert len(driver.sleeps) == 2 and all(0 <= s <= 0.1 for s in driver.sleeps)
    details = stop_details(stop.error)
    assert details is not None and details.reason is StopReason.ATTEMPTS_EXHAUSTED
    metadata = stop.error.response["ResponseMetadata"]
    assert metadata["RetryAttempts"] == 2 and metadata["MaxAttemptsReached"] is True


def test_not_retryable_and_unrewindable_and_unsafe_failures_stop_at_once(clock) -> None:
    validation = ClientError(
        {"Error": {"Code": "ValidationException"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "GetItem",
    )
    for core, error, reason in [
        (make_core(clock), validation, StopReason.NOT_RETRYABLE),
        (make_core(clock, rewindable=False), server_error(), StopReason.STREAM_NOT_SEEKABLE),
        (make_core(clock, operation="UpdateItem", safety=Safety.UNSAFE), read_timeout(),
         StopReason.UNSAFE_TO_RETRY),
    ]:
        driver = Driver(core, clock, [error])
        assert driver.run().error is error
        assert len(driver.sent) == 1
        assert core.call.stop_reason is reason


def test_an_unsafe_write_is_retried_only_when_it_was_not_sent(clock) -> None:
    core = make_core(clock, operation="UpdateItem", safety=Safety.UNSAFE)
    driver = Driver(core, clock, [not_sent(), OK])
    assert driver.run().error is None and len(driver.sent) == 2
    core = make_core(clock, operation="UpdateItem", safety=Safety.UNSAFE, retry_unsafe=True)
    driver = Driver(core, clock, [read_timeout(), OK])
    assert driver.run().error is None and len(driver.sent) == 2  # the policy opted in


def test_a_retry_refused_by_the_deadline_spends_no_token(clock) -> None:
    budget = RetryBudgetState(RetryBudget(min_retries_per_second=1.0, ttl=10.0))
    core = make_core(clock, budget=budget, deadline=0.02)
    before = budget.balance(clock.monotonic())
    first = core.begin(clock.monotonic())  # the first attempt goes
    clock.advance(0.019)  # any backoff (>= 0) now ends at or past the deadline... almost
    core.call.deadline_at = clock.monotonic()  # ...and exactly now: no retry can start in time
    driver = Driver(core, clock, [server_error()])
    stop = driver.run(first)
    assert core.call.stop_reason is StopReason.DEADLINE and stop.error is not None
    # The first attempt deposited its ratio; nothing was withdrawn.
    assert budget.balance(clock.monotonic()) == pytest.approx(before + budget.options.ratio)


def test_a_budget_refusal_stops_and_a_throttle_costs_more(clock) -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.0, min_retries_per_second=0.1, ttl=10.0))
    # reserve = 1 token: one ordinary retry, or no throttled one (cost 2).
    driver = Driver(make_core(clock, budget=budget), clock, [throttle()])
    assert driver.run().error is not None and len(driver.sent) == 1
    assert driver.core.call.stop_reason is StopReason.BUDGET_EXHAUSTED
    driver = Driver(make_core(clock, budget=budget), clock, [server_error(), server_error()])
    driver.run()
    assert len(driver.sent) == 2 and driver.core.call.stop_reason is StopReason.BUDGET_EXHAUSTED


def test_a_call_past_its_deadline_is_refused_before_sending(clock) -> None:
    core = make_core(clock, deadline=0.0)
    driver = Driver(core, clock, [])
    stop = driver.run()
    assert isinstance(stop.error, DeadlineExceededError) and driver.sent == []
    assert [type(event) for event in driver.events] == [rc_hooks.CallRejected, rc_hooks.CallEnded]


def test_an_open_breaker_refuses_the_call_and_says_when_it_probes(clock) -> None:
    breaker = CircuitBreakerState(CircuitBreaker(minimum_attempts=1, failure_ratio=0.5), random.Random(1))
    core = make_core(clock, breakers={0: breaker}, max_attempts=1)
    Driver(core, clock, [server_error()]).run()  # opens it
    driver = Driver(make_core(clock, breakers={0: breaker}), clock, [])
    stop = driver.run()
    assert isinstance(stop.error, CircuitOpenError) and driver.sent == []
    assert stop.error.retry_after is not None and stop.error.retry_after > 0


# -- regions -------------------------------------------------------------------


def routes_for(clock: FakeClock, resolve: Any, breakers: dict[int, CircuitBreakerState]) -> CallRoutes:
    router = RegionRouter(REGIONS, Failover(), now=clock.monotonic())
    start, switch = router.start(clock.monotonic(), frozenset())
    is_open = lambda index: index in breakers and breakers[index].retry_after(clock.monotonic()) is not None  # noqa: E731
    return CallRoutes(router, start, resolve, is_open, switch)


def test_a_sick_read_moves_to_the_next_region_at_once_building_its_client_first(clock) -> None:
    built = {0: route(0)}
    routes = routes_for(clock, built.get, {})
    core = make_core(clock, routes=routes)
    driver = Driver(core, clock, [not_sent(), OK])
    driver.build = lambda index: built.setdefault(index, route(index)) is not None
    assert driver.run().error is None
    assert driver.builds == [1]
    assert [send.leg.route.region for send in driver.sent] == ["us-east-1", "us-west-2"]
    assert driver.sleeps == [0.0]  # another region: no backoff
    assert any(isinstance(event, rc_hooks.FailedOver) for event in driver.events)


def test_a_region_whose_client_cannot_be_built_is_skipped_for_the_call(clock) -> None:
    routes = routes_for(clock, lambda index: route(0) if index == 0 else None, {})
    driver = Driver(make_core(clock, routes=routes, max_attempts=2), clock, [not_sent(), OK])
    driver.build = lambda index: False
    assert driver.run().error is None
    assert driver.builds == [1]  # asked once, then skipped
    assert [send.leg.route.region for send in driver.sent] == ["us-east-1", "us-east-1"]
    assert driver.sleeps and driver.sleeps[0] >= 0.0


def test_an_ambiguous_write_stays_where_it_may_have_been_applied(clock) -> None:
    routes = routes_for(clock, lambda index: route(index), {})
    core = make_core(clock, operation="PutItem", safety=Safety.IDEMPOTENT, routes=routes)
    driver = Driver(core, clock, [read_timeout(), OK])
    assert driver.run().error is None
    assert [send.leg.route.region for send in driver.sent] == ["us-east-1", "us-east-1"]


def test_a_retry_stopped_by_its_limits_does_not_move_the_call(clock) -> None:
    routes = routes_for(clock, lambda index: route(index), {})
    core = make_core(clock, routes=routes, max_attempts=1)
    stop = Driver(core, clock, [not_sent()]).run()
    assert core.call.region == "us-east-1" and core.call.moved_from is None
    assert stop.error is not None and core.call.stop_reason is StopReason.ATTEMPTS_EXHAUSTED
    assert routes.tried == frozenset()  # the round was not committed either


# -- hedges --------------------------------------------------------------------


def hedged_core(clock: FakeClock, **kwargs: Any) -> CallCore:
    return make_core(clock, hedge=HedgeState(Hedge(delay=0.05)), **kwargs)


def test_a_read_may_be_hedged_and_a_hedge_is_an_attempt(clock) -> None:
    core = hedged_core(clock, max_attempts=2)
    first = core.begin(clock.monotonic())
    assert isinstance(first, Send) and first.hedge_after == 0.05
    clock.advance(0.05)
    hedge = core.hedge_due(clock.monotonic())
    assert isinstance(hedge, Send) and hedge.leg.hedge and hedge.leg.attempt == 2
    assert core.hedge_due(clock.monotonic()) is None  # attempts spent: no second hedge


def test_no_hedge_after_the_deadline(clock) -> None:
    core = hedged_core(clock, deadline=0.04)
    first = core.begin(clock.monotonic())
    assert isinstance(first, Send)
    clock.advance(0.05)
    assert core.hedge_due(clock.monotonic()) is None
    assert core.call.attempts == 1 and core.call.hedge is not None
    assert core.call.hedge.snapshot().fired == 0


def test_no_hedge_for_a_write_or_with_streams(clock) -> None:
    core = hedged_core(clock, operation="PutItem", safety=Safety.IDEMPOTENT)
    core.call.hedge = None  # the runtime gives writes no hedge state
    assert core.begin(clock.monotonic()).hedge_after is None  # type: ignore[union-attr]
    core = hedged_core(clock)
    core.call.has_streams = True
    assert core.begin(clock.monotonic()).hedge_after is None  # type: ignore[union-attr]


def test_a_hedge_the_budget_refuses_hands_back_its_probe_slot(clock) -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.0, min_retries_per_second=0.0, ttl=10.0))
    breaker = CircuitBreakerState(CircuitBreaker(), random.Random(1))
    core = hedged_core(clock, budget=budget, breakers={0: breaker})
    first = core.begin(clock.monotonic())
    assert isinstance(first, Send)
    assert core.hedge_due(clock.monotonic()) is None
    assert core.call.hedge is not None and core.call.hedge.snapshot().refused == 1


# -- invariants ------------------------------------------------------------------

ANSWERS = st.sampled_from(["ok", "server-error", "throttle", "not-sent", "read-timeout"])


def make_answer(name: str) -> Any:
    return {
        "ok": OK, "server-error": server_error(), "throttle": throttle(),
        "not-sent": not_sent(), "read-timeout": read_timeout(),
    }[name]


@settings(max_examples=200, deadline=None)
@given(
    script=st.lists(ANSWERS, max_size=12),
    max_attempts=st.integers(min_value=1, max_value=6),
    unsafe=st.booleans(),
    reserve=st.sampled_from([0.0, 0.1, 1.0]),
)
def test_invariants(script: list[str], max_attempts: int, unsafe: bool, reserve: float) -> None:
    clock = FakeClock()
    withdrawals: list[bool] = []

    class WatchedBudget(RetryBudgetState):
        def try_withdraw(self, now: float, cost: float = 1.0) -> Any:
            answer = super().try_withdraw(now, cost)
            withdrawals.append(answer.granted)
            return answer

    budget = WatchedBudget(RetryBudget(ratio=0.1, min_retries_per_second=reserve, ttl=10.0))
    core = make_core(
        clock, max_attempts=max_attempts, budget=budget,
        operation="UpdateItem" if unsafe else "GetItem",
        safety=Safety.UNSAFE if unsafe else None,
    )
    driver = Driver(core, clock, [make_answer(name) for name in script])
    stop = driver.run()
    sent = len(driver.sent)
    # Never more attempts than allowed.
    assert 1 <= sent <= max_attempts
    # Never a retry the budget refused: every retry was paid for by a grant.
    assert withdrawals.count(True) == sent - 1
    assert withdrawals[-1:] != [False] or core.call.stop_reason is StopReason.BUDGET_EXHAUSTED
    # An unsafe write is never sent again after it may have reached the service.
    if unsafe:
        for name in script[: sent - 1]:
            assert name in ("not-sent", "throttle"), f"re-sent after {name}"
    # The call ends with the last attempt's answer.
    last = script[sent - 1] if sent <= len(script) else "ok"
    assert (stop.error is None) == (last == "ok")


# -- what mutation testing found unpinned ------------------------------------------


def test_a_bulkhead_wait_never_outlasts_the_deadline_and_a_refusal_says_why(clock) -> None:
    from resilient_cloud import Bulkhead
    from resilient_cloud._bulkhead import BulkheadState
    from resilient_cloud._core.actions import WaitForSlot
    from resilient_cloud.errors import BulkheadFullError

    core = make_core(clock, deadline=0.3)
    core.call.bulkhead = BulkheadState(Bulkhead(max_concurrent=2, max_queue=1, max_wait=5.0))
    clock.advance(0.1)
    wait = core.begin(clock.monotonic())
    assert isinstance(wait, WaitForSlot) and wait.max_wait == pytest.approx(0.2)
    stop = core.refused_by_bulkhead(clock.monotonic())
    assert isinstance(stop.error, BulkheadFullError)
    assert str(stop.error) == (
        "dynamodb.GetItem in us-east-1: 2 calls already in flight to dynamodb.us-east-1 "
        "(dynamodb.us-east-1.amazonaws.com)"
    )
    assert core.call.stop_reason is StopReason.BULKHEAD_FULL


def test_a_call_refused_for_its_deadline_says_so(clock) -> None:
    stop = Driver(make_core(clock, deadline=0.0), clock, []).run()
    assert str(stop.error) == (
        "dynamodb.GetItem in us-east-1: the deadline passed before any request was sent"
    )


def test_a_200_whose_body_fails_its_crc32_is_judged_a_failure_without_a_result(clock) -> None:
    core = make_core(clock)
    send = core.begin(clock.monotonic())
    assert isinstance(send, Send)
    body = b'{"Item": {}}'
    response = AWSResponse(
        "https://dynamodb.us-east-1.amazonaws.com/", 200, {"x-amz-crc32": "1"}, None
    )
    response._content = body
    trace = AttemptTrace(exchange=Exchange(response, {"Item": {}}, None))
    judged = core.judge(send.leg, {"Item": {}}, None, trace, 0.0, 0.01)
    assert judged.outcome.kind == "checksum-mismatch"
    assert judged.result is None and judged.error is not None


def test_a_failed_leg_tells_its_own_regions_breaker_what_failed(clock) -> None:
    east = CircuitBreakerState(CircuitBreaker(), random.Random(1))
    west = CircuitBreakerState(CircuitBreaker(), random.Random(1))
    routes = routes_for(clock, route, {})
    core = make_core(clock, routes=routes, breakers={0: east, 1: west}, hedge=HedgeState(Hedge(delay=0.05)))
    first = core.begin(clock.monotonic())
    assert isinstance(first, Send)
    hedge = core.hedge_due(clock.monotonic())
    assert isinstance(hedge, Send) and hedge.leg.route.index == 1
    error = server_error()
    now = clock.monotonic()
    judged = core.judge(hedge.leg, None, error, AttemptTrace(exchange=exchange_for(error)), now, now)
    assert judged.outcome.kind == "server-error"
    assert west.snapshot(now).last_failure == "server-error (InternalServerError)"
    assert (west.snapshot(now).failures_in_window, west.snapshot(now).consecutive_failures) == (1, 1)
    assert east.snapshot(now).consecutive_failures == 0 and east.snapshot(now).last_failure is None


def test_sick_failures_reach_the_shared_router_which_moves_later_calls(clock) -> None:
    router = RegionRouter(REGIONS, Failover(switch_after=3), now=clock.monotonic())

    def one_call() -> Driver:
        start, switch = router.start(clock.monotonic(), frozenset())
        routes = CallRoutes(router, start, route, lambda index: False, switch)
        driver = Driver(make_core(clock, routes=routes, max_attempts=1), clock, [server_error()])
        driver.run()
        return driver

    calls = [one_call() for _ in range(4)]
    assert [c.sent[0].leg.route.region for c in calls] == ["us-east-1"] * 3 + ["us-west-2"]
    assert router.snapshot(clock.monotonic()).reason == (
        "3 failures in a row in us-east-1: server-error (InternalServerError)"
    )


def test_only_a_first_attempts_answer_teaches_the_hedge_delay_and_events_carry_durations(clock) -> None:
    hedge = HedgeState(Hedge(delay=0.05))
    core = make_core(clock, hedge=hedge, max_attempts=3)
    first = core.begin(clock.monotonic())
    assert isinstance(first, Send)
    now = clock.monotonic()
    ok = AttemptTrace(exchange=exchange_for(OK))
    judged = core.judge(first.leg, dict(OK), None, ok, now, now + 0.02)
    assert list(hedge._latencies) == [pytest.approx(0.02)]
    [ended] = [e for e in judged.events if isinstance(e, rc_hooks.AttemptEnded)]
    assert ended.duration == pytest.approx(0.02)
    second = core.hedge_due(now)
    assert isinstance(second, Send) and second.leg.attempt == 2
    core.judge(second.leg, dict(OK), None, ok, now, now + 0.5)
    assert list(hedge._latencies) == [pytest.approx(0.02)]  # a hedge's answer teaches nothing
    error = server_error()
    failed = core.judge(first.leg, None, error, AttemptTrace(exchange=exchange_for(error)), now, now + 0.3)
    assert failed.outcome.kind == "server-error"
    assert list(hedge._latencies) == [pytest.approx(0.02)]  # nor does a failure


def opened_breaker(clock: FakeClock, **options: Any) -> CircuitBreakerState:
    """A breaker that one failure opened."""
    breaker = CircuitBreakerState(
        CircuitBreaker(minimum_attempts=1, failure_ratio=0.5, refusals_before_probe=0, **options),
        random.Random(1),
    )
    now = clock.monotonic()
    admission, _ = breaker.admit(now)
    breaker.record(now, admission, True, "server-error (InternalServerError)")
    assert breaker.retry_after(now) is not None
    return breaker


def probing_breaker(clock: FakeClock) -> CircuitBreakerState:
    """Half-open with its one probe in flight: it refuses attempts, yet is
    not open to the router (no ``retry_after``)."""
    breaker = opened_breaker(clock)
    clock.advance(breaker.retry_after(clock.monotonic()) or 0.0)
    assert breaker.admit(clock.monotonic())[0] is Admission.PROBE
    assert breaker.retry_after(clock.monotonic()) is None
    return breaker


def test_an_open_breakers_refusal_says_whose_it_is_when_it_probes_and_what_failed(clock) -> None:
    breaker = opened_breaker(clock)
    driver = Driver(make_core(clock, breakers={0: breaker}), clock, [])
    stop = driver.run()
    retry_after = breaker.retry_after(clock.monotonic())
    assert retry_after is not None and isinstance(stop.error, CircuitOpenError)
    assert str(stop.error) == (
        "dynamodb.GetItem in us-east-1: circuit breaker for dynamodb.us-east-1 "
        f"(dynamodb.us-east-1.amazonaws.com) is open; next probe in {retry_after:.2f}s"
    )
    assert stop.error.last_failure == "server-error (InternalServerError)"
    [rejected] = [e for e in driver.events if isinstance(e, rc_hooks.CallRejected)]
    assert rejected.reason is StopReason.CIRCUIT_OPEN and rejected.retry_after == retry_after


def test_a_breaker_opened_during_the_backoff_ends_the_call_with_its_last_real_error(clock) -> None:
    breaker = CircuitBreakerState(CircuitBreaker(minimum_attempts=3, failure_ratio=0.5), random.Random(1))
    core = make_core(clock, breakers={0: breaker})
    driver = Driver(core, clock, [server_error()])
    send = core.begin(clock.monotonic())
    assert isinstance(send, Send)
    sleep = core.settle(driver.answer(send), clock.monotonic())
    assert isinstance(sleep, Sleep)
    for _ in range(2):  # other calls fail meanwhile: the breaker opens
        admission, _ = breaker.admit(clock.monotonic())
        breaker.record(clock.monotonic(), admission, True, "server-error (InternalServerError)")
    clock.advance(sleep.seconds)
    stop = core.slept(clock.monotonic())
    assert isinstance(stop, Stop) and isinstance(stop.error, ClientError)
    assert core.call.stop_reason is StopReason.CIRCUIT_OPEN and core.finished
    details = stop_details(stop.error)
    assert details is not None and (details.reason, details.attempts) == (StopReason.CIRCUIT_OPEN, 1)
    events = driver.events + core.take_events()
    assert not [e for e in events if isinstance(e, rc_hooks.CallRejected)]  # it was not refused
    [ended] = [e for e in events if isinstance(e, rc_hooks.CallEnded)]
    assert ended.reason is StopReason.CIRCUIT_OPEN and not ended.succeeded


def test_a_call_moved_by_a_refusal_and_then_stopped_names_the_region_it_last_sent_to(clock) -> None:
    west = probing_breaker(clock)
    east = CircuitBreakerState(CircuitBreaker(minimum_attempts=3, failure_ratio=0.5), random.Random(1))
    core = make_core(clock, routes=routes_for(clock, route, {}), breakers={0: east, 1: west})
    driver = Driver(core, clock, [throttle()])  # throttled: the retry stays in us-east-1
    send = core.begin(clock.monotonic())
    assert isinstance(send, Send)
    sleep = core.settle(driver.answer(send), clock.monotonic())
    assert isinstance(sleep, Sleep) and sleep.seconds > 0
    for _ in range(2):
        admission, _ = east.admit(clock.monotonic())
        east.record(clock.monotonic(), admission, True, "server-error (InternalServerError)")
    clock.advance(sleep.seconds)
    stop = core.slept(clock.monotonic())  # east refuses, then west (its probe is out)
    assert isinstance(stop, Stop) and isinstance(stop.error, ClientError)
    assert core.call.region == "us-east-1" and core.call.moved_from is None
    details = stop_details(stop.error)
    assert details is not None and details.region == "us-east-1"
    events = driver.events + core.take_events()
    assert not [e for e in events if isinstance(e, rc_hooks.FailedOver)]  # nothing was sent elsewhere
    [ended] = [e for e in events if isinstance(e, rc_hooks.CallEnded)]
    assert ended.region == "us-east-1"


def test_a_retry_sent_back_to_the_region_it_left_at_once_backs_off_first(clock) -> None:
    """us-east-1 fails sick: the retry moves to us-west-2 at once, whose
    breaker refuses it (a probe is out). It goes back to us-east-1 as a new
    round, after the backoff such a round has, and says no failover."""
    west = probing_breaker(clock)
    core = make_core(clock, routes=routes_for(clock, route, {}), breakers={1: west})
    driver = Driver(core, clock, [not_sent(), OK])
    assert driver.run().error is None
    assert [send.leg.route.region for send in driver.sent] == ["us-east-1", "us-east-1"]
    assert len(driver.sleeps) == 2 and driver.sleeps[0] == 0.0 and driver.sleeps[1] > 0.0
    assert not [e for e in driver.events if isinstance(e, rc_hooks.FailedOver)]


def test_a_backoff_before_a_new_round_that_would_pass_the_deadline_stops_the_call(clock) -> None:
    west = probing_breaker(clock)
    core = make_core(clock, routes=routes_for(clock, route, {}), breakers={1: west}, deadline=0.001)
    driver = Driver(core, clock, [not_sent(), OK])
    stop = driver.run()
    assert isinstance(stop.error, EndpointConnectionError) and len(driver.sent) == 1
    assert core.call.stop_reason is StopReason.DEADLINE


def test_an_abandoned_hedge_hands_back_its_own_regions_probe_slot_and_ends_cancelled(clock) -> None:
    west = opened_breaker(clock)
    clock.advance(west.retry_after(clock.monotonic()) or 0.0)  # its break is over: a hedge may probe it
    east = CircuitBreakerState(CircuitBreaker(), random.Random(1))
    core = make_core(
        clock, routes=routes_for(clock, route, {}), breakers={0: east, 1: west},
        hedge=HedgeState(Hedge(delay=0.05)),
    )
    first = core.begin(clock.monotonic())
    assert isinstance(first, Send)
    started = clock.monotonic()
    hedge = core.hedge_due(started)
    assert isinstance(hedge, Send) and hedge.leg.route.index == 1
    assert hedge.leg.admission is Admission.PROBE
    clock.advance(0.3)
    events = core.abandon(hedge.leg, started, clock.monotonic())
    [ended] = events
    assert isinstance(ended, rc_hooks.AttemptEnded)
    assert (ended.outcome, ended.region, ended.attempt, ended.error) == ("cancelled", "us-west-2", 2, None)
    assert ended.duration == pytest.approx(0.3)
    assert west.admit(clock.monotonic())[0] is Admission.PROBE  # its slot came back
    assert east.snapshot(clock.monotonic()).attempts_in_window == 0  # nothing said about us-east-1


def test_a_deadline_passed_in_flight_ends_the_call_with_its_own_message(clock) -> None:
    core = make_core(clock, deadline=1.0)
    assert core.finished is False
    send = core.begin(clock.monotonic())
    assert isinstance(send, Send) and core.finished is False  # in flight: not over
    clock.advance(1.0)
    core.abandon(send.leg, 0.0, clock.monotonic())
    stop = core.deadline_passed(clock.monotonic())
    assert isinstance(stop.error, DeadlineExceededError) and core.finished
    assert str(stop.error) == (
        "dynamodb.GetItem in us-east-1: the deadline passed while an attempt was in flight"
    )
    [ended] = core.take_events()
    assert isinstance(ended, rc_hooks.CallEnded)
    assert (ended.reason, ended.attempts, ended.succeeded) == (StopReason.DEADLINE, 1, False)
    assert ended.elapsed == pytest.approx(1.0)


def test_a_hedged_race_is_counted_and_reported_with_its_winner(clock) -> None:
    hedge = HedgeState(Hedge(delay=0.05))
    core = make_core(clock, hedge=hedge, max_attempts=2)
    first = core.begin(clock.monotonic())
    assert isinstance(first, Send)
    second = core.hedge_due(clock.monotonic())
    assert isinstance(second, Send)
    now = clock.monotonic()
    judged = core.judge(second.leg, dict(OK), None, AttemptTrace(exchange=exchange_for(OK)), now, now)
    stop = core.raced(judged, True, now)
    assert isinstance(stop, Stop) and stop.error is None
    snapshot = hedge.snapshot()
    assert (snapshot.fired, snapshot.won, snapshot.refused) == (1, 1, 0)
    events = core.take_events()
    assert [type(e) for e in events] == [rc_hooks.HedgeFired, rc_hooks.HedgeEnded, rc_hooks.CallEnded]
    assert events[1].hedge_won is True
    assert core.call.answered_in == "us-east-1"


def test_a_call_whose_home_breaker_is_open_starts_in_the_next_region_and_says_why(clock) -> None:
    east = opened_breaker(clock)
    core = make_core(clock, routes=routes_for(clock, route, {}), breakers={0: east})
    driver = Driver(core, clock, [OK])
    assert driver.run().error is None
    assert [send.leg.route.region for send in driver.sent] == ["us-west-2"]
    [moved] = [e for e in driver.events if isinstance(e, rc_hooks.FailedOver)]
    assert (moved.region, moved.to_region) == ("us-east-1", "us-west-2")
    assert moved.reason == (
        "the breaker of dynamodb.us-east-1 (dynamodb.us-east-1.amazonaws.com) is open"
    )
    assert core.call.answered_in == "us-west-2"


def test_a_failure_that_opens_the_breaker_stops_the_call_without_backoff_or_token(clock) -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.1, min_retries_per_second=1.0, ttl=10.0))
    breaker = CircuitBreakerState(CircuitBreaker(minimum_attempts=1, failure_ratio=0.5), random.Random(1))
    core = make_core(clock, breakers={0: breaker}, budget=budget, max_attempts=3)
    balance = budget.balance(clock.monotonic())
    driver = Driver(core, clock, [server_error()])
    stop = driver.run()
    assert isinstance(stop.error, ClientError) and len(driver.sent) == 1
    assert core.call.stop_reason is StopReason.CIRCUIT_OPEN
    assert driver.sleeps == []  # no backoff towards a breaker already open
    assert budget.balance(clock.monotonic()) >= balance  # and no token spent on it


def test_a_half_open_breaker_whose_probe_is_out_refuses_without_a_probe_time(clock) -> None:
    breaker = probing_breaker(clock)
    stop = Driver(make_core(clock, breakers={0: breaker}), clock, []).run()
    assert isinstance(stop.error, CircuitOpenError) and stop.error.retry_after is None
    assert str(stop.error) == (
        "dynamodb.GetItem in us-east-1: circuit breaker for dynamodb.us-east-1 "
        "(dynamodb.us-east-1.amazonaws.com) is open"
    )


def test_a_call_refused_in_every_region_names_the_breaker_of_the_region_it_names(clock) -> None:
    """Both regions' breakers are open, us-west-2's for longer: the error is
    about us-east-1, where the call ends up (its order's first), and says
    when that breaker probes."""
    east = opened_breaker(clock)
    west = opened_breaker(clock, break_duration=50.0, max_break_duration=100.0)
    core = make_core(clock, routes=routes_for(clock, route, {}), breakers={0: east, 1: west})
    stop = Driver(core, clock, []).run()
    assert isinstance(stop.error, CircuitOpenError)
    assert core.call.region == "us-east-1"
    assert stop.error.retry_after == east.retry_after(clock.monotonic())
    assert stop.error.retry_after != west.retry_after(clock.monotonic())


def test_each_retry_is_announced_with_its_number_delay_outcome_and_cost(clock) -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.0, min_retries_per_second=1.0, ttl=10.0))
    driver = Driver(make_core(clock, budget=budget), clock, [throttle(), server_error(), OK])
    assert driver.run().error is None
    retries = [e for e in driver.events if isinstance(e, rc_hooks.RetryScheduled)]
    assert [(e.attempt, e.outcome, e.budget_cost) for e in retries] == [
        (2, "throttled", budget.options.throttle_retry_cost), (3, "server-error", 1.0),
    ]
    assert [e.delay for e in retries] == driver.sleeps


def test_when_every_region_failed_the_next_round_starts_home_after_a_backoff(clock) -> None:
    routes = routes_for(clock, route, {})
    driver = Driver(make_core(clock, routes=routes), clock, [not_sent(), not_sent(), OK])
    assert driver.run().error is None
    assert [send.leg.route.region for send in driver.sent] == ["us-east-1", "us-west-2", "us-east-1"]
    assert driver.sleeps[0] == 0.0 and driver.sleeps[1] > 0.0  # at once, then backed off
    moves = [(e.region, e.to_region, e.reason) for e in driver.events if isinstance(e, rc_hooks.FailedOver)]
    assert moves == [
        ("us-east-1", "us-west-2", "connection-failed (EndpointConnectionError) in us-east-1"),
        ("us-west-2", "us-east-1", "connection-failed (EndpointConnectionError) in us-west-2"),
    ]


def test_a_wait_strategy_sees_one_retry_state_across_the_call_as_tenacity_keeps_it(clock) -> None:
    seen: list[tuple[int, float]] = []
    since: list[float | None] = []

    def wait(state: Any) -> float:
        seen.append((state.attempt_number, state.idle_for))
        since.append(state.seconds_since_start)
        return 0.25

    core = make_core(clock, max_attempts=4)
    core._wait = wait
    driver = Driver(core, clock, [server_error(), server_error(), server_error()])
    driver.run()
    assert seen == [(1, 0.0), (2, 0.25), (3, 0.5)]  # idle time adds up, as in tenacity
    assert driver.sleeps == [0.25, 0.25, 0.25]
    # Time since the call started, on the policy's clock (answers took 0 s here).
    assert since == [pytest.approx(0.0), pytest.approx(0.25), pytest.approx(0.5)]


def test_a_hedge_a_refusing_breaker_stops_is_counted_refused_not_fired(clock) -> None:
    west = probing_breaker(clock)
    core = make_core(
        clock, routes=routes_for(clock, route, {}), breakers={1: west},
        hedge=HedgeState(Hedge(delay=0.05)),
    )
    assert isinstance(core.begin(clock.monotonic()), Send)
    assert core.hedge_due(clock.monotonic()) is None
    assert core.call.hedge is not None
    snapshot = core.call.hedge.snapshot()
    assert (snapshot.fired, snapshot.refused) == (0, 1) and core.call.attempts == 1


def test_a_hedge_costs_one_token_and_one_the_budget_refuses_hands_back_its_probe(clock) -> None:
    west = opened_breaker(clock)
    clock.advance(west.retry_after(clock.monotonic()) or 0.0)  # its break is over: a hedge would probe it
    # A reserve of exactly one token: one hedge, not two.
    budget = RetryBudgetState(RetryBudget(ratio=0.0, min_retries_per_second=0.1, ttl=10.0))
    first = make_core(
        clock, routes=routes_for(clock, route, {}), breakers={1: west}, budget=budget,
        hedge=HedgeState(Hedge(delay=0.05)), max_attempts=3,
    )
    assert isinstance(first.begin(clock.monotonic()), Send)
    hedge = first.hedge_due(clock.monotonic())
    assert isinstance(hedge, Send) and hedge.leg.admission is Admission.PROBE
    first.abandon(hedge.leg, clock.monotonic(), clock.monotonic())  # its probe slot back
    second = make_core(
        clock, routes=routes_for(clock, route, {}), breakers={1: west}, budget=budget,
        hedge=HedgeState(Hedge(delay=0.05)), max_attempts=3,
    )
    assert isinstance(second.begin(clock.monotonic()), Send)
    assert second.hedge_due(clock.monotonic()) is None  # no token left
    # The probe slot the refused hedge took was handed back: another may probe.
    assert west.admit(clock.monotonic())[0] is Admission.PROBE


def test_a_success_after_one_retry_says_so_in_its_metadata(clock) -> None:
    stop = Driver(make_core(clock), clock, [server_error(), OK]).run()
    assert stop.result["ResponseMetadata"]["RetryAttempts"] == 1
    assert "MaxAttemptsReached" not in stop.result["ResponseMetadata"]


def test_only_the_services_errors_are_annotated_not_ours_nor_a_cancellation(clock) -> None:
    import asyncio

    refused = Driver(make_core(clock, breakers={0: opened_breaker(clock)}), clock, []).run()
    assert isinstance(refused.error, CircuitOpenError)
    assert not hasattr(refused.error, "__notes__")  # its message says it all
    core = make_core(clock)
    assert isinstance(core.begin(clock.monotonic()), Send)
    cancelled = asyncio.CancelledError()
    core.cancelled(clock.monotonic(), cancelled)
    assert not hasattr(cancelled, "resilience") and not hasattr(cancelled, "__notes__")
    failed = Driver(make_core(clock, max_attempts=1), clock, [server_error()]).run()
    assert stop_details(failed.error) is not None and failed.error.__notes__


def test_the_routers_probe_of_the_primary_is_let_through_its_open_breaker(clock) -> None:
    """Failback is timed by the router: its probe call may half-open the
    primary's breaker before the break (grown during the outage) is over."""
    router = RegionRouter(REGIONS, Failover(switch_after=1, stick_for=5.0, probe_interval=1.0),
                          now=clock.monotonic())
    router.record(clock.monotonic(), router.start(clock.monotonic(), frozenset())[0], 0, True,
                  "server-error (InternalServerError)", frozenset())
    assert router.region == "us-west-2"
    east = opened_breaker(clock, break_duration=60.0, max_break_duration=120.0)
    clock.advance(5.0)  # the stay is over, the break is not
    assert east.retry_after(clock.monotonic()) is not None
    start, _ = router.start(clock.monotonic(), frozenset({0}))
    assert start.probe and start.index == 0
    routes = CallRoutes(router, start, route, lambda index: index == 0)
    core = make_core(clock, routes=routes, breakers={0: east})
    send = core.begin(clock.monotonic())
    assert isinstance(send, Send) and send.leg.route.region == "us-east-1"
    assert send.leg.admission is Admission.PROBE


def test_a_region_switch_at_the_start_of_a_call_is_reported_by_it(clock) -> None:
    router = RegionRouter(REGIONS, Failover(), now=clock.monotonic())
    start, switch = router.start(clock.monotonic(), frozenset({0}))  # home's breaker is open
    assert switch is not None and start.index == 1
    routes = CallRoutes(router, start, route, lambda index: index == 0, switch)
    driver = Driver(make_core(clock, routes=routes), clock, [OK])
    assert driver.run().error is None
    [switched] = [e for e in driver.events if isinstance(e, rc_hooks.RegionSwitched)]
    assert (switched.region, switched.before, switched.after) == ("us-east-1", "us-east-1", "us-west-2")
    assert [send.leg.route.region for send in driver.sent] == ["us-west-2"]


def test_a_first_attempt_paced_by_the_rate_limiter_keeps_its_hedge(clock) -> None:
    limiter = RateLimiterState(RateLimiter())
    now = clock.monotonic()
    for i in range(10):  # answers at 10 a second, then a throttle: pacing from here
        limiter.record(now - 1.0 + i * 0.1, throttled=False, accepted=True)
    limiter.record(now, throttled=True, accepted=False)
    assert limiter.reserve(now, now) == 0.0  # another call takes the free slot
    core = make_core(clock, hedge=HedgeState(Hedge(delay=0.05)), limiter=limiter)
    wait = core.begin(now)
    assert isinstance(wait, Sleep) and wait.seconds > 0
    clock.sleep(wait.seconds)
    first = core.slept(clock.monotonic())
    assert isinstance(first, Send) and first.leg.attempt == 1 and first.hedge_after == 0.05


class RecordingLimiter(RateLimiterState):
    """A rate limiter that also keeps what each answer was judged to be."""

    def __init__(self) -> None:
        super().__init__(RateLimiter())
        self.answers: list[tuple[bool, bool]] = []

    def record(self, now: float, *, throttled: bool, accepted: bool) -> None:
        self.answers.append((throttled, accepted))
        super().record(now, throttled=throttled, accepted=accepted)


def test_the_limiter_hears_only_answers_the_service_accepted_as_accepted(clock, monkeypatch) -> None:
    """Its decrease is floored at the rate the service accepted: a 500 or a
    throttle counted as accepted would hold the rate up while the service
    says slower."""
    monkeypatch.setattr(RateLimiterState, "engaged", True)
    limiter = RecordingLimiter()
    done = Driver(make_core(clock, limiter=limiter, max_attempts=4), clock,
                  [throttle(), server_error(), OK]).run()
    assert done.error is None
    assert limiter.answers == [(True, False), (False, False), (False, True)]
