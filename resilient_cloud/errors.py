"""Errors, and why a call stopped.

When at least one request was sent, a failed call ends with the last real
botocore error, unchanged in type; :func:`stop_details` (or the error's
``resilience`` attribute) says why no further attempt was made, and a note
on the exception says it in words. :class:`ResilienceError` subclasses are
raised only when no request could be sent at all.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError

if TYPE_CHECKING:
    from typing_extensions import NotRequired, TypedDict, Unpack

    class ErrorFields(TypedDict):
        """The keyword arguments every :class:`ResilienceError` takes."""

        service: str
        operation: str
        region: str
        cause: str
        last_error: NotRequired[BaseException | None]

__all__ = [
    "BulkheadFullError",
    "CircuitOpenError",
    "DeadlineExceededError",
    "RateLimitedError",
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
    RATE_LIMITED = "rate limiter has no slot before the deadline"


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
    """Attach ``details`` to ``error`` as an attribute and a note, in a way
    that survives pickling (a ``ProcessPoolExecutor`` sends errors back)."""
    _annotate(error, details, [*getattr(error, "__notes__", []), details.describe()])


def _annotate(error: BaseException, details: StopDetails, notes: list[str]) -> None:
    error.resilience = details  # type: ignore[attr-defined]
    error.__notes__ = notes  # type: ignore[attr-defined, unused-ignore]  # where add_note keeps them (typeshed: 3.11+)
    # botocore's errors pickle through __reduce__ methods that keep only
    # their constructor arguments, losing both. pickle and copy look the
    # reducer up on the instance first, so this one error carries its own.
    error.__reduce_ex__ = functools.partial(_reduce_annotated, error)  # type: ignore[method-assign]


def _reduce_annotated(error: BaseException, protocol: int) -> tuple[Any, ...]:
    # A str answer (a global's name) is for module-level objects, never for errors.
    factory, args, *rest = cast("tuple[Any, ...]", type(error).__reduce_ex__(error, protocol))
    state = rest[0] if rest else None
    if isinstance(state, dict):
        state = {key: value for key, value in state.items() if key != "__reduce_ex__"}
    notes = list(error.__notes__)  # type: ignore[attr-defined, unused-ignore]  # typeshed: 3.11+
    return (_rebuild_annotated, (factory, args, state, error.resilience, notes))  # type: ignore[attr-defined]


def _rebuild_annotated(
    factory: Any, args: tuple[Any, ...], state: Any, details: StopDetails, notes: list[str]
) -> BaseException:
    error: BaseException = factory(*args)
    if state:
        if hasattr(error, "__setstate__"):
            error.__setstate__(state)
        else:
            error.__dict__.update(state)
    _annotate(error, details, notes)
    return error


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

    def __reduce__(self) -> tuple[Any, ...]:
        # BotoCoreError rebuilds from the message fields alone, which lack
        # our own keyword arguments (retry_after, limit, last_error).
        return (_rebuild_resilience_error, (type(self), self._arguments()))

    def _arguments(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "region": self.region,
            "cause": self.cause,
            "last_error": self.last_error,
        }


def _rebuild_resilience_error(cls: type[ResilienceError], arguments: dict[str, Any]) -> ResilienceError:
    return cls(**arguments)


class DeadlineExceededError(ResilienceError):
    """The call's deadline passed before any request could be sent."""


class CircuitOpenError(ResilienceError):
    """The endpoint's circuit breaker is open: no request was sent.

    ``retry_after`` is the number of seconds until a probe may go;
    ``last_failure`` describes the failure that last counted against the
    endpoint (its kind and error code).
    """

    def __init__(
        self, *, retry_after: float | None, last_failure: str | None, **fields: Unpack[ErrorFields]
    ) -> None:
        super().__init__(**fields)
        self.retry_after = retry_after
        self.last_failure = last_failure

    def _arguments(self) -> dict[str, Any]:
        return {
            **super()._arguments(),
            "retry_after": self.retry_after,
            "last_failure": self.last_failure,
        }


class BulkheadFullError(ResilienceError):
    """The endpoint already has as many calls in flight as its bulkhead
    allows (``limit``): no request was sent."""

    def __init__(self, *, limit: int, **fields: Unpack[ErrorFields]) -> None:
        super().__init__(**fields)
        self.limit = limit

    def _arguments(self) -> dict[str, Any]:
        return {**super()._arguments(), "limit": self.limit}


class RateLimitedError(ResilienceError):
    """The endpoint throttled, and its rate limiter has no slot for this
    call before its deadline (or within ``RateLimiter.max_wait``): no request
    was sent. ``retry_after`` is the number of seconds until the next slot."""

    def __init__(self, *, retry_after: float | None, **fields: Unpack[ErrorFields]) -> None:
        super().__init__(**fields)
        self.retry_after = retry_after

    def _arguments(self) -> dict[str, Any]:
        return {**super()._arguments(), "retry_after": self.retry_after}
