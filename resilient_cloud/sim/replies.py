"""The simulated service's answers in botocore's own shapes.

Every policy judges a simulated answer with the same code that judges a
real one: botocore's retry checkers (``RetryContext``) for the plain
policies, and our classifier (an error plus an attempt trace) for
resilient_cloud. So a throttle is a throttle because botocore says so, not
because the simulator does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from resilient_cloud._outcome import AttemptTrace, Exchange
from resilient_cloud.sim import service

OPERATION = "GetItem"
URL = "https://dynamodb.us-east-1.amazonaws.com/"

_CODES = {
    service.SERVER_ERROR: (500, "InternalServerError"),
    service.SHED: (503, "ServiceUnavailable"),
    service.THROTTLED: (400, "ProvisionedThroughputExceededException"),
}


@dataclass(slots=True)
class HttpResponse:
    """What botocore's checkers read of a response."""

    status_code: int
    headers: dict[str, str]
    content: bytes = b""


class Reply:
    """One attempt's answer: the result or error a client call would give,
    and what botocore's retry handler would have seen."""

    __slots__ = ("kind", "result", "error", "parsed", "http", "caught", "trace")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.result: Any = None
        self.error: BaseException | None = None
        self.parsed: dict[str, Any] | None = None
        self.http: HttpResponse | None = None
        self.caught: Exception | None = None
        if kind == service.OK:
            self.parsed = self.result = {"Item": {}, "ResponseMetadata": {"HTTPStatusCode": 200}}
            self.http = HttpResponse(200, {})
        elif kind in _CODES:
            status, code = _CODES[kind]
            self.parsed = {
                "Error": {"Code": code, "Message": kind},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            self.http = HttpResponse(status, {})
            self.error = ClientError(self.parsed, OPERATION)  # type: ignore[arg-type]
        elif kind == service.TIMEOUT:
            self.error = self.caught = ReadTimeoutError(endpoint_url=URL)
        elif kind == service.DNS_FAILED:
            self.error = self.caught = EndpointConnectionError(endpoint_url=URL)
        else:
            raise ValueError(f"unknown answer kind {kind!r}")
        #: What our connection class and botocore's events note for it (read only).
        self.trace = self._trace()

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def response(self) -> tuple[HttpResponse, dict[str, Any] | None] | None:
        """The ``response`` botocore's ``needs-retry`` event passes its handlers."""
        return None if self.http is None else (self.http, self.parsed)

    def fresh_error(self) -> BaseException:
        """A new error like this reply's (a call annotates the one it ends with)."""
        error = self.error
        assert error is not None
        if isinstance(error, ClientError):
            return ClientError(self.parsed, OPERATION)  # type: ignore[arg-type]
        # botocore's errors take their message fields as keywords.
        return type(error)(endpoint_url=URL)  # type: ignore[call-arg]

    def _trace(self) -> AttemptTrace:
        if self.kind == service.DNS_FAILED:
            return AttemptTrace(exchange=Exchange(caught_exception=self.caught), connecting=True)
        return AttemptTrace(
            exchange=Exchange(self.http, self.parsed, self.caught), connecting=True, writing=True,
        )
