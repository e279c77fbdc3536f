"""The record of one logical call, read by the tenacity strategies."""

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


@dataclass(frozen=True, slots=True)
class Operation:
    """What the pipeline needs to know about one operation of one client."""

    name: str
    model: Any  # botocore.model.OperationModel
    safety: Safety
    #: Members botocore fills with a fresh UUID when absent; we fill them
    #: once per call so every attempt sends the same token.
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
    #: Where the call goes, for events and messages.
    endpoint: str = ""
    #: Streams in the parameters and where they started; None when a
    #: stream cannot be rewound (so the call must not be retried).
    body_positions: list[tuple[Any, int]] | None = field(default_factory=list)
    attempts: int = 0
    outcome: AttemptOutcome | None = None
    stop_reason: StopReason | None = None
    last_budget_cost: float = 0.0
    #: The last attempt's error: a call the breaker stops mid-way ends with it.
    last_error: BaseException | None = None

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
    """The :class:`Call` a strategy is deciding about.

    Our driver runs every attempt as ``attempt(call, ...)``, so the call is
    the first argument tenacity recorded.
    """
    return retry_state.args[0]
