"""Throttling, absorbed: the rate limiter paces attempts to an endpoint that
throttles, and refuses at once a call it cannot serve before its deadline."""

from __future__ import annotations

import pytest
import tenacity
from botocore.exceptions import BotoCoreError, ClientError

import resilient_cloud as rc
from resilient_cloud._ratelimit import RateLimiterState
from resilient_cloud.hooks import CallRejected
from resilient_cloud.testing import ScriptedResponses

from .replies import DDB_ITEM, DDB_THROTTLE

KEY = {"pk": {"S": "1"}}
NO_BACKOFF = rc.Retry(wait=tenacity.wait_none())


def get(client):
    return client.get_item(TableName="t", Key=KEY)


@pytest.mark.parametrize("throttles", [3, 4])
def test_after_throttles_attempts_wait_for_the_limiters_slots(make_client, clock, throttles) -> None:
    client = make_client(retry=NO_BACKOFF)
    script = ScriptedResponses(client, [DDB_THROTTLE] * throttles, then=DDB_ITEM)
    assert get(client)["Item"] == KEY
    assert len(script) == throttles + 1
    # The first throttle starts measuring the send rate; the second sets a
    # rate (its slot is free at once); every attempt after that waits one
    # interval for its own slot (a slot taken is not taken again). The
    # backoff sleeps nothing.
    paced = [s for s in clock.sleeps if s > 0]
    assert len(paced) == throttles - 2 and 0.0 < paced[0] < 0.2
    assert paced == [pytest.approx(paced[0])] * len(paced)
    pacing = rc.health()[0].rate_limit
    assert pacing is not None and pacing.pacing is True and pacing.rate > 0


def test_a_call_with_no_slot_within_max_wait_is_refused_without_a_request(make_client, events) -> None:
    client = make_client(retry=NO_BACKOFF, rate_limiter=rc.RateLimiter(max_wait=0.001))
    script = ScriptedResponses(client, [DDB_THROTTLE] * 2, then=DDB_ITEM)
    assert get(client)["Item"] == KEY  # throttled twice, then the next slot was free at once
    with pytest.raises(rc.RateLimitedError) as caught:
        get(client)  # the slot after it is 1/rate away: more than 1 ms
    assert len(script) == 3
    error = caught.value
    assert isinstance(error, BotoCoreError) and error.retry_after > 0.001
    assert "rate limiter has no slot before 0.001s from now" in str(error)
    rejected = [e for e in events if isinstance(e, CallRejected)]
    assert [e.reason for e in rejected] == [rc.StopReason.RATE_LIMITED]


def test_a_slot_after_the_calls_deadline_refuses_it_at_once(make_client, clock) -> None:
    client = make_client(retry=NO_BACKOFF, deadline=0.001)
    ScriptedResponses(client, [DDB_THROTTLE] * 2, then=DDB_ITEM)
    assert get(client)["Item"] == KEY
    before = clock.monotonic()
    with pytest.raises(rc.RateLimitedError, match="before the call's deadline"):
        get(client)
    assert clock.monotonic() == before  # refused, not held


def test_a_call_that_sent_and_then_has_no_slot_ends_with_its_throttle(make_client) -> None:
    client = make_client(retry=NO_BACKOFF, rate_limiter=rc.RateLimiter(max_wait=0.001))
    script = ScriptedResponses(client, [DDB_ITEM], then=DDB_THROTTLE)
    assert get(client)["Item"] == KEY
    with pytest.raises(ClientError) as caught:
        get(client)  # throttled twice, the free slot taken, the next is 1/rate away
    assert len(script) == 4
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert rc.stop_details(caught.value).reason is rc.StopReason.RATE_LIMITED


def test_a_throttled_call_gets_its_throttled_attempts_and_no_more(make_client) -> None:
    client = make_client(retry=rc.Retry(wait=tenacity.wait_none(), throttled_attempts=7))
    script = ScriptedResponses(client, [], then=DDB_THROTTLE)
    with pytest.raises(ClientError):
        get(client)
    assert len(script) == 7


def test_max_attempts_one_sends_a_throttled_call_once(make_client) -> None:
    client = make_client(retry=rc.Retry(max_attempts=1))
    script = ScriptedResponses(client, [], then=DDB_THROTTLE)
    with pytest.raises(ClientError):
        get(client)
    assert len(script) == 1


def test_until_an_endpoint_throttles_calls_do_no_rate_limiter_work(make_client) -> None:
    client = make_client()
    ScriptedResponses(client, [], then=DDB_ITEM)
    for _ in range(5):
        get(client)
    assert RateLimiterState.engaged is False
    assert rc.health()[0].rate_limit is None  # not even made

