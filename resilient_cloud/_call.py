"""The record of one logical call, kept by its call core (the one writer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from resilient_cloud._outcome import AttemptOutcome
from resilient_cloud._safety import Safety
from resilient_cloud.errors import StopDetails, StopReason

if TYPE_CHECKING:
    from tenacity import RetryCallState

    from resilient_cloud._breaker import CircuitBreakerState
    from resilient_cloud._budget import RetryBudgetState
    from resilient_cloud._bulkhead import BulkheadState
    from resilient_cloud._failover import CallRoutes, Route
    from resilient_cloud._hedging import HedgeState


@dataclass(frozen=True, slots=True)
class Operation:
    """What the pipeline needs to know about one operation of one client."""

    name: str
    model: Any  # botocore.model.OperationModel
    safety: Safety
    #: Members botocore fills with a fresh UUID when absent; every attempt
    #: of a call sends the token botocore filled for its first.
    idempotency_token_members: tuple[str, ...]


@dataclass(slots=True)
class Call:
    """One logical call: its attempts, last outcome and why it stopped."""

    operation: Operation
    service: str
    region: str
    max_attempts: int
    started_at: float
    deadline_at: float | None
    budget: RetryBudgetState | None
    retry_unsafe: bool
    breaker: CircuitBreakerState | None = None
    bulkhead: BulkheadState | None = None
    #: Where the next attempt goes, for events and messages.
    endpoint: str = ""
    #: The region the next attempt goes to (None: the client has one region).
    route: Route | None = None
    #: The regions this call may use (None: it stays in its client's region).
    routes: CallRoutes | None = None
    #: The region whose answer the call last settled on (a hedge's may win).
    answered_in: str | None = None
    #: Set when the next attempt moves region: (from region, why); the
    #: region the last attempt went to, once the call has sent one.
    moved_from: tuple[str, str] | None = None
    #: The endpoint's hedge state, for a read that may be hedged.
    hedge: HedgeState | None = None
    #: False when a stream in the parameters cannot be rewound (so the call
    #: must not be retried); ``has_streams``: there are streams at all.
    rewindable: bool = True
    has_streams: bool = False
    attempts: int = 0
    outcome: AttemptOutcome | None = None
    stop_reason: StopReason | None = None
    last_budget_cost: float = 0.0
    #: The last attempt's error: a call the breaker stops mid-way ends with it.
    last_error: BaseException | None = None
    #: Total attempts when the last failure was a throttle (None: max_attempts).
    throttled_attempts: int | None = None
    #: The idempotency tokens botocore filled on the first attempt that got
    #: that far (noted by _botocore.events.note_tokens), reused by the rest.
    idempotency_tokens: dict[str, str] = field(default_factory=dict)

    def move_to(self, route: Route, breaker: CircuitBreakerState | None, why: str) -> None:
        """Send the next attempt to ``route``'s region. ``moved_from`` keeps
        the region the last attempt went to when a call moves on again
        before sending (a region whose breaker refused it)."""
        if self.moved_from is None:
            self.moved_from = (self.region, why)
        self.route = route
        self.region = route.region
        self.endpoint = route.name
        self.breaker = breaker

    def details(self, now: float) -> StopDetails:
        return StopDetails(
            reason=self.stop_reason or StopReason.NOT_RETRYABLE,
            service=self.service,
            operation=self.operation.name,
            region=self.region,
            attempts=self.attempts,
            elapsed=now - self.started_at,
        )


def call_of(retry_state: RetryCallState) -> Call:
    """The :class:`Call` a wait strategy is asked about: the call core
    passes it as the first argument of the ``RetryCallState`` it fills."""
    call: Call = retry_state.args[0]
    return call
