"""resilient_cloud's metrics: counters and a histogram fed by the call
core's events, DNS counters fed by the DNS cache's, and gauges read from
the health view when the SDK collects.

The instruments are made from the meter provider set now (none until an
SDK's is), and made again if another is set later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

from opentelemetry import metrics

from resilient_cloud import hooks as _hooks
from resilient_cloud._telemetry import names as n
from resilient_cloud._telemetry.providers import meter_provider
from resilient_cloud.errors import StopReason

try:
    VERSION = metadata.version("resilient_cloud")
except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
    VERSION = "0"


class Instruments:
    """resilient_cloud's instruments from one meter provider."""

    def __init__(self, provider: Any) -> None:
        meter = provider.get_meter(n.SCOPE, VERSION)
        self.calls = meter.create_counter(n.CALLS, "{call}", "Logical calls, by outcome")
        self.attempts = meter.create_counter(
            n.ATTEMPTS_COUNTER, "{attempt}", "Requests sent, by outcome"
        )
        self.retries = meter.create_counter(n.RETRIES, "{retry}", "Retries scheduled")
        self.hedges = meter.create_counter(n.HEDGES, "{hedge}", "Hedged requests sent")
        self.hedge_wins = meter.create_counter(
            n.HEDGE_WINS, "{hedge}", "Hedges whose answer was used"
        )
        self.rejections = meter.create_counter(
            n.REJECTIONS, "{call}",
            "Calls or retries refused, by kind (breaker, budget, bulkhead, deadline)",
        )
        self.failovers = meter.create_counter(
            n.FAILOVERS, "{failover}", "Attempts sent to another region"
        )
        self.dns_stale_answers = meter.create_counter(
            n.DNS_STALE_ANSWERS, "{answer}", "Expired DNS answers served because a lookup failed"
        )
        self.dns_refresh_failures = meter.create_counter(
            n.DNS_REFRESH_FAILURES, "{lookup}", "DNS lookups that failed"
        )
        self.call_duration = meter.create_histogram(
            n.CALL_DURATION, "s", "Duration of logical calls, across attempts and backoff"
        )
        _gauges(meter)

    def count(self, event: Any, attributes: dict[str, str]) -> None:
        """Count one of a call's events; ``attributes`` are the call's own."""
        if isinstance(event, _hooks.CallEnded):
            outcome = n.outcome_of(event.succeeded, event.reason)
            ended = {**attributes, n.OUTCOME: outcome}
            self.calls.add(1, ended)
            self.call_duration.record(event.elapsed, ended)
            if event.reason is StopReason.BUDGET_EXHAUSTED or (
                event.reason is StopReason.CIRCUIT_OPEN and event.attempts
            ):  # a retry refused (a call refused before sending is a CallRejected)
                self.rejections.add(1, {**attributes, n.REJECTION: event.reason.name.lower()})
        elif isinstance(event, _hooks.AttemptEnded):
            self.attempts.add(1, {
                **attributes, n.CLOUD_REGION: event.region, n.ATTEMPT_OUTCOME: event.outcome,
            })
        elif isinstance(event, _hooks.RetryScheduled):
            self.retries.add(1, attributes)
        elif isinstance(event, _hooks.CallRejected):
            self.rejections.add(1, {**attributes, n.REJECTION: event.reason.name.lower()})
        elif isinstance(event, _hooks.FailedOver):
            self.failovers.add(1, {
                **attributes, n.CLOUD_REGION: event.region, n.TO_REGION: event.to_region,
            })
        elif isinstance(event, _hooks.HedgeFired):
            self.hedges.add(1, {**attributes, n.TO_REGION: event.to_region})
        elif isinstance(event, _hooks.HedgeEnded) and event.hedge_won:
            self.hedge_wins.add(1, attributes)


#: (provider, its instruments): made again when another provider is set.
_current: tuple[Any, Instruments | None] = (None, None)
_current_lock = threading.Lock()


def instruments() -> Instruments | None:
    """The instruments of the meter provider set now; None when none is
    (the API's proxy or no-op), at the cost of one type check."""
    global _current
    provider = meter_provider()
    if provider is None:
        return None
    cached_provider, cached = _current
    if provider is cached_provider:
        return cached
    with _current_lock:
        if _current[0] is not provider:
            _current = (provider, Instruments(provider))
        return _current[1]


# -- gauges, read from the health view at collection ------------------------------------

#: botocore service name -> service id ("dynamodb" -> "DynamoDB"), as clients
#: are made: the health view knows endpoints by service name. Bounded by
#: botocore's list of services.
_SERVICE_IDS: dict[str, str] = {}
_SERVICE_IDS_LOCK = threading.Lock()

_BREAKER_VALUES = {"closed": 0, "half-open": 1, "open": 2}


def know_service(name: str, service_id: str) -> None:
    with _SERVICE_IDS_LOCK:
        _SERVICE_IDS[name] = service_id


def service_id_of(name: str) -> str:
    """botocore's service id for a service name a client was made for."""
    return _SERVICE_IDS.get(name, name)


def _observe(read: Callable[[Any], Iterable[tuple[float, dict[str, Any]]]]) -> Callable[[Any], Any]:
    def callback(_options: Any) -> list[metrics.Observation]:
        from resilient_cloud._health import health

        observations = []
        for endpoint in health():
            base = {
                n.RPC_SERVICE: service_id_of(endpoint.endpoint.service),
                n.CLOUD_REGION: endpoint.endpoint.region,
            }
            for value, extra in read(endpoint):
                observations.append(metrics.Observation(value, {**base, **extra}))
        return observations

    return callback


def _budget(endpoint: Any) -> Iterable[tuple[float, dict[str, Any]]]:
    if endpoint.budget_balance is not None:
        yield endpoint.budget_balance, {}


def _breaker(endpoint: Any) -> Iterable[tuple[float, dict[str, Any]]]:
    if endpoint.breaker is not None:
        yield _BREAKER_VALUES[endpoint.breaker.state.value], {}


def _bulkhead(endpoint: Any) -> Iterable[tuple[float, dict[str, Any]]]:
    if endpoint.bulkhead is not None:
        yield endpoint.bulkhead.in_use, {}


def _routing(endpoint: Any) -> Iterable[tuple[float, dict[str, Any]]]:
    """1 for the region a client group's calls start in, 0 for its others."""
    routing = endpoint.routing
    if routing is not None:
        for region in routing.regions:
            yield (1 if region == routing.region else 0), {n.TO_REGION: region}


def _gauges(meter: Any) -> None:
    meter.create_observable_gauge(
        n.BUDGET_TOKENS, [_observe(_budget)], "{token}", "Retry tokens available per endpoint"
    )
    meter.create_observable_gauge(
        n.BREAKER_STATE_GAUGE, [_observe(_breaker)], "1",
        "Circuit breaker state per endpoint: 0 closed, 1 half-open, 2 open",
    )
    meter.create_observable_gauge(
        n.BULKHEAD_IN_USE, [_observe(_bulkhead)], "{call}", "Calls in flight per endpoint"
    )
    meter.create_observable_gauge(
        n.ROUTED_REGION, [_observe(_routing)], "1",
        "Per client group, 1 for the region its calls start in now, 0 for its other regions",
    )
