"""Never apply a write twice: unsafe operations after ambiguous failures."""

from __future__ import annotations

import io
import json

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

import resilient_cloud as rc
from resilient_cloud.testing import Reply, ScriptedResponses

from .conftest import is_async
from .replies import DDB_500, DDB_EMPTY, DDB_THROTTLE

ITEM = {"pk": {"S": "1"}}
URL = "http://dynamodb.us-east-1.amazonaws.com/"


@pytest.mark.parametrize(
    "ambiguous",
    [
        ReadTimeoutError(endpoint_url=URL),
        ConnectionClosedError(endpoint_url=URL),
        DDB_500,
    ],
    ids=["read-timeout", "connection-closed", "500"],
)
def test_put_item_is_sent_once_after_an_ambiguous_failure(make_client, ambiguous) -> None:
    client = make_client()
    script = ScriptedResponses(client, [ambiguous], then=DDB_EMPTY)
    with pytest.raises((ReadTimeoutError, ConnectionClosedError, ClientError)) as caught:
        client.put_item(TableName="t", Item=ITEM)
    assert script.operations == ["PutItem"]
    assert rc.stop_details(caught.value).reason is rc.StopReason.UNSAFE_TO_RETRY


@pytest.mark.parametrize(
    "never_reached",
    [EndpointConnectionError(endpoint_url=URL), DDB_THROTTLE],
    ids=["connection-refused", "throttled"],
)
def test_put_item_is_retried_when_it_never_reached_the_service(make_client, never_reached) -> None:
    client = make_client()
    script = ScriptedResponses(client, [never_reached], then=DDB_EMPTY)
    client.put_item(TableName="t", Item=ITEM)
    assert script.operations == ["PutItem", "PutItem"]


def test_policy_can_opt_in_to_retrying_unsafe_operations(make_client) -> None:
    client = make_client(retry=rc.Retry(retry_unsafe=True))
    script = ScriptedResponses(client, [ReadTimeoutError(endpoint_url=URL)], then=DDB_EMPTY)
    client.put_item(TableName="t", Item=ITEM)
    assert len(script) == 2


def test_per_operation_override_marks_a_write_idempotent(make_client) -> None:
    client = make_client(operation_safety={"dynamodb.PutItem": rc.Safety.IDEMPOTENT})
    script = ScriptedResponses(client, [DDB_500], then=DDB_EMPTY)
    client.put_item(TableName="t", Item=ITEM)
    assert len(script) == 2


def test_idempotency_token_is_the_same_on_every_attempt(make_client) -> None:
    client = make_client()
    script = ScriptedResponses(client, [DDB_500, DDB_500], then=DDB_EMPTY)
    client.transact_write_items(
        TransactItems=[{"Put": {"TableName": "t", "Item": ITEM}}]
    )
    tokens = {json.loads(r.body)["ClientRequestToken"] for r in script.requests}
    assert len(script) == 3
    assert len(tokens) == 1


def test_a_caller_supplied_token_is_kept(make_client) -> None:
    client = make_client()
    script = ScriptedResponses(client, [DDB_500], then=DDB_EMPTY)
    client.transact_write_items(
        TransactItems=[{"Put": {"TableName": "t", "Item": ITEM}}], ClientRequestToken="mine"
    )
    assert [json.loads(r.body)["ClientRequestToken"] for r in script.requests] == ["mine", "mine"]


S3_500 = Reply(
    500,
    b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError</Code>"
    b"<Message>injected</Message></Error>",
)


def test_seekable_bodies_are_rewound_before_every_attempt(make_client) -> None:
    client = make_client("s3")
    bodies: list[bytes] = []

    def read_body(request, **kwargs):
        body = request.body
        bodies.append(body.read() if hasattr(body, "read") else bytes(body or b""))

    async def read_async_body(request, **kwargs):  # aiobotocore wraps bodies in async readers
        body = request.body
        bodies.append(await body.read() if hasattr(body, "read") else bytes(body or b""))

    client.meta.events.register("before-send", read_async_body if is_async(client) else read_body)
    ScriptedResponses(client, [S3_500, S3_500], then=Reply(200, b""))
    stream = io.BytesIO(b"skip:payload")
    stream.seek(5)  # the upload starts where the caller left the stream
    client.put_object(Bucket="b", Key="k", Body=stream)
    # botocore frames the body as aws-chunked with a CRC32 trailer.
    assert len(bodies) == 3
    assert bodies[0].startswith(b"7\r\npayload\r\n0\r\n")
    assert bodies[1] == bodies[0] and bodies[2] == bodies[0]


class OneWayStream(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def seekable(self) -> bool:
        return False


def test_non_seekable_streams_are_not_retried(make_client) -> None:
    client = make_client("s3")
    script = ScriptedResponses(client, [S3_500], then=Reply(200, b""))
    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket="b", Key="k", Body=OneWayStream(b"data"), ContentLength=4)
    assert len(script) == 1
    assert rc.stop_details(caught.value).reason is rc.StopReason.STREAM_NOT_SEEKABLE
