"""Retries at one layer: what is retried, how often, how long we wait."""

from __future__ import annotations

import pytest
import tenacity
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

import resilient_cloud as rc
from resilient_cloud.testing import ScriptedResponses

from .replies import DDB_500, DDB_ITEM, DDB_THROTTLE, DDB_VALIDATION

KEY = {"pk": {"S": "1"}}


def test_transient_errors_are_retried_until_success(make_client, clock) -> None:
    client = make_client()
    script = ScriptedResponses(client, [DDB_500, DDB_500, DDB_ITEM])
    response = client.get_item(TableName="t", Key=KEY)
    assert response["Item"] == KEY
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(script) == 3
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 0.05 and 0 <= clock.sleeps[1] <= 0.1


def test_last_real_error_is_raised_with_why_we_stopped(make_client) -> None:
    client = make_client()
    ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(client.exceptions.InternalServerError) as caught:
        client.get_item(TableName="t", Key=KEY)
    details = rc.stop_details(caught.value)
    assert details is not None
    assert details.reason is rc.StopReason.ATTEMPTS_EXHAUSTED
    assert details.attempts == 4  # the default
    assert (details.service, details.operation, details.region) == ("dynamodb", "GetItem", "us-east-1")
    assert caught.value.__notes__ == [details.describe()]
    assert "stopped after 4 attempts" in details.describe()


def test_client_errors_are_not_retried(make_client) -> None:
    client = make_client()
    script = ScriptedResponses(client, [DDB_VALIDATION])
    with pytest.raises(ClientError) as caught:
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 1
    assert rc.stop_details(caught.value).reason is rc.StopReason.NOT_RETRYABLE


def test_throttling_backs_off_longer(make_client, clock) -> None:
    client = make_client(
        retry=rc.Retry(backoff_base=0.0, throttle_backoff_base=1.0), rate_limiter=None
    )
    ScriptedResponses(client, [DDB_THROTTLE, DDB_500, DDB_ITEM])
    client.get_item(TableName="t", Key=KEY)
    throttled_wait, ordinary_wait = clock.sleeps
    assert 0 < throttled_wait <= 1.0
    assert ordinary_wait == 0.0


def test_connection_errors_are_retried(make_client) -> None:
    client = make_client()
    refused = EndpointConnectionError(endpoint_url="http://dynamodb.us-east-1.amazonaws.com/")
    script = ScriptedResponses(client, [refused, DDB_ITEM])
    assert client.get_item(TableName="t", Key=KEY)["Item"] == KEY
    assert len(script) == 2


def test_user_tenacity_wait_replaces_backoff(make_client, clock) -> None:
    client = make_client(retry=rc.Retry(wait=tenacity.wait_fixed(0.25)))
    ScriptedResponses(client, [DDB_500, DDB_500, DDB_ITEM])
    client.get_item(TableName="t", Key=KEY)
    assert clock.sleeps == [0.25, 0.25]


def test_retry_none_sends_each_call_once(make_client) -> None:
    client = make_client(retry=None)
    script = ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(ClientError):
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 1


def test_interrupts_are_never_retried(make_client) -> None:
    client = make_client()
    script = ScriptedResponses(client, [KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        client.get_item(TableName="t", Key=KEY)
    assert len(script) == 1


def test_same_seed_same_schedule(make_client, clock) -> None:
    import random

    schedules = []
    for _ in range(2):
        rc.testing.reset()
        clock.sleeps.clear()
        client = make_client(random=random.Random(42))
        ScriptedResponses(client, [], then=DDB_500)
        with pytest.raises(ClientError):
            client.get_item(TableName="t", Key=KEY)
        schedules.append(list(clock.sleeps))
    assert schedules[0] == schedules[1] and len(schedules[0]) == 3


def test_read_timeout_on_a_read_is_retried(make_client) -> None:
    client = make_client()
    timeout = ReadTimeoutError(endpoint_url="http://dynamodb.us-east-1.amazonaws.com/")
    script = ScriptedResponses(client, [timeout, DDB_ITEM])
    client.get_item(TableName="t", Key=KEY)
    assert len(script) == 2
