"""What each core event becomes in telemetry: a span event's name and
attributes. The log line of a state change carries the same attributes, so
a span and a log record of one change use one set of names."""

from __future__ import annotations

from typing import Any

from resilient_cloud import hooks as _hooks
from resilient_cloud._core.notes import BudgetChanged
from resilient_cloud._telemetry import names as n
from resilient_cloud.errors import StopReason


def span_events(event: Any) -> list[tuple[str, dict[str, Any]]]:
    """The span events (name, attributes) of one of a call's events."""
    if isinstance(event, _hooks.AttemptEnded):
        return [(n.EVENT_ATTEMPT, {
            n.ATTEMPT: event.attempt, n.CLOUD_REGION: event.region,
            n.ATTEMPT_OUTCOME: event.outcome, n.DURATION: event.duration,
        })]
    if isinstance(event, _hooks.RetryScheduled):
        return [(n.EVENT_RETRY, {
            n.ATTEMPT: event.attempt, n.DELAY: event.delay,
            n.ATTEMPT_OUTCOME: event.outcome, n.BUDGET_COST: event.budget_cost,
        })]
    if isinstance(event, _hooks.CallRejected):
        rejected: dict[str, Any] = {n.REJECTION: event.reason.name.lower()}
        if event.retry_after is not None:
            rejected[n.DELAY] = event.retry_after
        found = [(n.EVENT_REJECTED, rejected)]
        if event.reason is StopReason.CIRCUIT_OPEN:
            found.append((n.EVENT_BREAKER_REFUSED, {n.CLOUD_REGION: event.region}))
        return found
    if isinstance(event, _hooks.CallEnded):
        if event.reason is StopReason.BUDGET_EXHAUSTED:
            return [(n.EVENT_BUDGET_REFUSED, {n.ATTEMPTS: event.attempts})]
        if event.reason is StopReason.CIRCUIT_OPEN and event.attempts:  # a retry refused
            return [(n.EVENT_BREAKER_REFUSED, {n.CLOUD_REGION: event.region})]
        return []
    if isinstance(event, _hooks.HedgeFired):
        return [(n.EVENT_HEDGE, {n.TO_REGION: event.to_region, n.DELAY: event.delay})]
    if isinstance(event, _hooks.HedgeEnded):
        return [(n.EVENT_HEDGE_ENDED, {n.HEDGE_WON: event.hedge_won})]
    change = state_change(event)
    return [change] if change is not None else []


def state_change(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The span event of a change worth a log line (or of a failover), with
    the attributes that line carries too."""
    if isinstance(event, _hooks.BreakerStateChanged):
        return n.EVENT_BREAKER, {
            n.RPC_SERVICE: event.service, n.CLOUD_REGION: event.region,
            n.ENDPOINT: event.endpoint, n.BREAKER_BEFORE: event.before,
            n.BREAKER_STATE: event.after, n.REASON: event.reason,
        }
    if isinstance(event, _hooks.RegionSwitched):
        return n.EVENT_REGION_SWITCHED, {
            n.RPC_SERVICE: event.service, n.CLOUD_REGION: event.before,
            n.TO_REGION: event.after, n.REASON: event.reason,
        }
    if isinstance(event, BudgetChanged):
        return n.EVENT_BUDGET, {
            n.RPC_SERVICE: event.service, n.CLOUD_REGION: event.region,
            n.BUDGET_GRANTING: event.granting,
        }
    if isinstance(event, _hooks.FailedOver):
        return n.EVENT_FAILOVER, {
            n.CLOUD_REGION: event.region, n.TO_REGION: event.to_region, n.REASON: event.reason,
        }
    return None
