"""What one attempt's result means, judged with botocore's own knowledge.

botocore's standard retry mode already knows which errors are transient
(500/502/503/504, RequestTimeout...), which are throttling (its code list and
the model's ``retryable.throttling`` trait), which are modeled retryable, and
a few special cases. We reuse those checkers rather than copy their lists.

On top we answer two questions retries above botocore must ask.

*Could this request have reached the service?* Decided by **where** the
attempt failed, never by exception class alone: only a failure before any
byte of the request was written is "not sent" (DNS failure, connection
refused, connect timeout, proxy connect failure, a TLS handshake that failed).
botocore's ``SSLError`` is raised both for a failed handshake and for a TLS
record corrupted while the response is read (and a handshake that is reset
or times out surfaces as ``ConnectionClosedError`` or ``ReadTimeoutError``),
so a transport error counts as not sent only when our connection class saw
the connection being made and no write started (:class:`AttemptTrace`). A throttling answer means the service refused the
request. Everything else (5xx, read timeout, connection closed or reset, a
body that fails its checksum) is ambiguous: the write may have been applied.

*Does it say anything about the endpoint?* Only failures of the endpoint
itself do (5xx, connections, timeouts). Throttling and every other 4xx answer
(``ResourceNotFound``, conditional check failures, a retryable
``RequestTimeout``) are about one resource or one request: the endpoint
answered, so it counts as healthy for the breaker and the region router.

The whole table is in docs/configuration.md ("How each outcome is judged").
"""

from __future__ import annotations

import contextvars
import sys
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from botocore.exceptions import (
    ChecksumError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ProxyConnectionError,
    ReadTimeoutError,
)
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
    #: "connection-failed" (before any byte was written), "timeout",
    #: "connection-closed" (after the request was or may have been written),
    #: "checksum-mismatch", "client-error", "client-retryable" (a retryable
    #: 4xx answer), "not-sent" (answered by a before-call handler),
    #: "interrupted" or "error".
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
        circuit breaker: True (server error, connection, DNS, timeout or a
        corrupted body), False (it answered, even with a throttle or another
        4xx error: those are about one resource, not the endpoint), or None
        (the failure was ours: nothing was sent, or the caller interrupted)."""
        if self.kind in _HEALTHY_KINDS:
            return False
        if self.kind in _SILENT_KINDS:
            return None
        return True

    @property
    def region_sick(self) -> bool | None:
        """What this attempt says about the region, for failover: True when
        it failed in a way another region may not (DNS, connection, timeout,
        server error), False when it answered (throttles and 4xx errors
        included: the service is alive and pushing back on one resource, and
        moving would only carry the overload elsewhere or serve stale data),
        None otherwise."""
        if self.kind in _HEALTHY_KINDS:
            return False
        return True if self.kind in _SICK_KINDS else None


SUCCESS = AttemptOutcome("success")
_HEALTHY_KINDS = frozenset({"success", "client-error", "client-retryable", "throttled"})
_SILENT_KINDS = frozenset({"not-sent", "error", "interrupted"})
_SICK_KINDS = frozenset(
    {"connection-failed", "server-error", "timeout", "connection-closed", "transient-error"}
)


@dataclass(slots=True)
class Exchange:
    """What botocore's ``needs-retry`` event saw for one attempt."""

    http_response: Any = None
    parsed_response: Any = None
    caught_exception: Exception | None = None


@dataclass(slots=True)
class AttemptTrace:
    """What one attempt did on the wire, noted by botocore's events and our
    connection class while it runs (in the attempt's own context)."""

    #: botocore's ``needs-retry`` report; None when no request was made.
    exchange: Exchange | None = None
    #: Our connection class started connecting during this attempt.
    connecting: bool = False
    #: Our connection class started writing the request.
    writing: bool = False
    #: Where the call keeps the idempotency tokens botocore filled, so that
    #: every later attempt sends the same ones.
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def wrote_nothing(self) -> bool:
        """Certain that no byte of the request was written: the connection
        was being made under our watch and no write started."""
        return self.connecting and not self.writing


# The trace of the attempt running in this thread or task.
CURRENT_TRACE: contextvars.ContextVar[AttemptTrace | None] = contextvars.ContextVar(
    "resilient_cloud_attempt_trace", default=None
)

# botocore errors raised before a request is written: the name did not
# resolve, the connection was refused or timed out, the proxy refused. Unless
# the trace saw writing start: aiobotocore raises EndpointConnectionError for
# any aiohttp ClientConnectionError, a reset after writing included.
_BEFORE_WRITING = (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError)
# Transport errors that can come before or after writing (SSLError; a reset
# or a timeout during the TLS handshake, which urllib3 reports as
# ConnectionClosedError or ReadTimeoutError): the trace says which.
_TRANSPORT = (BotocoreConnectionError, HTTPClientError)


class _ReadResponse(NamedTuple):
    """What botocore's checkers read of a response: status, headers, bytes."""

    status_code: int
    headers: Any
    content: bytes


def readable(http_response: Any) -> Any:
    """``http_response`` as botocore's (sync) checkers can read it.

    aiobotocore's ``AioAWSResponse.content`` is a coroutine; the body it has
    read is kept in ``_content`` by the time the response is parsed (always,
    for an error). A body it never read (a streamed one) is not checked: its
    checksum header is left out.
    """
    aio = sys.modules.get("aiobotocore.awsrequest")  # imported by any aiobotocore client
    if aio is None or not isinstance(http_response, aio.AioAWSResponse):
        return http_response
    body = http_response._content
    headers = http_response.headers
    if body is None:
        headers = {name: value for name, value in headers.items() if name.lower() != "x-amz-crc32"}
    return _ReadResponse(http_response.status_code, headers, body or b"")


def classify(
    error: BaseException | None, trace: AttemptTrace, operation_model: Any
) -> AttemptOutcome:
    """Judge one attempt. ``trace.exchange`` is None when no request was
    made (a ``before-call`` handler such as botocore's Stubber answered)."""
    if error is None:
        return SUCCESS
    if not isinstance(error, Exception):
        return AttemptOutcome("interrupted", type(error).__name__)
    exchange = trace.exchange
    if exchange is None:
        kind = "not-sent" if isinstance(error, ClientError) else "error"
        return AttemptOutcome(kind, _error_name(error))
    context = standard.RetryContext(
        attempt_number=1,
        operation_model=operation_model,
        parsed_response=exchange.parsed_response,
        http_response=readable(exchange.http_response),
        caught_exception=exchange.caught_exception,
    )
    name = _error_name(error)
    if _THROTTLING.is_throttling_error_from_context(context):
        return AttemptOutcome(
            "throttled", name, retryable=True, throttled=True, may_have_reached_service=False
        )
    if (isinstance(error, _BEFORE_WRITING) and not trace.writing) or (
        isinstance(error, _TRANSPORT) and trace.wrote_nothing
    ):
        return AttemptOutcome(
            "connection-failed", name, retryable=True, may_have_reached_service=False
        )
    if isinstance(error, ChecksumError):
        # The service answered and may have applied a write; the body we got
        # is not the one it sent. botocore retries this (and so do we).
        return AttemptOutcome("checksum-mismatch", name, retryable=True)
    retryable = (
        _TRANSIENT.is_retryable(context)
        or _MODELED.is_retryable(context)
        or _SPECIAL.is_retryable(context)
    )
    return AttemptOutcome(_failure_kind(error, exchange, retryable), name, retryable=retryable)


def _failure_kind(error: BaseException, exchange: Exchange, retryable: bool) -> str:
    if isinstance(error, ReadTimeoutError):
        return "timeout"
    if isinstance(error, (HTTPClientError, BotocoreConnectionError)):
        # Closed, reset or broken TLS after the request was (or may have
        # been) written: SSLError mid-response, ProtocolError, IncompleteRead.
        return "connection-closed"
    status = getattr(exchange.http_response, "status_code", None)
    if status is not None and status >= 500:
        return "server-error"
    if status is not None and status >= 400:
        # The endpoint answered about this request or resource.
        return "client-retryable" if retryable else "client-error"
    if retryable:
        return "transient-error"
    return "client-error" if isinstance(error, ClientError) else "error"


def _error_name(error: BaseException) -> str:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__
