"""The health view: each endpoint's breaker, budget and bulkhead, the region
its clients' calls start in, its hedges and its rate limiter; for dashboards
and debugging."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from resilient_cloud._breaker import BreakerSnapshot, CircuitBreakerState
from resilient_cloud._budget import RetryBudgetState
from resilient_cloud._bulkhead import BulkheadSnapshot, BulkheadState
from resilient_cloud._hedging import HedgeSnapshot, HedgeState
from resilient_cloud._ratelimit import RateLimiterState, RateSnapshot
from resilient_cloud._registry import REGISTRY, Endpoint
from resilient_cloud._routing import RegionRouter, RoutingSnapshot


@dataclass(frozen=True)
class EndpointHealth:
    """One endpoint as this process sees it; a mechanism that is off (or not
    used yet) is None. When several policies govern one endpoint, each
    mechanism shows the state created last."""

    endpoint: Endpoint
    breaker: BreakerSnapshot | None
    #: Retry tokens available right now.
    budget_balance: float | None
    bulkhead: BulkheadSnapshot | None
    #: For the own region of clients with fallback regions: where their
    #: calls start now, and why.
    routing: RoutingSnapshot | None = None
    #: Hedged reads of clients with a :class:`Hedge`: fired, won, delay.
    hedging: HedgeSnapshot | None = None
    #: The rate limiter: whether it paces attempts (after throttles), at what rate.
    rate_limit: RateSnapshot | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.breaker is not None:
            data["breaker"]["state"] = self.breaker.state.value
        return data


def health(endpoints: Iterable[Endpoint] | None = None) -> list[EndpointHealth]:
    """The health of every endpoint this process has called (or of ``endpoints``)."""
    chosen = REGISTRY.endpoints() if endpoints is None else sorted(set(endpoints), key=str)
    views = []
    for endpoint in chosen:
        kinds = {key.kind: (state, key.clock) for key, state in REGISTRY.states_of(endpoint).items()}
        if kinds:
            views.append(_endpoint_health(endpoint, kinds))
    return views


def _endpoint_health(endpoint: Endpoint, kinds: dict[str, tuple[Any, Any]]) -> EndpointHealth:
    breaker: CircuitBreakerState | None
    budget: RetryBudgetState | None
    breaker, breaker_clock = kinds.get("breaker", (None, None))
    budget, budget_clock = kinds.get("budget", (None, None))
    bulkhead: BulkheadState | None = kinds.get("bulkhead", (None, None))[0]
    router: RegionRouter | None
    router, router_clock = kinds.get("routing", (None, None))
    hedge: HedgeState | None = kinds.get("hedge", (None, None))[0]
    limiter: RateLimiterState | None
    limiter, limiter_clock = kinds.get("rate", (None, None))
    return EndpointHealth(
        endpoint=endpoint,
        breaker=breaker.snapshot(breaker_clock.monotonic()) if breaker else None,
        budget_balance=budget.balance(budget_clock.monotonic()) if budget else None,
        bulkhead=bulkhead.snapshot() if bulkhead else None,
        routing=router.snapshot(router_clock.monotonic()) if router else None,
        hedging=hedge.snapshot() if hedge else None,
        rate_limit=limiter.snapshot(limiter_clock.monotonic()) if limiter else None,
    )
