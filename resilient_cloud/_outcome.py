"""What one attempt's result means, judged with botocore's own knowledge.

botocore's standard retry mode already knows which errors are transient
(500/502/503/504, RequestTimeout...), which are throttling (its code list and
the model's ``retryable.throttling`` trait), which are modeled retryable, and
a few special cases. We reuse those checkers rather than copy their lists.

On top we answer the question retries above botocore must ask: could this
request have reached the service? botocore's ``ConnectionError`` family (DNS
failure, connection refused, connect timeout, TLS handshake, proxy) fails
before the request is written; a throttling answer means the service refused
it. Everything else that failed after sending (5xx, read timeout, connection
closed mid-response) is ambiguous: the write may have been applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.retries import special, standard

_TRANSIENT = standard.TransientRetryableChecker()
_THROTTLING = standard.ThrottlingErrorDetector(standard.RetryEventAdapter())
_MODELED = standard.ModeledRetryableChecker()
_SPECIAL = standard.OrRetryChecker(
    [special.RetryIDPCommunicationError(), special.RetryDDBChecksumError()]
)


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """The verdict on one attempt."""

    #: "success", "throttled", "server-error", "transient-error",
    #: "connection-failed", "timeout", "connection-closed", "client-error",
    #: "not-sent" (answered by a before-call handler) or "error".
    kind: str
    #: The service's error code or the exception's class name.
    error: str | None = None
    retryable: bool = False
    throttled: bool = False
    #: False only when the request certainly never reached the service.
    may_have_reached_service: bool = True

    @property
    def succeeded(self) -> bool:
        return self.kind == "success"

    @property
    def endpoint_failed(self) -> bool | None:
        """What this attempt says about the endpoint's health, for the
        circuit breaker: True (server error, throttling, connection, DNS or
        timeout), False (it answered, even with a client error), or None (the
        failure was ours: nothing was sent, or the caller interrupted)."""
        if self.kind in _HEALTHY_KINDS:
            return False
        if self.kind in _SILENT_KINDS:
            return None
        return True

    @property
    def region_sick(self) -> bool | None:
        """What this attempt says about the region, for failover: True when
        it failed in a way another region may not (DNS, connection, timeout,
        server error), False when it answered, None otherwise. Throttling is
        not sickness: it is the caller's own capacity, and moving would only
        carry the overload elsewhere."""
        if self.kind in _HEALTHY_KINDS:
            return False
        return True if self.kind in _SICK_KINDS else None


SUCCESS = AttemptOutcome("success")
_HEALTHY_KINDS = frozenset({"success", "client-error"})
_SILENT_KINDS = frozenset({"not-sent", "error", "interrupted"})
_SICK_KINDS = frozenset(
    {"connection-failed", "server-error", "timeout", "connection-closed", "transient-error"}
)


@dataclass(slots=True)
class Exchange:
    """What botocore's ``needs-retry`` event saw for one attempt."""

    http_response: Any = None
    parsed_response: Any = None
    caught_exception: BaseException | None = None


def classify(
    error: BaseException | None, exchange: Exchange | None, operation_model: Any
) -> AttemptOutcome:
    """Judge one attempt. ``exchange`` is None when no request was made
    (a ``before-call`` handler such as botocore's Stubber answered)."""
    if error is None:
        return SUCCESS
    if not isinstance(error, Exception):
        return AttemptOutcome("interrupted", type(error).__name__)
    if exchange is None:
        kind = "not-sent" if isinstance(error, ClientError) else "error"
        return AttemptOutcome(kind, _error_name(error))
    context = standard.RetryContext(
        attempt_number=1,
        operation_model=operation_model,
        parsed_response=exchange.parsed_response,
        http_response=exchange.http_response,
        caught_exception=exchange.caught_exception,
    )
    name = _error_name(error)
    if _THROTTLING.is_throttling_error_from_context(context):
        return AttemptOutcome(
            "throttled", name, retryable=True, throttled=True, may_have_reached_service=False
        )
    if isinstance(error, BotocoreConnectionError):
        return AttemptOutcome(
            "connection-failed", name, retryable=True, may_have_reached_service=False
        )
    retryable = (
        _TRANSIENT.is_retryable(context)
        or _MODELED.is_retryable(context)
        or _SPECIAL.is_retryable(context)
    )
    return AttemptOutcome(_failure_kind(error, exchange, retryable), name, retryable=retryable)


def _failure_kind(error: BaseException, exchange: Exchange, retryable: bool) -> str:
    if isinstance(error, ReadTimeoutError):
        return "timeout"
    if isinstance(error, HTTPClientError):
        return "connection-closed"
    status = getattr(exchange.http_response, "status_code", None)
    if status is not None and status >= 500:
        return "server-error"
    if retryable:
        return "transient-error"
    return "client-error" if isinstance(error, ClientError) else "error"


def _error_name(error: BaseException) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__
