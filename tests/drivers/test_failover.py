"""Regional failover and hedged reads in the call pipeline: scripted answers
per region, on a fake clock; no network.

The scripts hang on the session's ``before-send`` event, which botocore
copies into every client the session makes, so the fallback clients the
runtime builds lazily from the same session answer from them too.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

import resilient_cloud as rc
from resilient_cloud._breaker import BreakerState
from resilient_cloud._hedging import HedgeState
from resilient_cloud.hooks import (
    AttemptEnded,
    CallEnded,
    CallRejected,
    FailedOver,
    HedgeEnded,
    HedgeFired,
    RegionSwitched,
    RetryScheduled,
)
from resilient_cloud.testing import FakeClock, Reply, ScriptedResponses

from ..apis import Clients
from ..recording import Events
from .replies import DDB_500, DDB_EMPTY, DDB_ITEM, DDB_THROTTLE, DDB_VALIDATION

EAST, WEST, EU = "us-east-1", "us-west-2", "eu-west-1"
KEY = {"pk": {"S": "1"}}
EAST_URL = "https://dynamodb.us-east-1.amazonaws.com/"
SERVER_ERROR = "server-error (InternalServerError)"

#: A script item: an answer, an exception raised as the transport would, or
#: a function of the request returning one of those (to act mid-request).
Item = Reply | BaseException | Callable[[Any], "Reply | BaseException"]


class RegionScripts:
    """Scripted answers for each region, on a session's ``before-send``."""

    def __init__(self) -> None:
        self._scripts: dict[str, deque[Item]] = {}
        self._then: dict[str, Item] = {}
        self._lock = threading.Lock()
        #: (region, operation) of every request answered, in order.
        self.sent: list[tuple[str, str]] = []
        #: The botocore ``AWSPreparedRequest`` objects answered, in order.
        self.requests: list[Any] = []
        #: Custom endpoints' host names and their regions.
        self.hosts: dict[str, str] = {}

    def install(self, session: Any, asynchronous: bool = False) -> None:
        self._asynchronous = asynchronous
        session.register("before-send", self._answer)

    def script(self, region: str, items: Iterable[Item] = (), *, then: Item | None = None) -> None:
        """Answer ``region``'s next requests with ``items``, then ``then``."""
        self._scripts[region] = deque(items)
        if then is not None:
            self._then[region] = then

    def regions(self) -> list[str]:
        return [region for region, _ in self.sent]

    def _answer(self, request: Any, event_name: str = "", **kwargs: Any) -> AWSResponse:
        host = urlsplit(request.url).hostname or ""
        region = self.hosts.get(host) or host.split(".")[1]  # dynamodb.REGION.amazonaws.com
        with self._lock:
            self.sent.append((region, event_name.rsplit(".", 1)[-1]))
            self.requests.append(request)
            script = self._scripts.get(region)
            item = script.popleft() if script else self._then.get(region, DDB_ITEM)
        if callable(item) and not isinstance(item, BaseException):
            item = item(request)  # outside the lock: it may make a call
        if isinstance(item, BaseException):
            raise item
        return ScriptedResponses.response(self._asynchronous, request.url, item)


@pytest.fixture
def scripts() -> RegionScripts:
    return RegionScripts()


@pytest.fixture
def hooks() -> Events:
    return Events()


@pytest.fixture
def make_client(
    clock: FakeClock, hooks: Events, scripts: RegionScripts, clients: Clients
) -> Callable[..., Any]:
    """``make_client(fallback_regions=(WEST,), client_args=None, **policy_fields)``:
    a DynamoDB client in us-east-1, made by an ``rc.Session`` (``rc.aio.Session``
    for the async API) with ``client_args`` passed to ``session.client``
    (``create_client``), whose requests (in every region) the scripts answer."""

    def make(
        fallback_regions: Iterable[str] = (WEST,), client_args: Mapping[str, Any] | None = None,
        **policy_fields: Any,
    ) -> Any:
        policy_fields.setdefault("clock", clock)
        policy_fields.setdefault("random", random.Random(7))
        policy_fields.setdefault("hooks", (hooks,))
        session = clients.session(region_name=EAST, policy=rc.Policy(**policy_fields))
        botocore_session = session.aio_session if clients.is_async else session._session
        scripts.install(botocore_session, asynchronous=clients.is_async)
        return session.client("dynamodb", fallback_regions=fallback_regions, **(client_args or {}))

    return make


def get(client: Any) -> Any:
    return client.get_item(TableName="t", Key=KEY)


def put(client: Any) -> Any:
    return client.put_item(TableName="t", Item=KEY)


def health_of(region: str) -> rc.EndpointHealth:
    [found] = [h for h in rc.health() if h.endpoint.region == region]
    return found


def advance(clock: FakeClock, seconds: float, then: Item) -> Callable[[Any], Item]:
    """A script item: the request takes ``seconds``, then ``then`` answers."""

    def answer(request: Any) -> Item:
        clock.advance(seconds)
        return then

    return answer


# -- a read moves at once after a sick failure --------------------------------


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (DDB_500, f"{SERVER_ERROR} in us-east-1"),
        (EndpointConnectionError(endpoint_url=EAST_URL),
         "connection-failed (EndpointConnectionError) in us-east-1"),
        (ReadTimeoutError(endpoint_url=EAST_URL), "timeout (ReadTimeoutError) in us-east-1"),
        (ConnectionClosedError(endpoint_url=EAST_URL),
         "connection-closed (ConnectionClosedError) in us-east-1"),
    ],
    ids=["500", "connection-refused", "read-timeout", "connection-closed"],
)
def test_a_failed_read_goes_to_the_fallback_region_at_once(
    make_client, scripts, clock, hooks, failure, reason
) -> None:
    client = make_client()
    scripts.script(EAST, [failure])
    result = get(client)
    assert result["Item"] == KEY
    assert result["ResponseMetadata"]["RetryAttempts"] == 1
    assert scripts.sent == [(EAST, "GetItem"), (WEST, "GetItem")]
    assert not any(clock.sleeps)  # no backoff before another region
    assert hooks.of(FailedOver) == [
        FailedOver(service="dynamodb", operation="GetItem", region=EAST, to_region=WEST,
                   reason=reason)
    ]
    [retry] = hooks.of(RetryScheduled)
    assert retry.delay == 0.0 and retry.region == WEST
    [ended] = hooks.of(CallEnded)
    assert ended.succeeded and ended.attempts == 2 and ended.region == WEST


def test_the_next_call_starts_in_the_primary_again(make_client, scripts) -> None:
    client = make_client()
    scripts.script(EAST, [DDB_500])
    get(client)
    get(client)
    assert scripts.regions() == [EAST, WEST, EAST]


def test_a_throttled_read_stays_in_its_region_and_backs_off(make_client, scripts, clock, hooks) -> None:
    client = make_client(rate_limiter=None)  # its pacing would add sleeps of its own
    for _ in range(5):  # more than switch_after: throttling is not sickness
        scripts.script(EAST, [DDB_THROTTLE])
        assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST] * 10
    assert len(clock.sleeps) == 5 and all(delay > 0 for delay in clock.sleeps)
    assert hooks.of(FailedOver) == [] and hooks.of(RegionSwitched) == []
    assert health_of(EAST).routing.region == EAST
    assert [h.endpoint.region for h in rc.health()] == [EAST]  # no fallback client used


def test_a_client_error_neither_moves_nor_retries(make_client, scripts, hooks) -> None:
    client = make_client()
    scripts.script(EAST, [DDB_VALIDATION] * 3)
    for _ in range(3):
        with pytest.raises(ClientError):
            get(client)
    assert scripts.regions() == [EAST] * 3
    assert hooks.of(FailedOver) == [] and hooks.of(RegionSwitched) == []


def test_every_region_tried_then_a_new_round_after_backoff(make_client, scripts, clock, hooks) -> None:
    client = make_client(retry=rc.Retry(max_attempts=4))
    scripts.script(EAST, [DDB_500, DDB_500])
    scripts.script(WEST, [DDB_500])
    assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST, WEST, EAST, WEST]
    assert [delay > 0 for delay in clock.sleeps] == [False, True, False]
    moves = [(e.region, e.to_region) for e in hooks.of(FailedOver)]
    assert moves == [(EAST, WEST), (WEST, EAST), (EAST, WEST)]


def test_three_regions_are_tried_in_order(make_client, scripts, clock) -> None:
    client = make_client(fallback_regions=(WEST, EU))
    scripts.script(EAST, [DDB_500])
    scripts.script(WEST, [EndpointConnectionError(endpoint_url="https://x/")])
    assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST, WEST, EU]
    assert not any(clock.sleeps)


def test_without_failover_options_calls_stay_home(make_client, scripts) -> None:
    client = make_client(failover=None)
    scripts.script(EAST, [DDB_500])
    assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST, EAST]
    assert health_of(EAST).routing is None


# -- writes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "failover",
    [rc.Failover(), rc.Failover(writes=True), rc.Failover(writes={"PutItem"})],
    ids=["default", "all-writes", "put-item"],
)
def test_an_unsafe_write_after_a_500_is_never_sent_to_another_region(
    make_client, scripts, hooks, failover
) -> None:
    client = make_client(failover=failover)
    scripts.script(EAST, [DDB_500], then=DDB_EMPTY)
    with pytest.raises(ClientError) as caught:
        put(client)
    assert scripts.sent == [(EAST, "PutItem")]
    assert rc.stop_details(caught.value).reason is rc.StopReason.UNSAFE_TO_RETRY
    assert hooks.of(FailedOver) == []


@pytest.mark.parametrize(
    "failover", [rc.Failover(writes=True), rc.Failover(writes={"PutItem"})],
    ids=["all-writes", "put-item"],
)
def test_a_write_retried_after_an_ambiguous_failure_stays_where_it_may_have_been_applied(
    make_client, scripts, hooks, failover
) -> None:
    client = make_client(failover=failover, retry=rc.Retry(retry_unsafe=True))
    scripts.script(EAST, [DDB_500, ReadTimeoutError(endpoint_url=EAST_URL)], then=DDB_EMPTY)
    put(client)
    assert scripts.regions() == [EAST, EAST, EAST]
    assert hooks.of(FailedOver) == []


def test_an_idempotent_write_after_a_500_is_retried_in_its_region(make_client, scripts) -> None:
    client = make_client(
        failover=rc.Failover(writes={"PutItem"}),
        operation_safety={"dynamodb.PutItem": rc.Safety.IDEMPOTENT},
    )
    scripts.script(EAST, [DDB_500], then=DDB_EMPTY)
    put(client)
    assert scripts.regions() == [EAST, EAST]


@pytest.mark.parametrize("writes", [{"PutItem"}, {"dynamodb.PutItem"}, True])
def test_an_opted_in_write_moves_when_its_request_never_left(
    make_client, scripts, clock, hooks, writes
) -> None:
    client = make_client(failover=rc.Failover(writes=writes))
    scripts.script(EAST, [EndpointConnectionError(endpoint_url=EAST_URL)])
    scripts.script(WEST, [], then=DDB_EMPTY)
    put(client)
    assert scripts.sent == [(EAST, "PutItem"), (WEST, "PutItem")]
    assert not any(clock.sleeps)
    [moved] = hooks.of(FailedOver)
    assert (moved.region, moved.to_region) == (EAST, WEST)
    assert moved.reason == "connection-failed (EndpointConnectionError) in us-east-1"


@pytest.mark.parametrize(
    "failover", [rc.Failover(), rc.Failover(writes={"DeleteItem", "s3.PutItem"})],
    ids=["default", "other-operations"],
)
def test_a_write_not_opted_in_never_moves_even_when_its_request_never_left(
    make_client, scripts, clock, hooks, failover
) -> None:
    client = make_client(failover=failover)
    scripts.script(EAST, [EndpointConnectionError(endpoint_url=EAST_URL)] * 2, then=DDB_EMPTY)
    put(client)
    assert scripts.regions() == [EAST, EAST, EAST]
    assert all(delay > 0 for delay in clock.sleeps)  # ordinary retries, with backoff
    assert hooks.of(FailedOver) == []


def test_a_write_not_opted_in_ignores_the_sticky_switch(make_client, scripts, hooks) -> None:
    client = make_client()
    scripts.script(EAST, [DDB_500] * 3, then=DDB_EMPTY)
    for _ in range(3):
        get(client)
    assert len(hooks.of(RegionSwitched)) == 1
    put(client)  # reads now start in us-west-2; this write may not
    get(client)
    assert scripts.sent[-2:] == [(EAST, "PutItem"), (WEST, "GetItem")]


def test_an_opted_in_write_follows_the_sticky_switch(make_client, scripts) -> None:
    client = make_client(failover=rc.Failover(writes={"PutItem"}))
    scripts.script(EAST, [DDB_500] * 3)
    for _ in range(3):
        get(client)
    put(client)
    assert scripts.sent[-1] == (WEST, "PutItem")


def test_an_opted_in_write_is_never_the_probe_of_the_primary(make_client, scripts, clock) -> None:
    """A write probing a still-failing primary could not fail over again (it
    may have been applied): the probe is left to the next read."""
    client = make_client(failover=rc.Failover(writes={"PutItem"}, stick_for=5.0))
    switch_to_west(client, scripts)
    clock.advance(5.0)  # a probe is due
    put(client)
    get(client)
    assert scripts.sent[-2:] == [(WEST, "PutItem"), (EAST, "GetItem")]


# -- budget, attempts and deadline ----------------------------------------------


def test_a_failover_attempt_spends_a_retry_token(make_client, scripts) -> None:
    client = make_client()
    get(client)
    before = health_of(EAST).budget_balance
    assert before == pytest.approx(10.0 + 0.2)  # reserve + one first attempt's deposit
    scripts.script(EAST, [DDB_500])
    get(client)
    assert health_of(EAST).budget_balance == pytest.approx(before + 0.2 - 1.0)
    # The call's budget is its starting region's: the fallback's is untouched.
    assert health_of(WEST).budget_balance is None


def test_an_empty_budget_stops_the_failover(make_client, scripts, hooks) -> None:
    client = make_client(budget=rc.RetryBudget(ratio=0.0, min_retries_per_second=0.0))
    scripts.script(EAST, [DDB_500])
    with pytest.raises(ClientError) as caught:
        get(client)
    assert scripts.regions() == [EAST]
    details = rc.stop_details(caught.value)
    assert details.reason is rc.StopReason.BUDGET_EXHAUSTED
    assert details.region == EAST  # where its one request went
    assert hooks.of(FailedOver) == []
    assert hooks.of(CallEnded)[-1].region == EAST


def test_max_attempts_counts_attempts_in_every_region(make_client, scripts) -> None:
    client = make_client(fallback_regions=(WEST, EU), retry=rc.Retry(max_attempts=2))
    scripts.script(EAST, [], then=DDB_500)
    scripts.script(WEST, [], then=DDB_500)
    with pytest.raises(ClientError) as caught:
        get(client)
    assert scripts.regions() == [EAST, WEST]
    details = rc.stop_details(caught.value)
    assert details.reason is rc.StopReason.ATTEMPTS_EXHAUSTED
    assert details.attempts == 2 and details.region == WEST
    assert "us-west-2" in str(caught.value.__notes__)


def test_one_attempt_means_no_failover(make_client, scripts) -> None:
    client = make_client(retry=rc.Retry(max_attempts=1))
    scripts.script(EAST, [DDB_500])
    with pytest.raises(ClientError):
        get(client)
    assert scripts.regions() == [EAST]


def test_no_failover_attempt_starts_after_the_deadline(make_client, scripts, clock, hooks) -> None:
    client = make_client(deadline=1.0)
    scripts.script(EAST, [advance(clock, 1.5, DDB_500)])
    with pytest.raises(ClientError) as caught:
        get(client)
    assert scripts.regions() == [EAST]
    details = rc.stop_details(caught.value)
    assert details.reason is rc.StopReason.DEADLINE
    assert details.region == EAST
    assert hooks.of(FailedOver) == []
    assert hooks.of(CallEnded)[-1].region == EAST


def test_a_failover_within_the_deadline_goes(make_client, scripts, clock) -> None:
    client = make_client(deadline=1.0)
    scripts.script(EAST, [advance(clock, 0.9, DDB_500)])
    assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST, WEST]


# -- open breakers ----------------------------------------------------------------


def test_an_open_primary_breaker_sends_calls_to_the_fallback_without_an_attempt(
    make_client, scripts, hooks
) -> None:
    client = make_client(
        retry=rc.Retry(max_attempts=1),  # a skipped region must not spend it
        breaker=rc.CircuitBreaker(consecutive_failures=1, refusals_before_probe=0),
    )
    scripts.script(EAST, [DDB_500])
    with pytest.raises(ClientError):
        get(client)  # opens the breaker of us-east-1
    assert health_of(EAST).breaker.state is BreakerState.OPEN
    balance = health_of(EAST).budget_balance
    result = get(client)
    assert result["Item"] == KEY and result["ResponseMetadata"]["RetryAttempts"] == 0
    assert scripts.regions() == [EAST, WEST]
    [switched] = hooks.of(RegionSwitched)
    assert (switched.region, switched.before, switched.after) == (EAST, EAST, WEST)
    assert switched.reason == "the breaker of us-east-1 is open"
    assert hooks.of(CallEnded)[-1].attempts == 1
    # The call started in us-west-2: its budget got the deposit, and nothing
    # was withdrawn anywhere for the region skipped.
    assert health_of(EAST).budget_balance == pytest.approx(balance)
    assert health_of(WEST).budget_balance == pytest.approx(10.0 + 0.2)


def test_a_failover_skips_a_region_whose_breaker_is_open(make_client, scripts, clock) -> None:
    client = make_client(
        fallback_regions=(WEST, EU),
        breaker=rc.CircuitBreaker(consecutive_failures=2, refusals_before_probe=0),
        failover=rc.Failover(switch_after=10),
    )
    scripts.script(EAST, [DDB_500, DDB_ITEM, DDB_500])
    scripts.script(WEST, [DDB_500, DDB_500])
    for _ in range(3):
        get(client)  # us-west-2 fails twice in a row; us-east-1 does not
    assert scripts.regions() == [EAST, WEST, EU, EAST, EAST, WEST, EU]
    assert health_of(WEST).breaker.state is BreakerState.OPEN
    assert health_of(EAST).breaker.state is BreakerState.CLOSED
    scripts.script(EAST, [DDB_500])
    assert get(client)["ResponseMetadata"]["RetryAttempts"] == 1
    assert scripts.regions()[-2:] == [EAST, EU]  # nothing sent to us-west-2
    assert not any(clock.sleeps)


@pytest.mark.sync_only("makes a second call from inside the first call's request")
def test_a_breaker_refusing_the_attempt_moves_it_without_counting(
    make_client, scripts, clock, hooks
) -> None:
    """A half-open breaker whose one probe is in flight refuses a second
    call: that call moves to the fallback before sending anything."""
    client = make_client(
        retry=rc.Retry(max_attempts=1),
        breaker=rc.CircuitBreaker(consecutive_failures=1, break_duration=5.0, refusals_before_probe=0),
        failover=rc.Failover(switch_after=10),
    )
    scripts.script(EAST, [DDB_500])
    with pytest.raises(ClientError):
        get(client)  # opens the breaker of us-east-1
    clock.advance(5.0)  # break over: the next attempt there is its probe
    nested: list[Any] = []

    def probe_in_flight(request: Any) -> Reply:
        nested.append(get(client))  # another call while the probe is out
        return DDB_ITEM

    scripts.script(EAST, [probe_in_flight])
    assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST, EAST, WEST]
    [other] = nested
    assert other["Item"] == KEY and other["ResponseMetadata"]["RetryAttempts"] == 0
    [moved] = hooks.of(FailedOver)
    assert (moved.region, moved.to_region) == (EAST, WEST)
    assert moved.reason == "the breaker of dynamodb.us-east-1 (dynamodb.us-east-1.amazonaws.com) is open"
    assert health_of(EAST).breaker.state is BreakerState.CLOSED  # the probe succeeded


# -- sticky switch, probe and failback ---------------------------------------------


def switch_to_west(client: Any, scripts: RegionScripts) -> None:
    scripts.script(EAST, [DDB_500] * 3)
    for _ in range(3):
        assert get(client)["Item"] == KEY


def test_calls_start_in_the_fallback_after_switch_after_failures(make_client, scripts, hooks) -> None:
    client = make_client(failover=rc.Failover(switch_after=3))
    scripts.script(EAST, [DDB_500] * 2)
    get(client)
    get(client)
    assert hooks.of(RegionSwitched) == []  # two failures in a row: not yet
    assert health_of(EAST).routing.region == EAST
    scripts.script(EAST, [DDB_500])
    get(client)
    assert hooks.of(RegionSwitched) == [
        RegionSwitched(
            service="dynamodb", operation="GetItem", region=EAST, before=EAST, after=WEST,
            reason=f"3 failures in a row in us-east-1: {SERVER_ERROR}",
        )
    ]
    for _ in range(5):
        get(client)
    assert scripts.regions() == [EAST, WEST] * 3 + [WEST] * 5


def test_health_shows_where_calls_start_and_why(make_client, scripts, clock) -> None:
    client = make_client()
    get(client)
    routing = health_of(EAST).routing
    assert routing is not None
    assert (routing.region, routing.reason, routing.switches) == (EAST, "the client's own region", 0)
    switch_to_west(client, scripts)
    clock.advance(2.0)
    routing = health_of(EAST).routing
    assert routing.regions == (EAST, WEST)
    assert routing.region == WEST
    assert routing.reason == f"3 failures in a row in us-east-1: {SERVER_ERROR}"
    assert routing.since == 2.0 and routing.switches == 1
    assert routing.probe_after == pytest.approx(3.0)
    assert health_of(WEST).routing is None  # routing belongs to the client's own region
    assert client.meta.region_name == EAST  # the client itself is unchanged
    assert rc.health()[0].as_dict()["routing"]["region"] == WEST


def test_a_successful_probe_brings_calls_back(make_client, scripts, clock, hooks) -> None:
    client = make_client(failover=rc.Failover(stick_for=5.0))
    switch_to_west(client, scripts)
    clock.advance(4.9)
    get(client)  # still in the stick window
    clock.advance(0.1)
    get(client)  # the probe
    get(client)
    assert scripts.regions()[-3:] == [WEST, EAST, EAST]
    back = hooks.of(RegionSwitched)[-1]
    assert (back.before, back.after) == (WEST, EAST)
    assert back.reason == "a probe of us-east-1 succeeded"
    routing = health_of(EAST).routing
    assert (routing.region, routing.reason, routing.switches) == (EAST, back.reason, 2)


def test_a_failed_probe_fails_over_at_once_and_calls_stay_on_the_fallback(
    make_client, scripts, clock, hooks
) -> None:
    client = make_client(failover=rc.Failover(stick_for=5.0, probe_interval=1.0))
    switch_to_west(client, scripts)
    clock.advance(5.0)
    scripts.script(EAST, [DDB_500])
    assert get(client)["Item"] == KEY  # the probe fails, the call does not
    get(client)
    assert scripts.regions()[-3:] == [EAST, WEST, WEST]
    assert not any(clock.sleeps)
    assert len(hooks.of(RegionSwitched)) == 1
    clock.advance(1.0)
    get(client)  # the next probe, one interval later
    assert scripts.regions()[-1] == EAST
    assert health_of(EAST).routing.region == EAST


def test_a_primary_that_fails_right_after_a_return_keeps_calls_away_longer(
    make_client, scripts, clock
) -> None:
    client = make_client(failover=rc.Failover(stick_for=5.0, max_stick_for=60.0))
    switch_to_west(client, scripts)
    clock.advance(5.0)
    get(client)  # probe succeeds: back home
    switch_to_west(client, scripts)  # ... and it fails again at once
    assert health_of(EAST).routing.probe_after == pytest.approx(10.0)
    clock.advance(9.9)
    get(client)
    assert scripts.regions()[-1] == WEST


# -- hedged reads -----------------------------------------------------------------


def hedged_read_of_a_slow_primary(make_client: Any, scripts: RegionScripts, hooks: Events) -> Any:
    """A hedged read (Hedge(delay=0.001)) whose us-east-1 request answers only
    after the call returned; waits until both legs ended, and returns the answer."""
    release = threading.Event()
    both_ended = threading.Event()

    def slow(request: Any) -> Reply:
        release.wait(10.0)  # answers only after the call returned
        return DDB_ITEM

    def on_event(event: Any) -> None:
        hooks(event)
        if len(hooks.of(AttemptEnded)) == 2:
            both_ended.set()

    client = make_client(hedge=rc.Hedge(delay=0.001), hooks=(on_event,))
    scripts.script(EAST, [slow])
    result = get(client)
    release.set()
    assert both_ended.wait(10.0)
    return result


@pytest.mark.sync_only("holds requests open on threading events; tests/aio hedges with tasks")
def test_a_slow_read_is_hedged_to_the_fallback_and_the_hedge_wins(make_client, scripts, hooks) -> None:
    result = hedged_read_of_a_slow_primary(make_client, scripts, hooks)
    assert result["Item"] == KEY
    assert sorted(scripts.regions()) == [EAST, WEST]
    [fired] = hooks.of(HedgeFired)
    assert (fired.region, fired.to_region, fired.delay) == (EAST, WEST, 0.001)
    assert hooks.of(HedgeEnded) == [
        HedgeEnded(service="dynamodb", operation="GetItem", region=EAST, hedge_won=True)
    ]
    hedging = health_of(EAST).hedging
    assert (hedging.fired, hedging.won, hedging.refused) == (1, 1, 0)


def test_a_fast_read_is_not_hedged(make_client, scripts, hooks) -> None:
    client = make_client(hedge=rc.Hedge(delay=10.0))
    for _ in range(3):
        assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST] * 3
    assert hooks.of(HedgeFired) == []
    assert health_of(EAST).hedging.fired == 0


@pytest.mark.sync_only("holds requests open on threading events; tests/aio hedges with tasks")
def test_writes_are_never_hedged(make_client, scripts, hooks) -> None:
    # A hedged first attempt runs in the hedge pool's threads; a write runs
    # in the caller's, so it cannot be raced.
    client = make_client(hedge=rc.Hedge(delay=10.0), failover=rc.Failover(writes=True))
    threads: list[threading.Thread] = []

    def note_thread(request: Any) -> Reply:
        threads.append(threading.current_thread())
        return DDB_EMPTY

    scripts.script(EAST, [note_thread, note_thread])
    put(client)
    get(client)
    assert scripts.regions() == [EAST, EAST]
    assert threads[0] is threading.current_thread()
    assert threads[1] is not threading.current_thread()  # the read was hedgeable
    assert hooks.of(HedgeFired) == []


@pytest.mark.sync_only("makes calls from inside another call's request")
def test_a_call_refused_by_every_region_fails_fast_instead_of_cycling(
    make_client, scripts, clock, hooks
) -> None:
    """Two regions whose half-open breakers each have their one probe in
    flight: both refuse a third call, which must end with CircuitOpenError
    rather than bounce between them for ever."""
    client = make_client(
        retry=rc.Retry(max_attempts=2),
        breaker=rc.CircuitBreaker(consecutive_failures=1, break_duration=5.0, refusals_before_probe=0),
        failover=rc.Failover(switch_after=10),
    )
    scripts.script(EAST, [DDB_500])
    scripts.script(WEST, [DDB_500])
    with pytest.raises(ClientError):
        get(client)  # opens both breakers
    clock.advance(5.0)  # both breaks over: the next attempt in each is its probe
    refused: list[BaseException] = []

    def third_call(request: Any) -> Reply:
        with pytest.raises(rc.CircuitOpenError) as caught:
            get(client)
        refused.append(caught.value)
        return DDB_ITEM

    def second_call(request: Any) -> Reply:
        assert get(client)["Item"] == KEY  # refused in us-east-1: probes us-west-2
        return DDB_ITEM

    scripts.script(EAST, [second_call])
    scripts.script(WEST, [third_call])
    assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST, WEST, EAST, WEST]
    [error] = refused
    assert error.last_failure == SERVER_ERROR
    [rejected] = hooks.of(CallRejected)
    assert rejected.reason is rc.StopReason.CIRCUIT_OPEN
    assert [e.attempts for e in hooks.of(CallEnded)] == [2, 0, 1, 1]


# -- fallback clients ----------------------------------------------------------------


def signed_region(request: Any) -> str:
    # AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, ...
    return request.headers["Authorization"].decode().split("/")[2]


def test_fallback_clients_are_made_by_the_session_with_the_same_arguments(
    make_client, scripts
) -> None:
    client = make_client(client_args={"config": Config(user_agent_extra="test-marker/1")})
    get(client)
    assert [h.endpoint.region for h in rc.health()] == [EAST]  # built on first use only
    scripts.script(EAST, [DDB_500])
    get(client)
    east, _, west = scripts.requests
    assert "test-marker/1" in west.headers["User-Agent"].decode()
    assert (signed_region(east), signed_region(west)) == (EAST, WEST)
    assert [h.endpoint.region for h in rc.health()] == [EAST, WEST]


def test_endpoint_urls_give_fallback_regions_their_endpoints(make_client, scripts) -> None:
    scripts.hosts.update({"east.test": EAST, "west.test": WEST})
    client = make_client(client_args={
        "endpoint_url": "http://east.test:8000",
        "endpoint_urls": {WEST: "http://west.test:8001"},
    })
    scripts.script(EAST, [DDB_500])
    assert get(client)["Item"] == KEY
    east, west = scripts.requests
    assert urlsplit(east.url).netloc == "east.test:8000"
    assert urlsplit(west.url).netloc == "west.test:8001"
    assert signed_region(west) == WEST


@pytest.mark.parametrize(
    ("client_args", "error", "message"),
    [
        ({"endpoint_url": "http://east.test:8000"}, ValueError,
         "cannot be guessed for another region: give endpoint_urls=.* for us-west-2"),
        ({"endpoint_urls": [("us-west-2", "http://west.test")]}, TypeError,
         "endpoint_urls must be a mapping of region to URL, not list"),
        ({"endpoint_urls": {"eu-west-1": "http://eu.test"}}, ValueError,
         "'eu-west-1' is neither the client's region nor a fallback region"),
        ({"endpoint_urls": {"us-west-2": "west.test:8001"}}, ValueError,
         "the URL for 'us-west-2' must be an http\\(s\\) URL"),
    ],
    ids=["custom-endpoint", "not-a-mapping", "unknown-region", "no-scheme"],
)
def test_endpoint_urls_are_checked_when_the_client_is_made(
    make_client, client_args, error, message
) -> None:
    with pytest.raises(error, match=message):
        make_client(client_args=client_args)


@pytest.mark.parametrize(
    ("regions", "error", "message"),
    [
        ("us-west-2", TypeError, "not a string \\(did you mean \\['us-west-2'\\]\\?\\)"),
        ([EAST], ValueError, "'us-east-1' is the client's own region"),
        ([WEST, WEST], ValueError, "a region is listed twice"),
        (["us-wset-2"], ValueError, "'us-wset-2' is not a region botocore knows for dynamodb"),
        (["cn-north-1"], ValueError, "'cn-north-1' is in partition 'aws-cn', not the client's 'aws'"),
    ],
)
def test_fallback_regions_are_checked_when_the_client_is_made(
    make_client, regions, error, message
) -> None:
    with pytest.raises(error, match=message):
        make_client(fallback_regions=regions)


@pytest.fixture
def hedge_counted(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set when a hedge is counted (fired or refused)."""
    counted = threading.Event()
    count = HedgeState.count

    def counting(self: HedgeState, **kwargs: Any) -> None:
        count(self, **kwargs)
        counted.set()

    monkeypatch.setattr(HedgeState, "count", counting)
    return counted


@pytest.mark.sync_only("holds requests open on threading events; tests/aio hedges with tasks")
def test_a_hedge_the_budget_cannot_pay_for_is_refused(
    make_client, scripts, hooks, hedge_counted
) -> None:
    client = make_client(
        hedge=rc.Hedge(delay=0.001), budget=rc.RetryBudget(ratio=0.0, min_retries_per_second=0.0)
    )

    def slow(request: Any) -> Reply:
        assert hedge_counted.wait(10.0)  # answers once the hedge was decided on
        return DDB_ITEM

    scripts.script(EAST, [slow])
    assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST]
    assert hooks.of(HedgeFired) == [] and hooks.of(HedgeEnded) == []
    hedging = health_of(EAST).hedging
    assert (hedging.fired, hedging.won, hedging.refused) == (0, 0, 1)


@pytest.mark.sync_only("holds requests open on threading events; tests/aio hedges with tasks")
def test_a_hedge_the_breaker_refuses_is_counted_as_refused(
    make_client, scripts, clock, hooks, hedge_counted
) -> None:
    """Without fallback regions the hedge goes to the same endpoint, whose
    half-open breaker lets only the first attempt (its probe) through."""
    client = make_client(
        fallback_regions=(),
        hedge=rc.Hedge(delay=0.001),
        retry=rc.Retry(max_attempts=2),
        breaker=rc.CircuitBreaker(consecutive_failures=1, break_duration=5.0, refusals_before_probe=0),
    )
    scripts.script(EAST, [DDB_500])
    with pytest.raises(ClientError):
        put(client)  # opens the breaker (a write: never hedged)
    clock.advance(5.0)

    def slow(request: Any) -> Reply:
        assert hedge_counted.wait(10.0)
        return DDB_ITEM

    scripts.script(EAST, [slow])
    assert get(client)["Item"] == KEY
    assert scripts.sent == [(EAST, "PutItem"), (EAST, "GetItem")]
    assert hooks.of(HedgeFired) == []
    hedging = health_of(EAST).hedging
    assert (hedging.fired, hedging.refused) == (0, 1)


def test_a_call_allowed_one_attempt_is_never_hedged(make_client, scripts, hooks) -> None:
    """A hedge is an attempt: Retry(max_attempts=1) means one request."""
    client = make_client(hedge=rc.Hedge(delay=0.001), retry=rc.Retry(max_attempts=1))
    answered = threading.Event()

    def slow(request: Any) -> Reply:
        answered.wait(0.05)  # well past the hedge delay
        return DDB_ITEM

    scripts.script(EAST, [slow])
    assert get(client)["Item"] == KEY
    assert scripts.regions() == [EAST]
    assert hooks.of(HedgeFired) == []
    hedging = health_of(EAST).hedging
    assert (hedging.fired, hedging.refused) == (0, 0)


def test_the_probe_goes_through_an_open_primary_breaker_so_the_router_times_failback(
    make_client, scripts, clock, hooks
) -> None:
    """The primary's breaker opened (and its break grew) during the outage;
    the router's probe is its half-open probe as soon as the stay is over."""
    client = make_client(
        failover=rc.Failover(stick_for=5.0),
        breaker=rc.CircuitBreaker(consecutive_failures=3, break_duration=30.0, refusals_before_probe=0),
    )
    switch_to_west(client, scripts)  # three failures: the breaker opens too
    assert health_of(EAST).breaker.state.value == "open"
    clock.advance(5.0)  # the stay is over, the 15-30 s break is not
    get(client)  # the probe
    assert scripts.regions()[-1] == EAST
    assert health_of(EAST).breaker.state.value == "closed"
    assert health_of(EAST).routing.region == EAST
    assert hooks.of(RegionSwitched)[-1].reason == "a probe of us-east-1 succeeded"
