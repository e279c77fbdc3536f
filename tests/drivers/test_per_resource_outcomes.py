"""Throttling is not an outage: a hot table must not close the endpoint to
healthy tables, open its breaker or move its reads to another region. The
same holds for every answer about one request or resource (4xx)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import resilient_cloud as rc
from resilient_cloud._breaker import BreakerState

from .conftest import http_response
from .replies import DDB_ITEM, ddb_error

KEY = {"pk": {"S": "1"}}


class TablesAnswer:
    """Answers DynamoDB requests by table: ``hot`` with ``hot_reply``, every
    other table with an item; notes (table, host) per request. Registered on
    a session, it answers every client the session makes (fallback regions'
    included), so nothing leaves the machine."""

    def __init__(self, client: Any, hot_reply: Any, events: Any = None) -> None:
        self.client = client
        self.hot_reply = hot_reply
        self.requests: list[tuple[str, str]] = []
        (client.meta.events if events is None else events).register("before-send", self._answer)

    def _answer(self, request: Any, **kwargs: Any) -> Any:
        table = json.loads(request.body)["TableName"]
        self.requests.append((table, request.url.split("/")[2]))
        reply = self.hot_reply if table == "hot" else DDB_ITEM
        return http_response(self.client, request.url, reply)


PER_RESOURCE = [
    ddb_error("ProvisionedThroughputExceededException", 400),  # throttled
    ddb_error("ThrottlingException", 400),
    ddb_error("RequestTimeoutException", 400),  # retryable, but about this request
    ddb_error("ResourceNotFoundException", 400),
    ddb_error("ConditionalCheckFailedException", 400),
]
IDS = ["throughput-exceeded", "throttling", "request-timeout-4xx", "not-found", "condition-failed"]


@pytest.mark.parametrize("reply", PER_RESOURCE, ids=IDS)
def test_a_hot_table_leaves_the_endpoint_open_for_healthy_tables(make_client, reply) -> None:
    client = make_client(budget=None)
    answers = TablesAnswer(client, reply)
    for _ in range(30):  # 30 calls of up to 4 attempts: far past 20 at 50%
        with pytest.raises(client.exceptions.ClientError):
            client.get_item(TableName="hot", Key=KEY)
    assert client.get_item(TableName="cold", Key=KEY)["Item"] == KEY
    [endpoint] = rc.health()
    assert endpoint.breaker is not None and endpoint.breaker.state is BreakerState.CLOSED
    assert answers.requests[-1] == ("cold", "dynamodb.us-east-1.amazonaws.com")


@pytest.mark.parametrize("reply", PER_RESOURCE[:3], ids=IDS[:3])
def test_a_hot_table_does_not_move_reads_of_healthy_tables_to_another_region(clock, events, reply) -> None:
    session = rc.Session(region_name="us-east-1", policy=rc.Policy(clock=clock, budget=None))
    answers = TablesAnswer(None, reply, events=session.events)
    client = session.client("dynamodb", fallback_regions=["us-west-2"])
    for _ in range(30):
        with pytest.raises(client.exceptions.ClientError):
            client.get_item(TableName="hot", Key=KEY)
    client.get_item(TableName="cold", Key=KEY)
    hosts = {host for _table, host in answers.requests}
    assert hosts == {"dynamodb.us-east-1.amazonaws.com"}  # never a stale read from us-west-2
    [home] = [e for e in session.health() if e.routing is not None]
    assert home.routing.region == "us-east-1" and home.routing.switches == 0


def test_server_errors_still_open_the_breaker(make_client) -> None:
    """The control: 5xx answers are about the endpoint and do open it."""
    client = make_client(budget=None)
    TablesAnswer(client, ddb_error("InternalServerError", 500))
    with pytest.raises(rc.CircuitOpenError):
        for _ in range(30):
            with pytest.raises(client.exceptions.ClientError):
                client.get_item(TableName="hot", Key=KEY)
