"""Circuit breaker and bulkhead in the call pipeline (scripted answers, fake clock)."""

from __future__ import annotations

import random
import threading
import time

import pytest
import tenacity
from botocore.exceptions import BotoCoreError, ClientError

import resilient_cloud as rc
from resilient_cloud.hooks import BreakerStateChanged, CallRejected
from resilient_cloud.testing import ScriptedResponses

from .replies import DDB_500, DDB_ITEM, DDB_VALIDATION

KEY = {"pk": {"S": "1"}}


def get(client):
    return client.get_item(TableName="t", Key=KEY)


def test_outage_opens_the_breaker_and_calls_fail_fast(make_client, events) -> None:
    client = make_client()
    script = ScriptedResponses(client, [], then=DDB_500)
    errors = []
    for _ in range(200):
        with pytest.raises((ClientError, rc.CircuitOpenError)) as caught:
            get(client)
        errors.append(caught.value)
    assert len(script) / 200 <= 1.1
    refused = [e for e in errors if isinstance(e, rc.CircuitOpenError)]
    assert len(refused) >= 180
    assert isinstance(refused[0], BotoCoreError)
    assert refused[0].last_failure == "server-error (InternalServerError)"
    assert 0.25 <= refused[0].retry_after <= 0.5  # the 0.5 s break, equal jitter
    assert "circuit breaker for dynamodb.us-east-1" in str(refused[0])
    opened = [e for e in events if isinstance(e, BreakerStateChanged)]
    assert [(e.before, e.after) for e in opened] == [("closed", "open")]
    assert sum(isinstance(e, CallRejected) and e.reason is rc.StopReason.CIRCUIT_OPEN for e in events) == len(refused)


def test_recovers_through_a_half_open_probe(make_client, clock, events) -> None:
    client = make_client()
    ScriptedResponses(client, [], then=DDB_500)
    for _ in range(30):
        with pytest.raises((ClientError, rc.CircuitOpenError)):
            get(client)
    with pytest.raises(rc.CircuitOpenError) as caught:
        get(client)
    clock.advance(caught.value.retry_after)
    script = ScriptedResponses(client, [], then=DDB_ITEM)
    assert get(client)["Item"] == KEY  # the probe
    assert get(client)["Item"] == KEY  # closed again
    assert len(script) == 2
    states = [(e.before, e.after) for e in events if isinstance(e, BreakerStateChanged)]
    assert states == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_client_errors_mean_a_healthy_endpoint(make_client) -> None:
    client = make_client()
    script = ScriptedResponses(client, [], then=DDB_VALIDATION)
    for _ in range(100):
        with pytest.raises(ClientError):
            get(client)
    assert len(script) == 100  # never refused


def test_ten_percent_transient_errors_never_open_it(make_client, events) -> None:
    client = make_client()
    rng = random.Random(11)
    script = ScriptedResponses(client, [DDB_500 if rng.random() < 0.1 else DDB_ITEM for _ in range(3000)])
    failures = 0
    for _ in range(2000):
        try:
            get(client)
        except ClientError:
            failures += 1
    assert failures / 2000 <= 0.005
    assert not any(isinstance(e, BreakerStateChanged) for e in events)
    assert len(script) > 2000


def test_breaker_opening_mid_call_ends_with_the_real_error(make_client) -> None:
    client = make_client(breaker=rc.CircuitBreaker(consecutive_failures=2))
    ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(client.exceptions.InternalServerError) as caught:
        get(client)
    details = rc.stop_details(caught.value)
    assert details.reason is rc.StopReason.CIRCUIT_OPEN and details.attempts == 2


def test_breakers_are_shared_per_endpoint(make_client) -> None:
    first, second = make_client(), make_client()
    ScriptedResponses(first, [], then=DDB_500)
    for _ in range(30):
        with pytest.raises((ClientError, rc.CircuitOpenError)):
            get(first)
    script = ScriptedResponses(second, [], then=DDB_ITEM)
    with pytest.raises(rc.CircuitOpenError):
        get(second)
    assert len(script) == 0
    other_region = make_client(region="us-west-2")
    ScriptedResponses(other_region, [], then=DDB_ITEM)
    assert get(other_region)["Item"] == KEY


class Gate:
    """Holds requests in before-send until opened (or let through one at a
    time), counting how many are held at once."""

    def __init__(self, client) -> None:
        self.entered = threading.Semaphore(0)
        self.open = threading.Event()
        self.let_one = threading.Semaphore(0)
        self._lock = threading.Lock()
        self.holding = 0
        self.peak = 0
        client.meta.events.register_first("before-send", self._hold)

    def _hold(self, **kwargs) -> None:
        with self._lock:
            self.holding += 1
            self.peak = max(self.peak, self.holding)
        self.entered.release()
        deadline = time.monotonic() + 10
        while not self.open.is_set() and time.monotonic() < deadline:
            if self.let_one.acquire(timeout=0.005):
                break
        with self._lock:
            self.holding -= 1


@pytest.mark.sync_only("requests are held open from threads; tests/aio holds them open from tasks")
def test_bulkhead_refuses_past_its_bound_and_frees_slots(make_client, events) -> None:
    client = make_client(bulkhead=rc.Bulkhead(max_concurrent=2))
    ScriptedResponses(client, [], then=DDB_ITEM)
    gate = Gate(client)
    callers = [threading.Thread(target=get, args=(client,)) for _ in range(2)]
    for caller in callers:
        caller.start()
    assert gate.entered.acquire(timeout=10) and gate.entered.acquire(timeout=10)
    assert gate.peak == 2  # both held at once
    with pytest.raises(rc.BulkheadFullError) as caught:
        get(client)
    assert caught.value.limit == 2 and isinstance(caught.value, BotoCoreError)
    assert any(isinstance(e, CallRejected) and e.reason is rc.StopReason.BULKHEAD_FULL for e in events)
    gate.open.set()
    for caller in callers:
        caller.join(10)
    assert not any(caller.is_alive() for caller in callers)
    assert get(client)["Item"] == KEY
    (health,) = rc.health()
    assert health.bulkhead.in_use == 0 and health.bulkhead.rejected == 1
    assert gate.peak == 2


@pytest.mark.sync_only("requests are held open from threads; tests/aio holds them open from tasks")
def test_queued_calls_wait_for_a_slot_and_never_pass_the_bound(make_client) -> None:
    client = make_client(bulkhead=rc.Bulkhead(max_concurrent=2, max_queue=2, max_wait=10.0))
    ScriptedResponses(client, [], then=DDB_ITEM)
    gate = Gate(client)
    answers: list[object] = []
    callers = [
        threading.Thread(target=lambda: answers.append(get(client)["Item"]), daemon=True)
        for _ in range(4)
    ]
    for caller in callers[:2]:
        caller.start()
    assert gate.entered.acquire(timeout=10) and gate.entered.acquire(timeout=10)
    for caller in callers[2:]:
        caller.start()
    deadline = time.monotonic() + 10
    while rc.health()[0].bulkhead.waiting < 2:
        assert time.monotonic() < deadline, "the two queued calls never waited"
        time.sleep(0.001)
    assert not gate.entered.acquire(timeout=0.05)  # no third request while two are in flight
    with pytest.raises(rc.BulkheadFullError):  # the queue is full: refused at once
        get(client)
    for done in range(1, 3):
        gate.let_one.release()  # one call ends: one queued call takes its slot
        assert gate.entered.acquire(timeout=10), f"queued call {done} never got the freed slot"
        assert rc.health()[0].bulkhead.in_use == 2
    gate.open.set()
    for caller in callers:
        caller.join(10)
    assert not any(caller.is_alive() for caller in callers)
    assert answers == [KEY] * 4 and gate.peak == 2
    bulkhead = rc.health()[0].bulkhead
    assert (bulkhead.in_use, bulkhead.waiting, bulkhead.rejected) == (0, 0, 1)


@pytest.mark.parametrize(
    "failure", [KeyboardInterrupt(), DDB_500, DDB_VALIDATION], ids=["interrupt", "500", "400"]
)
def test_bulkhead_slot_is_released_on_every_path(make_client, failure) -> None:
    client = make_client(bulkhead=rc.Bulkhead(max_concurrent=1), retry=rc.Retry(wait=tenacity.wait_none()))
    ScriptedResponses(client, [failure], then=DDB_ITEM)
    try:
        get(client)
    except BaseException:
        pass
    assert get(client)["Item"] == KEY
    assert rc.health()[0].bulkhead.in_use == 0


def test_deadline_before_bulkhead_wait() -> None:
    from resilient_cloud.testing import FakeClock

    session = rc.Session(
        region_name="us-east-1",
        policy=rc.Policy(clock=FakeClock(tick=2.0), deadline=1.0, bulkhead=rc.Bulkhead(max_concurrent=1)),
    )
    client = session.client("dynamodb")
    ScriptedResponses(client, [], then=DDB_ITEM)
    with pytest.raises(rc.DeadlineExceededError):
        get(client)
    bulkhead = rc.health()[0].bulkhead  # refused before the bulkhead was asked
    assert (bulkhead.in_use, bulkhead.rejected) == (0, 0)


def test_session_health_view(make_client) -> None:
    from resilient_cloud.testing import FakeClock

    # A fake clock: on a loaded machine the real one let the 0.5 s break end
    # before the health was read (retry_after 0).
    session = rc.Session(
        region_name="us-east-1", policy=rc.Policy(random=random.Random(1), clock=FakeClock())
    )
    client = session.client("dynamodb")
    ScriptedResponses(client, [], then=DDB_500)
    for _ in range(30):
        with pytest.raises((ClientError, rc.CircuitOpenError)):
            get(client)
    unrelated = make_client("s3")  # another session's endpoint: not in this view
    ScriptedResponses(unrelated, [], then=rc.testing.Reply(200, b""))
    unrelated.head_bucket(Bucket="b")
    (health,) = session.health()
    assert health.endpoint.service == "dynamodb"
    assert health.breaker.state.value == "open" and health.breaker.retry_after > 0
    assert health.budget_balance is not None and health.bulkhead.limit == 64
    assert health.as_dict()["breaker"]["state"] == "open"
    assert {h.endpoint.service for h in rc.health()} == {"dynamodb", "s3"}


def test_breaker_and_bulkhead_can_be_switched_off(make_client) -> None:
    client = make_client(breaker=None, bulkhead=None, budget=None, retry=None, rate_limiter=None)
    script = ScriptedResponses(client, [], then=DDB_500)
    for _ in range(50):
        with pytest.raises(ClientError):  # never CircuitOpenError
            get(client)
    assert len(script) == 50
    assert rc.health() == []  # no shared state was created


def test_after_the_break_an_open_breaker_says_it_waits_for_refusals_not_time(make_client, clock) -> None:
    client = make_client(
        retry=rc.Retry(max_attempts=1),
        breaker=rc.CircuitBreaker(consecutive_failures=1, break_duration=1.0, refusals_before_probe=3),
    )
    ScriptedResponses(client, [DDB_500], then=DDB_ITEM)
    with pytest.raises(ClientError):
        get(client)  # opens the breaker
    with pytest.raises(rc.CircuitOpenError) as during:
        get(client)  # refusal 1, during the break
    assert during.value.retry_after > 0 and "probes again" not in str(during.value)
    clock.advance(1.0)  # the break is over, but refusals are missing
    with pytest.raises(rc.CircuitOpenError) as after:
        get(client)  # refusal 2: one more to go
    assert after.value.retry_after == 0.0
    assert str(after.value).endswith("; it probes again once a few more calls are refused")
    with pytest.raises(rc.CircuitOpenError) as last:
        get(client)  # refusal 3: the next call is the probe
    assert last.value.retry_after is None
    assert get(client)["Item"] == KEY  # the probe succeeds and closes it
