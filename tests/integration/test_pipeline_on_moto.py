"""Real botocore clients, real moto servers over HTTP on loopback, reached by
their real hostnames, with faults injected at the server edge.

Every test runs for the sync API (``rc.Session``) and the async one
(``rc.aio.Session``, its clients seen through ``tests.apis.SyncView``); the
observer (``table``) is a plain boto3 client."""

from __future__ import annotations

import random
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

import resilient_cloud as rc
from resilient_cloud.fakecloud import FakeCloud, Faults
from resilient_cloud.testing import FakeClock

from ..apis import Clients

pytestmark = pytest.mark.integration
REGION = "us-east-1"
TABLE = "orders"


@pytest.fixture(scope="module")
def cloud():
    with FakeCloud(regions=(REGION,)) as cloud:
        yield cloud


@pytest.fixture
def table(cloud):
    cloud.clear_faults()
    cloud.reset_state()
    with cloud.resolver():
        plain = boto3.client("dynamodb", region_name=REGION, use_ssl=False)
        plain.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        plain.put_item(TableName=TABLE, Item={"pk": {"S": "1"}, "n": {"N": "0"}})
        cloud.reset_stats()
        yield plain


DEFAULT_BUDGET, DEFAULT_BREAKER = rc.RetryBudget(), rc.CircuitBreaker()


@pytest.fixture
def resilient_client(clients: Clients):
    """``resilient_client(budget=..., breaker=..., **config)``, of the API under test."""

    def make(budget=DEFAULT_BUDGET, breaker=DEFAULT_BREAKER, **config):
        policy = rc.Policy(clock=FakeClock(), random=random.Random(5), budget=budget, breaker=breaker)
        session = clients.session(region_name=REGION, policy=policy)
        return session.client("dynamodb", use_ssl=False, config=Config(**config) if config else None)

    return make


def dynamodb_requests(cloud) -> int:
    return cloud.stats(REGION)["by_service"].get("dynamodb", 0)


def test_reads_are_retried_through_injected_500s(cloud, table, resilient_client) -> None:
    client = resilient_client()
    cloud.set_faults(REGION, Faults(error_rate=0.5, seed=3), service="dynamodb")
    for _ in range(20):
        assert client.get_item(TableName=TABLE, Key={"pk": {"S": "1"}})["Item"]["pk"] == {"S": "1"}
    assert dynamodb_requests(cloud) > 20  # some calls needed retries, all succeeded


def test_outage_amplification_is_capped_by_the_budget(cloud, table, resilient_client) -> None:
    client = resilient_client(breaker=None)  # the budget alone
    cloud.set_faults(REGION, Faults(error_rate=1.0), service="dynamodb")
    for _ in range(100):
        with pytest.raises(client.exceptions.InternalServerError):
            client.get_item(TableName=TABLE, Key={"pk": {"S": "1"}})
    # 100 calls earn 20 retries; the floor adds 10 per window.
    assert dynamodb_requests(cloud) <= 100 + 20 + 10


def test_the_breaker_stops_sending_during_an_outage(cloud, table, resilient_client) -> None:
    client = resilient_client()
    cloud.set_faults(REGION, Faults(error_rate=1.0), service="dynamodb")
    refused = 0
    for _ in range(200):
        try:
            client.get_item(TableName=TABLE, Key={"pk": {"S": "1"}})
        except rc.CircuitOpenError:
            refused += 1
        except ClientError:
            pass
    assert dynamodb_requests(cloud) <= 220 and refused >= 170


def test_throttling_errors_are_retried_even_for_writes(cloud, table, resilient_client) -> None:
    # Ten calls at 50% throttling would soon spend a budget (throttles cost
    # double): this test is about safety, so the budget is off.
    client = resilient_client(budget=None)
    cloud.set_faults(
        REGION, Faults(error_rate=0.5, error_kind="ProvisionedThroughputExceededException", seed=1),
        service="dynamodb",
    )
    for i in range(10):
        client.put_item(TableName=TABLE, Item={"pk": {"S": f"w{i}"}})
    cloud.clear_faults()
    assert table.scan(TableName=TABLE, Select="COUNT")["Count"] == 11


def test_a_write_is_never_applied_twice_after_a_read_timeout(cloud, table, resilient_client) -> None:
    """The service applies the UpdateItem but answers after the client's read
    timeout: plain botocore would send it again; we must not."""
    client = resilient_client(read_timeout=0.3, connect_timeout=2)
    cloud.set_faults(REGION, Faults(latency=1.0), service="dynamodb")
    with pytest.raises(ReadTimeoutError) as caught:
        client.update_item(
            TableName=TABLE, Key={"pk": {"S": "1"}},
            UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}},
        )
    assert rc.stop_details(caught.value).reason is rc.StopReason.UNSAFE_TO_RETRY
    cloud.clear_faults()
    assert dynamodb_requests(cloud) == 1  # sent once
    # The server applies it once its injected latency has passed.
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        item = table.get_item(TableName=TABLE, Key={"pk": {"S": "1"}}, ConsistentRead=True)["Item"]
        if item["n"] != {"N": "0"}:
            break
        time.sleep(0.1)
    assert item["n"] == {"N": "1"}  # applied exactly once


def test_validation_errors_from_the_service_are_not_retried(cloud, table, resilient_client) -> None:
    # For aiobotocore too: the error answer carries x-amz-crc32, which
    # botocore's checker reads as bytes (aiobotocore's body is a coroutine).
    client = resilient_client()
    with pytest.raises(ClientError) as caught:
        client.get_item(TableName="no-such-table", Key={"pk": {"S": "1"}})
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert dynamodb_requests(cloud) == 1
