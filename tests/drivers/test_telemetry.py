"""OpenTelemetry: the spans, span events and metrics that calls produce,
read from the SDK's in-memory exporters, for sync and async clients alike.

The requests are answered by the failover suite's per-region scripts, on a
fake clock; a call's span is INTERNAL, each attempt's is a CLIENT child.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

import resilient_cloud as rc

from ..otel import otel
from .replies import DDB_500
from .test_failover import EAST, KEY, WEST, get, hedged_read_of_a_slow_primary, hooks, make_client, scripts

__all__ = ["hooks", "make_client", "otel", "scripts"]  # fixtures

NAME = "DynamoDB.GetItem"
BASE = {"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "GetItem"}


def ours(spans: list[Any]) -> list[Any]:
    return [span for span in spans if span.instrumentation_scope.name == "resilient_cloud"]


def attributes(span: Any) -> dict[str, Any]:
    return dict(span.attributes)


def test_a_retried_call_is_one_span_with_a_client_span_per_attempt(otel, make_client, scripts) -> None:
    client = make_client(fallback_regions=())
    scripts.script(EAST, [DDB_500])
    assert get(client)["Item"] == KEY
    [call] = otel.spans("INTERNAL")
    assert call.name == NAME and call.parent is None
    assert attributes(call) == {
        **BASE, "cloud.region": EAST, "resilient_cloud.attempts": 2,
        "resilient_cloud.outcome": "success", "resilient_cloud.region.served": EAST,
        "resilient_cloud.hedged": False, "resilient_cloud.dns.stale": False,
    }
    assert call.status.status_code.name == "UNSET"
    attempts = otel.spans("CLIENT")
    assert [span.name for span in attempts] == [NAME, NAME]
    assert all(span.parent.span_id == call.context.span_id for span in attempts)
    assert all(span.context.trace_id == call.context.trace_id for span in attempts)
    assert [attributes(s)["resilient_cloud.attempt"] for s in attempts] == [1, 2]
    assert [attributes(s)["resilient_cloud.attempt.outcome"] for s in attempts] == ["server-error", "success"]
    assert [s.status.status_code.name for s in attempts] == ["ERROR", "UNSET"]
    assert [event.name for event in call.events] == [
        "resilient_cloud.attempt", "resilient_cloud.retry_scheduled", "resilient_cloud.attempt",
    ]
    retry = dict(call.events[1].attributes)
    assert retry["resilient_cloud.attempt"] == 2 and retry["resilient_cloud.delay"] >= 0.0

    assert otel.total("resilient_cloud.calls", **{"resilient_cloud.outcome": "success"}) == 1
    assert otel.total("resilient_cloud.attempts") == 2
    assert otel.total("resilient_cloud.attempts", **{"resilient_cloud.attempt.outcome": "server-error"}) == 1
    assert otel.total("resilient_cloud.retries") == 1
    assert otel.total("resilient_cloud.call.duration") == 1  # one call measured
    [(point, _)] = otel.metrics()["resilient_cloud.calls"]
    assert point == {
        "rpc.service": "DynamoDB", "rpc.method": "GetItem", "cloud.region": EAST,
        "resilient_cloud.outcome": "success",
    }


def test_a_failover_is_an_event_a_metric_and_names_the_region_that_served(
    otel, make_client, scripts
) -> None:
    client = make_client()
    scripts.script(EAST, [DDB_500])
    get(client)
    [call] = otel.spans("INTERNAL")
    assert attributes(call)["cloud.region"] == EAST
    assert attributes(call)["resilient_cloud.region.served"] == WEST
    [failover] = [e for e in call.events if e.name == "resilient_cloud.failover"]
    assert dict(failover.attributes) == {
        "cloud.region": EAST, "resilient_cloud.region.to": WEST,
        "resilient_cloud.reason": "server-error (InternalServerError) in us-east-1",
    }
    assert [attributes(s)["cloud.region"] for s in otel.spans("CLIENT")] == [EAST, WEST]
    assert otel.total("resilient_cloud.failovers", **{"resilient_cloud.region.to": WEST}) == 1


def test_a_breaker_refusal_is_a_rejected_call_with_no_attempt(otel, make_client, scripts) -> None:
    client = make_client(
        fallback_regions=(), retry=rc.Retry(max_attempts=1),
        breaker=rc.CircuitBreaker(minimum_attempts=1, failure_ratio=0.5),
    )
    scripts.script(EAST, then=DDB_500)
    with pytest.raises(client.exceptions.InternalServerError):
        get(client)
    with pytest.raises(rc.CircuitOpenError):
        get(client)
    first, refused = otel.spans("INTERNAL")
    assert attributes(first)["resilient_cloud.stop_reason"] == "attempts_exhausted"
    assert attributes(refused)["resilient_cloud.outcome"] == "circuit_open"
    assert attributes(refused)["resilient_cloud.attempts"] == 0
    assert refused.status.status_code.name == "ERROR"
    assert refused.status.description == "CircuitOpenError"
    assert [e.name for e in refused.events][:2] == [
        "resilient_cloud.rejected", "resilient_cloud.breaker_refused",
    ]
    assert len(otel.spans("CLIENT")) == 1  # the refused call sent nothing
    assert otel.total("resilient_cloud.rejections", **{"resilient_cloud.rejection": "circuit_open"}) == 1
    assert otel.total("resilient_cloud.calls", **{"resilient_cloud.outcome": "circuit_open"}) == 1
    breaker = otel.metrics()["resilient_cloud.circuit_breaker.state"]
    assert ({"rpc.service": "DynamoDB", "cloud.region": EAST}, 2) in breaker  # open


def test_a_retry_the_budget_refuses_is_an_event_and_a_rejection(otel, make_client, scripts) -> None:
    client = make_client(
        fallback_regions=(), budget=rc.RetryBudget(ratio=0.0, min_retries_per_second=0.0),
        breaker=None,
    )
    scripts.script(EAST, then=DDB_500)
    with pytest.raises(client.exceptions.InternalServerError):
        get(client)
    [call] = otel.spans("INTERNAL")
    assert attributes(call)["resilient_cloud.stop_reason"] == "budget_exhausted"
    assert "resilient_cloud.budget_refused" in [e.name for e in call.events]
    assert otel.total("resilient_cloud.rejections", **{"resilient_cloud.rejection": "budget_exhausted"}) == 1
    [(_, tokens)] = otel.metrics()["resilient_cloud.retry_budget.tokens"]
    assert tokens == 0


def test_switched_off_or_without_an_sdk_nothing_is_reported(otel, make_client, scripts) -> None:
    client = make_client(fallback_regions=(), telemetry=False)
    get(client)
    assert otel.spans() == []
    assert "resilient_cloud.calls" not in otel.metrics()


@pytest.mark.sync_only("holds requests open on threading events; the async hedge test is below")
def test_a_hedge_leg_runs_in_the_calls_span(otel, make_client, scripts, hooks) -> None:
    hedged_read_of_a_slow_primary(make_client, scripts, hooks)
    [call] = otel.spans("INTERNAL")
    assert attributes(call)["resilient_cloud.hedged"] is True
    legs = otel.spans("CLIENT")
    assert sorted(attributes(s)["cloud.region"] for s in legs) == [EAST, WEST]
    assert all(s.parent.span_id == call.context.span_id for s in legs)
    assert "resilient_cloud.hedge" in [e.name for e in call.events]
    assert otel.total("resilient_cloud.hedges") == 1
    assert otel.total("resilient_cloud.hedge.wins") == 1


@pytest.mark.sync_only("opentelemetry-instrumentation-botocore instruments botocore, not aiobotocore")
def test_the_botocore_instrumentations_spans_are_the_attempts_children_of_ours(
    otel, make_client, scripts
) -> None:
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    instrumentor = BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=otel.tracer_provider)
    try:
        client = make_client(fallback_regions=())
        scripts.script(EAST, [DDB_500])
        get(client)
    finally:
        instrumentor.uninstrument()
    [call] = otel.spans("INTERNAL")
    attempts = otel.spans("CLIENT")
    assert len(attempts) == 2  # one per attempt: never ours and theirs both
    assert all(
        s.instrumentation_scope.name.startswith("opentelemetry.instrumentation.botocore")
        for s in attempts
    )
    assert all(s.parent.span_id == call.context.span_id for s in attempts)
    assert ours(otel.spans()) == [call]


def test_a_canary_secret_reaches_no_span_metric_or_log(otel, make_client, scripts, caplog) -> None:
    canary = "CANARY-7f3a9c"
    caplog.set_level(logging.DEBUG, logger="resilient_cloud")
    client = make_client(client_args={
        "aws_access_key_id": f"AKIA{canary}", "aws_secret_access_key": canary,
        "aws_session_token": canary,
    })
    scripts.script(EAST, [DDB_500])
    client.get_item(TableName="t", Key={"pk": {"S": canary}})
    client.put_item(TableName="t", Item={"pk": {"S": canary}, "secret": {"S": canary}})
    exported = []
    for span in ours(otel.spans()):
        exported += [span.name, span.status.description, span.attributes, span.resource.attributes]
        exported += [(event.name, event.attributes) for event in span.events]
    exported.append(otel.metrics())
    exported += [record.getMessage() for record in caplog.records]
    assert len(ours(otel.spans())) == 5  # two calls, three attempts: something was exported
    assert canary not in repr(exported)
