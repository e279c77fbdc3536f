"""Errors, and why a call stopped.

When at least one request was sent, a failed call ends with the last real
botocore error, unchanged in type; :func:`stop_details` (or the error's
``resilience`` attribute) says why no further attempt was made, and a note
on the exception says it in words. :class:`ResilienceError` subclasses are
raised only when no request could be sent at all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError

__all__ = [
    "BulkheadFullError",
    "CircuitOpenError",
    "DeadlineExceededError",
    "ResilienceError",
    "StopDetails",
    "StopReason",
    "stop_details",
]


class StopReason(enum.Enum):
    """Why no further attempt was made."""

    ATTEMPTS_EXHAUSTED = "attempts exhausted"
    BUDGET_EXHAUSTED = "retry budget empty"
    DEADLINE = "deadline reached"
    NOT_RETRYABLE = "error is not retryable"
    UNSAFE_TO_RETRY = "unsafe operation may already have been applied"
    STREAM_NOT_SEEKABLE = "request body cannot be rewound"
    CIRCUIT_OPEN = "circuit breaker open"
    BULKHEAD_FULL = "bulkhead full"


@dataclass(frozen=True, slots=True)
class StopDetails:
    """Why a call stopped, attached to the error it ended with."""

    reason: StopReason
    service: str
    operation: str
    region: str
    attempts: int
    elapsed: float

    def describe(self) -> str:
        plural = "" if self.attempts == 1 else "s"
        return (
            f"resilient_cloud: {self.service}.{self.operation} in {self.region} "
            f"stopped after {self.attempts} attempt{plural} "
            f"in {self.elapsed:.3f}s: {self.reason.value}"
        )


def stop_details(error: BaseException) -> StopDetails | None:
    """The :class:`StopDetails` attached to ``error``, if it ended a managed call."""
    return getattr(error, "resilience", None)


def annotate(error: BaseException, details: StopDetails) -> None:
    """Attach ``details`` to ``error`` as an attribute and a note."""
    error.resilience = details  # type: ignore[attr-defined]
    note = details.describe()
    if hasattr(error, "add_note"):
        error.add_note(note)
    else:  # Python 3.10: keep the note where 3.11's traceback would read it
        error.__notes__ = [*getattr(error, "__notes__", []), note]  # type: ignore[attr-defined]


class ResilienceError(BotoCoreError):
    """resilient_cloud refused to send any request for this call.

    Subclasses :class:`botocore.exceptions.BotoCoreError`, so existing broad
    handlers still catch it. ``last_error`` is the underlying error, if any.
    """

    fmt = "{service}.{operation} in {region}: {cause}"

    def __init__(
        self,
        *,
        service: str,
        operation: str,
        region: str,
        cause: str,
        last_error: BaseException | None = None,
    ) -> None:
        super().__init__(
            service=service, operation=operation, region=region, cause=cause
        )
        self.service = service
        self.operation = operation
        self.region = region
        self.cause = cause
        self.last_error = last_error


class DeadlineExceededError(ResilienceError):
    """The call's deadline passed before any request could be sent."""


class CircuitOpenError(ResilienceError):
    """The endpoint's circuit breaker is open: no request was sent.

    ``retry_after`` is the number of seconds until a probe may go;
    ``last_failure`` describes the failure that last counted against the
    endpoint (its kind and error code).
    """

    def __init__(
        self, *, retry_after: float | None, last_failure: str | None, **fields: str
    ) -> None:
        super().__init__(**fields)
        self.retry_after = retry_after
        self.last_failure = last_failure


class BulkheadFullError(ResilienceError):
    """The endpoint already has as many calls in flight as its bulkhead
    allows (``limit``): no request was sent."""

    def __init__(self, *, limit: int, **fields: str) -> None:
        super().__init__(**fields)
        self.limit = limit
