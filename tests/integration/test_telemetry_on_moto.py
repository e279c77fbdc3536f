"""Telemetry end to end: real clients against the fake cloud, through an
outage, an empty DNS record and a failover, for the sync and async APIs;
what the OpenTelemetry SDK's in-memory exporters got is checked.

Time is a FakeClock (backoff, breaker, DNS freshness); the requests are
real, over loopback.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

import resilient_cloud as rc
from resilient_cloud.fakecloud import FakeCloud, Faults
from resilient_cloud.testing import FakeClock

from ..apis import Clients
from ..otel import Exported, otel
from .helpers import create_table

__all__ = ["otel"]

pytestmark = pytest.mark.integration

PRIMARY, FALLBACK = "us-east-1", "us-west-2"
CONFIG = Config(connect_timeout=1, read_timeout=2)
KEY = {"pk": {"S": "1"}}


@pytest.fixture
def table(cloud: FakeCloud) -> FakeCloud:
    for region in (PRIMARY, FALLBACK):
        plain = boto3.client("dynamodb", region_name=region, use_ssl=False)
        create_table(plain, "t")
        plain.put_item(TableName="t", Item={**KEY, "region": {"S": region}})
        plain.close()
    return cloud


def client_of(
    clients: Clients, clock: FakeClock, fallback: tuple[str, ...] = (), **policy: Any
) -> Any:
    policy.setdefault("random", random.Random(1))
    session = clients.session(region_name=PRIMARY, policy=rc.Policy(clock=clock, **policy))
    return session.client("dynamodb", use_ssl=False, config=CONFIG, fallback_regions=list(fallback))


def calls_by_outcome(otel: Exported) -> dict[str, int]:
    return {
        point["resilient_cloud.outcome"]: value
        for point, value in otel.metrics().get("resilient_cloud.calls", [])
    }


def test_an_outage_opens_the_breaker_and_telemetry_shows_it(table, clients, otel) -> None:
    clock = FakeClock()
    client = client_of(clients, clock, breaker=rc.CircuitBreaker(minimum_attempts=4))
    table.set_faults(PRIMARY, Faults(error_rate=1.0), service="dynamodb")
    failures = 0
    for _ in range(6):
        try:
            client.get_item(TableName="t", Key=KEY)
        except Exception:
            failures += 1
    assert failures == 6
    outcomes = calls_by_outcome(otel)
    assert outcomes.get("circuit_open", 0) >= 1  # later calls refused without sending
    assert otel.total("resilient_cloud.rejections", **{"resilient_cloud.rejection": "circuit_open"}) >= 1
    assert otel.total("resilient_cloud.attempts", **{"resilient_cloud.attempt.outcome": "server-error"}) >= 4
    state = {point["cloud.region"]: value
             for point, value in otel.metrics()["resilient_cloud.circuit_breaker.state"]}
    assert state[PRIMARY] == 2  # open
    calls = otel.spans("INTERNAL")
    assert len(calls) == 6
    changed = [e for s in calls for e in s.events if e.name == "resilient_cloud.breaker_state_changed"]
    assert [dict(e.attributes)["resilient_cloud.breaker.state"] for e in changed][:1] == ["open"]
    client.close()


@pytest.fixture(scope="module")
def closing_cloud() -> Iterator[FakeCloud]:
    # Every response closes its connection: every request looks the name up.
    with FakeCloud(regions=(PRIMARY,), connection="close") as cloud:
        yield cloud


def test_an_empty_dns_record_is_served_stale_and_counted(closing_cloud, clients, otel) -> None:
    clock = FakeClock()
    with closing_cloud.resolver():
        plain = boto3.client("dynamodb", region_name=PRIMARY, use_ssl=False)
        create_table(plain, "t")
        plain.close()
        # ttl=0: every new connection asks, and meets the empty record.
        client = client_of(clients, clock, dns=rc.DnsCache(ttl=0.0))
        client.list_tables()
        closing_cloud.set_dns(PRIMARY, "empty", service="dynamodb")
        try:
            for _ in range(3):
                clock.advance(1.0)
                assert client.list_tables()["TableNames"] == ["t"]
        finally:
            closing_cloud.clear_dns()
            closing_cloud.reset_state()
    assert otel.total("resilient_cloud.dns.refresh_failures") >= 1
    assert otel.total("resilient_cloud.dns.stale_answers") >= 1
    # The stale answers' calls say so, and so do the attempts that connected with them.
    calls = otel.spans("INTERNAL")
    assert [dict(s.attributes)["resilient_cloud.dns.stale"] for s in calls] == [False, True, True, True]
    assert any(dict(s.attributes).get("resilient_cloud.dns.stale") for s in otel.spans("CLIENT"))
    client.close()


def test_a_failover_shows_where_calls_went(table, clients, otel) -> None:
    clock = FakeClock()
    client = client_of(clients, clock, fallback=(FALLBACK,))
    table.set_faults(PRIMARY, Faults(error_rate=1.0), service="dynamodb")
    item = client.get_item(TableName="t", Key=KEY)["Item"]
    assert item["region"]["S"] == FALLBACK
    [call] = otel.spans("INTERNAL")
    attributes = dict(call.attributes)
    assert (attributes["cloud.region"], attributes["resilient_cloud.region.served"]) == (PRIMARY, FALLBACK)
    assert "resilient_cloud.failover" in [e.name for e in call.events]
    assert [dict(s.attributes)["cloud.region"] for s in otel.spans("CLIENT")] == [PRIMARY, FALLBACK]
    assert all(s.parent.span_id == call.context.span_id for s in otel.spans("CLIENT"))
    assert otel.total("resilient_cloud.failovers", **{"resilient_cloud.region.to": FALLBACK}) == 1
    client.close()
