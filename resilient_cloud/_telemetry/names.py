"""The names resilient_cloud reports under: span and metric attributes, span
events and instruments. The log lines use the same attribute names.

Attributes follow OpenTelemetry's semantic conventions for AWS SDK calls
(``rpc.*``, ``cloud.region``, ``aws.request_id``); ours are prefixed
``resilient_cloud.``. Metric attributes are bounded: service, operation,
region and an outcome from a fixed set, never a table, key or parameter.
"""

from __future__ import annotations

from resilient_cloud.errors import StopReason

SCOPE = "resilient_cloud"

# -- attributes (spans, metrics, logs) --------------------------------------------
RPC_SYSTEM = "rpc.system"
RPC_SYSTEM_AWS = "aws-api"
RPC_SERVICE = "rpc.service"
RPC_METHOD = "rpc.method"
CLOUD_REGION = "cloud.region"
AWS_REQUEST_ID = "aws.request_id"

ATTEMPTS = "resilient_cloud.attempts"
ATTEMPT = "resilient_cloud.attempt"
#: "success", or why the call stopped (a :class:`StopReason`'s name, lowercase).
OUTCOME = "resilient_cloud.outcome"
#: How one attempt ended ("success", "server-error", "throttled", ...).
ATTEMPT_OUTCOME = "resilient_cloud.attempt.outcome"
STOP_REASON = "resilient_cloud.stop_reason"
#: The region whose answer the call ended with.
SERVED_REGION = "resilient_cloud.region.served"
TO_REGION = "resilient_cloud.region.to"
DNS_STALE = "resilient_cloud.dns.stale"
DNS_STALE_FOR = "resilient_cloud.dns.stale_for"
#: The host name looked up (log lines only: unbounded for metrics).
DNS_HOST = "server.address"
HEDGED = "resilient_cloud.hedged"
HEDGE_WON = "resilient_cloud.hedge.won"
REJECTION = "resilient_cloud.rejection"
DELAY = "resilient_cloud.delay"
BUDGET_COST = "resilient_cloud.budget.cost"
BUDGET_GRANTING = "resilient_cloud.budget.granting"
REASON = "resilient_cloud.reason"
ENDPOINT = "resilient_cloud.endpoint"
BREAKER_BEFORE = "resilient_cloud.breaker.before"
BREAKER_STATE = "resilient_cloud.breaker.state"
DURATION = "resilient_cloud.duration"

# -- span events -----------------------------------------------------------------------
EVENT_ATTEMPT = "resilient_cloud.attempt"
EVENT_RETRY = "resilient_cloud.retry_scheduled"
EVENT_REJECTED = "resilient_cloud.rejected"
EVENT_BUDGET_REFUSED = "resilient_cloud.budget_refused"
EVENT_BREAKER_REFUSED = "resilient_cloud.breaker_refused"
EVENT_FAILOVER = "resilient_cloud.failover"
EVENT_HEDGE = "resilient_cloud.hedge"
EVENT_HEDGE_ENDED = "resilient_cloud.hedge_ended"
EVENT_BREAKER = "resilient_cloud.breaker_state_changed"
EVENT_REGION_SWITCHED = "resilient_cloud.region_switched"
EVENT_BUDGET = "resilient_cloud.budget_changed"

# -- instruments ---------------------------------------------------------------------
CALLS = "resilient_cloud.calls"
ATTEMPTS_COUNTER = "resilient_cloud.attempts"
RETRIES = "resilient_cloud.retries"
HEDGES = "resilient_cloud.hedges"
HEDGE_WINS = "resilient_cloud.hedge.wins"
REJECTIONS = "resilient_cloud.rejections"
FAILOVERS = "resilient_cloud.failovers"
DNS_STALE_ANSWERS = "resilient_cloud.dns.stale_answers"
DNS_REFRESH_FAILURES = "resilient_cloud.dns.refresh_failures"
CALL_DURATION = "resilient_cloud.call.duration"
BUDGET_TOKENS = "resilient_cloud.retry_budget.tokens"
BREAKER_STATE_GAUGE = "resilient_cloud.circuit_breaker.state"
BULKHEAD_IN_USE = "resilient_cloud.bulkhead.in_use"
ROUTED_REGION = "resilient_cloud.routing.region"

SUCCESS = "success"
#: A call that ended without a stop reason of its own: cancelled (asyncio),
#: or interrupted in its driver.
CANCELLED = "cancelled"


def outcome_of(succeeded: bool, reason: StopReason | None) -> str:
    """A call's outcome attribute: "success", its stop reason's name, or "cancelled"."""
    if succeeded:
        return SUCCESS
    return CANCELLED if reason is None else reason.name.lower()
