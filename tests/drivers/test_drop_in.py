"""What plain boto3 users rely on keeps working: the Stubber's expected
parameters, ResponseMetadata after a failed call, errors through pickling."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import random
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import resilient_cloud as rc
from resilient_cloud.testing import FakeClock, Reply, ScriptedResponses

from .replies import DDB_500, DDB_EMPTY

ITEM = {"pk": {"S": "1"}}
TRANSACTION = [{"Put": {"TableName": "t", "Item": ITEM}}]


# -- idempotency tokens are filled where botocore fills them ------------------------


def test_stubber_expected_params_hold_for_an_operation_with_a_token(make_client) -> None:
    client = make_client()
    with Stubber(client) as stubber:
        stubber.add_response("transact_write_items", {}, expected_params={"TransactItems": TRANSACTION})
        client.transact_write_items(TransactItems=TRANSACTION)
        stubber.assert_no_pending_responses()


def test_stubber_expected_params_hold_for_ec2_run_instances(make_client) -> None:
    client = make_client("ec2")
    expected = {"ImageId": "ami-12345678", "MinCount": 1, "MaxCount": 1}
    with Stubber(client) as stubber:
        stubber.add_response("run_instances", {}, expected_params=expected)
        client.run_instances(**expected)
        stubber.assert_no_pending_responses()


def test_the_token_botocore_filled_is_sent_on_every_attempt(make_client) -> None:
    client = make_client("ec2")
    script = ScriptedResponses(client, [_ec2_500(), _ec2_500()], then=_ec2_ok())
    client.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)
    tokens = {_form(request.body)["ClientToken"] for request in script.requests}
    assert len(script) == 3 and len(tokens) == 1


def _ec2_500() -> Reply:
    body = b"<Response><Errors><Error><Code>InternalError</Code><Message>x</Message></Error></Errors></Response>"
    return Reply(500, body)


def _ec2_ok() -> Reply:
    return Reply(200, b"<RunInstancesResponse><reservationId>r-1</reservationId></RunInstancesResponse>")


def _form(body: Any) -> dict[str, str]:
    text = body.decode() if isinstance(body, bytes) else body
    return {key: values[0] for key, values in parse_qs(text).items()}


# -- ResponseMetadata of a failed call says what boto3's would --------------------


def test_a_failed_call_reports_its_retries_like_plain_boto3(make_client) -> None:
    client = make_client(retry=rc.Retry(max_attempts=3), budget=None)
    ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(ClientError) as ours:
        client.get_item(TableName="t", Key=ITEM)
    # Plain botocore on the same answers (legacy DynamoDB: 50 ms, 100 ms of backoff).
    plain = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
        config=Config(retries={"mode": "legacy", "total_max_attempts": 3}),
    )
    ScriptedResponses(plain, [], then=DDB_500)
    with pytest.raises(ClientError) as theirs:
        plain.get_item(TableName="t", Key=ITEM)
    ours_meta, theirs_meta = ours.value.response["ResponseMetadata"], theirs.value.response["ResponseMetadata"]
    assert (ours_meta["RetryAttempts"], ours_meta["MaxAttemptsReached"]) == (2, True)
    assert (theirs_meta["RetryAttempts"], theirs_meta["MaxAttemptsReached"]) == (2, True)


def test_a_call_stopped_for_another_reason_does_not_claim_max_attempts(make_client) -> None:
    client = make_client()
    ScriptedResponses(client, [DDB_500], then=DDB_EMPTY)
    with pytest.raises(ClientError) as caught:
        client.put_item(TableName="t", Item=ITEM)  # unsafe after a 500: stops at once
    metadata = caught.value.response["ResponseMetadata"]
    assert metadata["RetryAttempts"] == 0
    assert "MaxAttemptsReached" not in metadata


def test_a_success_after_retries_reports_them(make_client) -> None:
    client = make_client()
    ScriptedResponses(client, [DDB_500, DDB_500], then=DDB_EMPTY)
    assert client.get_item(TableName="t", Key=ITEM)["ResponseMetadata"]["RetryAttempts"] == 2


# -- errors survive pickling (a ProcessPoolExecutor sends them back) ------------------


def _client(**policy: Any) -> Any:
    session = rc.Session(
        region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
        policy=rc.Policy(clock=FakeClock(), random=random.Random(1), **policy),
    )
    return session.client("dynamodb")


def fail_after_retries() -> None:
    """In a worker process: a call that fails after its attempts."""
    client = _client(retry=rc.Retry(max_attempts=2), budget=None)
    ScriptedResponses(client, [], then=DDB_500)
    client.get_item(TableName="t", Key=ITEM)


def refuse_with_open_breaker() -> None:
    client = _client(budget=None, breaker=rc.CircuitBreaker(consecutive_failures=1))
    ScriptedResponses(client, [], then=DDB_500)
    with pytest.raises(ClientError):
        client.get_item(TableName="t", Key=ITEM)
    client.get_item(TableName="t", Key=ITEM)


def refuse_with_full_bulkhead() -> None:
    client = _client(bulkhead=rc.Bulkhead(max_concurrent=1))
    entered, leave = threading.Event(), threading.Event()

    def hold(**kwargs: Any) -> None:
        entered.set()
        leave.wait(10)

    client.meta.events.register("before-send", hold)
    ScriptedResponses(client, [], then=DDB_EMPTY)
    holder = threading.Thread(target=client.get_item, kwargs={"TableName": "t", "Key": ITEM})
    holder.start()
    entered.wait(10)
    try:
        client.get_item(TableName="t", Key=ITEM)
    finally:
        leave.set()
        holder.join(10)


@pytest.fixture(scope="module")
def pool() -> Any:
    # spawn: a fresh interpreter, as a pool on macOS or Windows would use.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def test_a_botocore_error_keeps_its_stop_details_through_a_process_pool(pool) -> None:
    with pytest.raises(ClientError) as caught:
        pool.submit(fail_after_retries).result(timeout=120)
    details = rc.stop_details(caught.value)
    assert details is not None
    assert (details.reason, details.attempts, details.operation) == (
        rc.StopReason.ATTEMPTS_EXHAUSTED, 2, "GetItem"
    )
    assert caught.value.__notes__ == [details.describe()]


def test_a_circuit_open_error_crosses_a_process_pool(pool) -> None:
    with pytest.raises(rc.CircuitOpenError) as caught:
        pool.submit(refuse_with_open_breaker).result(timeout=120)
    error = caught.value
    assert error.retry_after is not None and error.retry_after > 0
    assert error.last_failure == "server-error (InternalServerError)"
    assert (error.service, error.operation, error.region) == ("dynamodb", "GetItem", "us-east-1")
    assert pool.submit(pow, 2, 3).result(timeout=60) == 8  # the pool still works


def test_a_bulkhead_full_error_crosses_a_process_pool(pool) -> None:
    with pytest.raises(rc.BulkheadFullError) as caught:
        pool.submit(refuse_with_full_bulkhead).result(timeout=120)
    assert caught.value.limit == 1
    assert "1 calls already in flight" in str(caught.value)


def test_resilience_errors_round_trip_with_every_field() -> None:
    cause = ClientError({"Error": {"Code": "X", "Message": "m"}}, "GetItem")
    error = rc.CircuitOpenError(
        service="s", operation="o", region="r", cause="c", retry_after=1.5, last_failure="x",
        last_error=cause,
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.retry_after, copy.last_failure) == (
        rc.CircuitOpenError, str(error), 1.5, "x"
    )
    assert copy.last_error.response == cause.response
    assert json.dumps(pickle.loads(pickle.dumps(rc.DeadlineExceededError(
        service="s", operation="o", region="r", cause="c"))).kwargs) == json.dumps(
        {"service": "s", "operation": "o", "region": "r", "cause": "c"})


def test_a_modeled_error_keeps_its_stop_details_as_botocore_pickles_it(make_client) -> None:
    client = make_client()
    ScriptedResponses(client, [], then=_conditional_check_failed())
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as caught:
        client.put_item(TableName="t", Item=ITEM)
    copy = pickle.loads(pickle.dumps(caught.value))
    # botocore itself turns modeled errors into ClientError when pickled.
    assert type(copy) is ClientError and copy.response == caught.value.response
    assert rc.stop_details(copy) == rc.stop_details(caught.value) is not None


def _conditional_check_failed() -> Reply:
    body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                       "message": "failed"}).encode()
    return Reply(400, body, {"Content-Type": "application/x-amz-json-1.0"})
