"""Telemetry's contract without a fake cloud: nothing without an SDK, the
switch, instrument names and units by OpenTelemetry's rules, bounded
attributes, and the DNS hook."""

from __future__ import annotations

import re

import botocore.session
import pytest

import resilient_cloud as rc
from resilient_cloud import _telemetry
from resilient_cloud import hooks as rc_hooks
from resilient_cloud._botocore.operations import describe
from resilient_cloud._call import Call
from resilient_cloud.errors import StopReason

from ..otel import otel

__all__ = ["otel"]

SERVICE = botocore.session.get_session().get_service_model("dynamodb")


def a_call() -> Call:
    return Call(
        operation=describe(SERVICE, "GetItem", {}), service="dynamodb", region="us-east-1",
        max_attempts=3, started_at=0.0, deadline_at=None, budget=None, retry_unsafe=False,
    )


def test_without_an_sdk_a_call_reports_nothing() -> None:
    assert _telemetry.tracer() is None and _telemetry.instruments() is None
    assert _telemetry.for_call(a_call(), asynchronous=False) is None


def test_the_switch_must_be_a_bool_and_says_so() -> None:
    with pytest.raises(TypeError, match="telemetry"):
        rc.Policy(telemetry="yes")  # type: ignore[arg-type]
    assert rc.Policy().telemetry is True and rc.Policy(telemetry=False).telemetry is False


#: OpenTelemetry's instrument name syntax; units are UCUM or a {annotation}.
NAME = re.compile(r"^[a-z][a-z0-9_.]{0,254}$")
UNITS = {"s", "1", "{call}", "{attempt}", "{retry}", "{hedge}", "{failover}", "{answer}",
         "{lookup}", "{token}"}


def test_every_instrument_follows_the_naming_rules_and_has_a_unit(otel) -> None:
    telemetry = _telemetry.for_call(a_call(), asynchronous=False)
    assert telemetry is not None
    telemetry.record([
        rc_hooks.AttemptEnded("dynamodb", "GetItem", "us-east-1", 1, "server-error", "X", 0.1),
        rc_hooks.RetryScheduled("dynamodb", "GetItem", "us-east-1", 2, 0.1, "server-error", 1.0),
        rc_hooks.FailedOver("dynamodb", "GetItem", "us-east-1", "us-west-2", "why"),
        rc_hooks.HedgeFired("dynamodb", "GetItem", "us-east-1", "us-west-2", 0.05),
        rc_hooks.HedgeEnded("dynamodb", "GetItem", "us-east-1", True),
        rc_hooks.CallRejected("dynamodb", "GetItem", "us-east-1", StopReason.BULKHEAD_FULL, None),
        rc_hooks.CallEnded("dynamodb", "GetItem", "us-west-2", 2, True, None, 0.3),
    ])
    _telemetry.know_service("dynamodb", "DynamoDB")
    _telemetry.on_dns_event(rc_hooks.DnsStaleAnswerServed("dynamodb", "us-east-1", "h", 1.0, "timeout"))
    _telemetry.on_dns_event(rc_hooks.DnsRefreshFailed("dynamodb", "us-east-1", "h", "timeout", 1.0, False))
    units = otel.metric_units()
    assert set(units) >= {
        "resilient_cloud.calls", "resilient_cloud.attempts", "resilient_cloud.retries",
        "resilient_cloud.hedges", "resilient_cloud.hedge.wins", "resilient_cloud.rejections",
        "resilient_cloud.failovers", "resilient_cloud.dns.stale_answers",
        "resilient_cloud.dns.refresh_failures", "resilient_cloud.call.duration",
    }
    for name, unit in units.items():
        assert NAME.match(name), name
        assert unit in UNITS, (name, unit)
    assert otel.total("resilient_cloud.rejections", **{"resilient_cloud.rejection": "bulkhead_full"}) == 1
    assert otel.total("resilient_cloud.dns.stale_answers", **{"rpc.service": "DynamoDB"}) == 1
    assert otel.total("resilient_cloud.dns.refresh_failures") == 1
    # Bounded attribute sets: service, operation, region, and an outcome-like value.
    allowed = {"rpc.service", "rpc.method", "cloud.region", "resilient_cloud.outcome",
               "resilient_cloud.attempt.outcome", "resilient_cloud.rejection",
               "resilient_cloud.region.to"}
    for name, points in otel.metrics().items():
        for attributes, _ in points:
            assert set(attributes) <= allowed, (name, attributes)


def test_a_stale_dns_answer_marks_the_current_span(otel) -> None:
    from opentelemetry import trace

    tracer = otel.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("call"):
        _telemetry.on_dns_event(
            rc_hooks.DnsStaleAnswerServed("dynamodb", "us-east-1", "h", 1.0, "timeout")
        )
    [span] = otel.spans()
    assert dict(span.attributes)["resilient_cloud.dns.stale"] is True
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_a_new_provider_gets_new_instruments(otel) -> None:
    first = _telemetry.instruments()
    assert first is not None and _telemetry.instruments() is first
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider

    from ..otel import _reset_globals

    _reset_globals()
    provider = MeterProvider()
    metrics.set_meter_provider(provider)
    try:
        assert _telemetry.instruments() is not first
    finally:
        provider.shutdown()



def test_dns_events_reach_telemetry_only_for_clients_that_report(otel) -> None:
    from resilient_cloud._dns.cache import Requester, _report

    event = rc_hooks.DnsStaleAnswerServed
    _report(Requester((), "dynamodb", "us-east-1", telemetry=False), event, host="h", stale_for=1.0, reason="x")
    assert otel.total("resilient_cloud.dns.stale_answers") == 0
    _report(Requester((), "dynamodb", "us-east-1", telemetry=True), event, host="h", stale_for=1.0, reason="x")
    assert otel.total("resilient_cloud.dns.stale_answers") == 1
