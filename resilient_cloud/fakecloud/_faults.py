"""Fault injection at the server edge: a WSGI middleware in front of moto.

An injected error is answered here and never reaches moto, so faults cannot
corrupt stored data. Error bodies and headers copy what the real services
send, so botocore parses them exactly as it does in production.

Control requests set faults and read stats; they arrive on the server's
separate control listener (:meth:`FaultMiddleware.serve_control`), so they
are never counted or faulted, and every request on the data listener (an S3
key named ``_fakecloud/...`` included) goes to moto.
"""

from __future__ import annotations

import base64
import json
import math
import numbers
import random
import re
import secrets
import string
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from http import HTTPStatus
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

from resilient_cloud.fakecloud._capacity import SlotQueue
from resilient_cloud.fakecloud._resolver import parse_host

__all__ = [
    "ERROR_KINDS",
    "REGION_HEADER",
    "ErrorKind",
    "FaultMiddleware",
    "Faults",
    "error_response",
    "overload_kind",
    "throttle_kind",
]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

CONTROL_PREFIX = "/_fakecloud/"
# Set by the server's request handler: True on a connection's first request.
FIRST_ON_CONNECTION = "fakecloud.first_on_connection"
# Every AWS response names the region whose server sent it (botocore hands it
# to callers in ResponseMetadata.HTTPHeaders), so a benchmark can tell which
# region served a call that may have failed over.
REGION_HEADER = "x-fakecloud-region"
#: On an answer the server delayed (injected latency): the seconds added.
DELAY_HEADER = "x-fakecloud-delay"


@dataclass(frozen=True)
class ErrorKind:
    """An injectable error: the code botocore reports and the HTTP status."""

    code: str
    status: int
    message: str


ERROR_KINDS: Mapping[str, ErrorKind] = MappingProxyType(
    {
        kind.code: kind
        for kind in (
            ErrorKind("InternalServerError", 500, "Internal server error"),
            ErrorKind(
                "ProvisionedThroughputExceededException",
                400,
                "The level of configured provisioned throughput for the table was "
                "exceeded. Consider increasing your provisioning level with the "
                "UpdateTable API.",
            ),
            ErrorKind(
                "ThrottlingException", 400, "Rate of requests exceeds the allowed throughput."
            ),
            ErrorKind("ServiceUnavailable", 503, "The service is currently unavailable or busy."),
            ErrorKind("SlowDown", 503, "Please reduce your request rate."),
            ErrorKind("InternalError", 500, "We encountered an internal error. Please try again."),
        )
    }
)


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


@dataclass(frozen=True)
class Faults:
    """Faults for the requests of one region (optionally one service).

    Args:
        error_rate: probability in [0, 1] that a request is answered with
            ``error_kind`` instead of reaching moto.
        error_kind: a key of :data:`ERROR_KINDS`.
        latency: seconds added before a matching request is handled.
        latency_rate: probability in [0, 1] that ``latency`` applies to a
            request (a slow tail: ``latency=1.0, latency_rate=0.05`` delays
            5% of requests by 1 s), drawn from the seeded generator.
        seed: seeds the server-side random generator for reproducible runs.
        capacity: requests per second served in this scope (None: unlimited).
            Each request takes the next slot of a virtual queue (slots
            ``1/capacity`` apart, about one second of burst credit after idle
            time) and waits for it; one whose slot is more than
            ``queue_timeout`` away is rejected at once with the service's
            overload error (see :func:`overload_kind`). Faults set region-wide
            share one queue among the services without faults of their own.
        queue_timeout: the longest a request waits for its slot, seconds >= 0.
        throttle_above: requests per second admitted in this scope (None: all);
            the rest are throttled at once (a token bucket with one second of
            burst credit) with the service's throttling error
            (see :func:`throttle_kind`), as a table's provisioned throughput does.
    """

    error_rate: float = 0.0
    error_kind: str = "InternalServerError"
    latency: float = 0.0
    latency_rate: float = 1.0
    seed: int | None = None
    capacity: float | None = None
    queue_timeout: float = 1.0
    throttle_above: float | None = None

    def __post_init__(self) -> None:
        rate = _check_number("error_rate", self.error_rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"error_rate must be between 0 and 1, got {self.error_rate!r}")
        if not isinstance(self.error_kind, str):
            raise TypeError(f"error_kind must be a str, got {type(self.error_kind).__name__}")
        if self.error_kind not in ERROR_KINDS:
            raise ValueError(
                f"error_kind must be one of {', '.join(ERROR_KINDS)}; got {self.error_kind!r}"
            )
        latency = _check_number("latency", self.latency)
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {self.latency!r}")
        latency_rate = _check_number("latency_rate", self.latency_rate)
        if not 0.0 <= latency_rate <= 1.0:
            raise ValueError(f"latency_rate must be between 0 and 1, got {self.latency_rate!r}")
        seed = self.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, got {type(self.seed).__name__}")
        capacity = None if self.capacity is None else _check_number("capacity", self.capacity)
        if capacity is not None and capacity <= 0:
            raise ValueError(
                f"capacity must be > 0 requests per second (or None), got {self.capacity!r}"
            )
        throttle_above = (
            None if self.throttle_above is None else _check_number("throttle_above", self.throttle_above)
        )
        if throttle_above is not None and throttle_above <= 0:
            raise ValueError(
                f"throttle_above must be > 0 requests per second (or None), got {self.throttle_above!r}"
            )
        queue_timeout = _check_number("queue_timeout", self.queue_timeout)
        if queue_timeout < 0:
            raise ValueError(f"queue_timeout must be >= 0 seconds, got {self.queue_timeout!r}")
        # Normalised so equal settings compare equal and serialise the same way.
        object.__setattr__(self, "error_rate", rate)
        object.__setattr__(self, "latency", latency)
        object.__setattr__(self, "latency_rate", latency_rate)
        object.__setattr__(self, "capacity", capacity)
        object.__setattr__(self, "queue_timeout", queue_timeout)
        object.__setattr__(self, "throttle_above", throttle_above)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------
# Error bodies, per protocol
# --------------------------------------------------------------------------

_QUERY_SERVICES = frozenset(
    {"sts", "iam", "sns", "ses", "rds", "elasticache", "autoscaling",
     "cloudformation", "elasticloadbalancing", "redshift"}
)
_DYNAMODB_NAMESPACE = "com.amazonaws.dynamodb.v20120810"
# Real DynamoDB throttling comes from the shared Coral availability layer.
_DYNAMODB_NAMESPACES = {"ThrottlingException": "com.amazon.coral.availability"}
_ID_CHARS = string.ascii_uppercase + string.digits

Headers = list[tuple[str, str]]


def _json_error(service: str, kind: ErrorKind) -> tuple[Headers, bytes]:
    if service == "dynamodb":
        namespace = _DYNAMODB_NAMESPACES.get(kind.code, _DYNAMODB_NAMESPACE)
        error_type, content_type = f"{namespace}#{kind.code}", "application/x-amz-json-1.0"
    else:
        error_type, content_type = kind.code, "application/x-amz-json-1.1"
    body = json.dumps({"__type": error_type, "message": kind.message}).encode()
    headers = [
        ("Content-Type", content_type),
        ("x-amzn-RequestId", "".join(secrets.choice(_ID_CHARS) for _ in range(52))),
    ]
    if service == "dynamodb":
        # botocore checks this CRC on DynamoDB responses, as AWS sends it.
        headers.append(("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF)))
    return headers, body


def _s3_error(kind: ErrorKind) -> tuple[Headers, bytes]:
    request_id = secrets.token_hex(8).upper()
    host_id = base64.b64encode(secrets.token_bytes(54)).decode()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{kind.code}</Code><Message>{kind.message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
    ).encode()
    headers = [
        ("Content-Type", "application/xml"),
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", host_id),
    ]
    return headers, body


def _query_error(service: str, kind: ErrorKind) -> tuple[Headers, bytes]:
    request_id = secrets.token_hex(16)
    sender = "Sender" if kind.status < 500 else "Receiver"
    if service == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{kind.code}</Code><Message>{kind.message}"
            f"</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        body = (
            f"<ErrorResponse><Error><Type>{sender}</Type><Code>{kind.code}</Code>"
            f"<Message>{kind.message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode()


# What each service answers when it sheds load; others say ServiceUnavailable.
_OVERLOAD_KINDS = {"s3": "SlowDown"}


# What each service answers when a request is over its admitted rate.
_THROTTLE_KINDS = {"dynamodb": "ProvisionedThroughputExceededException", "s3": "SlowDown"}


def throttle_kind(service: str) -> str:
    """The error ``service`` answers when it throttles a request."""
    return _THROTTLE_KINDS.get(service, "ThrottlingException")


def overload_kind(service: str) -> str:
    """The error ``service`` answers when it is over capacity (503 either way)."""
    return _OVERLOAD_KINDS.get(service, "ServiceUnavailable")


def error_response(service: str, error_kind: str) -> tuple[int, Headers, bytes]:
    """Status, headers and body of ``error_kind`` in ``service``'s protocol."""
    kind = ERROR_KINDS[error_kind]
    if service == "s3":
        headers, body = _s3_error(kind)
    elif service == "ec2" or service in _QUERY_SERVICES:
        headers, body = _query_error(service, kind)
    else:
        headers, body = _json_error(service, kind)
    return kind.status, headers, body


# --------------------------------------------------------------------------
# Which service a request is for
# --------------------------------------------------------------------------

_SCOPE = re.compile(r"Credential=[^/\s,]+/\d{8}/[^/\s,]+/([^/\s,]+)/aws4_request")


def service_of(environ: Mapping[str, Any]) -> str:
    """The signing name in the SigV4 credential scope, else the Host's service."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return str(match.group(1)).lower()
    # Presigned URLs carry the scope in the query string.
    credential: list[str] | None = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    if credential:
        parts = credential[0].split("/")
        if len(parts) == 5:
            return parts[3].lower()
    host = _host_name(environ)
    info = parse_host(host)
    if info:
        return info.service
    return host.split(".", 1)[0] or "unknown"


def _host_name(environ: Mapping[str, Any]) -> str:
    host = str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME") or "")
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# --------------------------------------------------------------------------
# State: faults table and stats, shared by handler threads
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What happens to one request: shed at once, or wait, delay, maybe fail."""

    latency: float
    error_kind: str | None
    wait: float = 0.0  # seconds until its capacity slot
    overloaded: bool = False  # no slot within queue_timeout: rejected at once


@dataclass
class _Rule:
    faults: Faults
    rng: random.Random
    queue: SlotQueue | None
    #: The admitted rate (``throttle_above``): a slot now, or throttled.
    admitted: SlotQueue | None = None


class FaultTable:
    """Faults per service; ``None`` holds the region-wide default.

    A service's own entry replaces the region-wide one for that service.
    Setting an entry starts its capacity queue afresh (idle, full credit).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str | None, _Rule] = {}

    def set(self, service: str | None, faults: Faults) -> None:
        queue = None
        if faults.capacity is not None:
            queue = SlotQueue(faults.capacity, faults.queue_timeout)
        admitted = None
        if faults.throttle_above is not None:
            admitted = SlotQueue(faults.throttle_above, 0.0)
        with self._lock:
            self._rules[service] = _Rule(faults, random.Random(faults.seed), queue, admitted)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {str(key): rule.faults.to_json() for key, rule in self._rules.items()}

    def decide(self, service: str, now: float) -> Decision:
        """The fate of a ``service`` request arriving at ``now`` (monotonic seconds)."""
        with self._lock:
            rule = self._rules.get(service) or self._rules.get(None)
            if rule is None:
                return Decision(0.0, None)
            faults = rule.faults
            if rule.admitted is not None and rule.admitted.take(now) is None:
                return Decision(0.0, throttle_kind(service))
            wait = 0.0
            if rule.queue is not None:
                slot = rule.queue.take(now)
                if slot is None:
                    return Decision(0.0, None, overloaded=True)
                wait = slot
            # No draw at rates 0 and 1: a seeded sequence depends only on partial rates.
            failed = _draw(rule.rng, faults.error_rate)
            slow = faults.latency > 0 and _draw(rule.rng, faults.latency_rate)
            return Decision(
                faults.latency if slow else 0.0, faults.error_kind if failed else None, wait
            )


def _draw(rng: random.Random, rate: float) -> bool:
    """True with probability ``rate``; draws nothing at rates 0 and 1."""
    return rate > 0 and (rate >= 1 or rng.random() < rate)


class Stats:
    """Counts of non-control requests: total, per outcome/service/status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests = 0
            self._connections = 0
            self._outcomes: Counter[str] = Counter()
            self._services: Counter[str] = Counter()
            self._statuses: Counter[int] = Counter()
            self._queued = 0
            self._max_queue_wait = 0.0
            self._dropped_connections = 0

    def arrived(self, service: str, new_connection: bool) -> None:
        with self._lock:
            self._requests += 1
            self._services[service] += 1
            self._connections += new_connection

    def answered(self, outcome: str, status: int | None) -> None:
        """One request's outcome; ``status`` None when no response was sent."""
        with self._lock:
            self._outcomes[outcome] += 1
            if status is not None:
                self._statuses[status] += 1

    def queued(self, wait: float) -> None:
        """A request waited ``wait`` seconds for its capacity slot."""
        with self._lock:
            self._queued += 1
            self._max_queue_wait = max(self._max_queue_wait, wait)

    def dropped_connections(self, count: int) -> None:
        """``count`` open connections were closed by a TCP fault."""
        with self._lock:
            self._dropped_connections += count

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._requests,
                "outcomes": dict(self._outcomes),
                "by_service": dict(self._services),
                "by_status": {str(k): v for k, v in sorted(self._statuses.items())},
                "connections": self._connections,
                "queued": self._queued,
                "max_queue_wait": self._max_queue_wait,
                "dropped_connections": self._dropped_connections,
            }


# --------------------------------------------------------------------------
# The middleware
# --------------------------------------------------------------------------


def _drain(environ: Mapping[str, Any]) -> None:
    """Consume the request body so a kept-alive connection stays in sync."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    if environ.get("wsgi.input_terminated"):
        while stream.read(65536):
            pass
        return
    try:
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    while remaining > 0:
        chunk = stream.read(min(remaining, 65536))
        if not chunk:
            break
        remaining -= len(chunk)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


# A control route: HTTP method -> handler of the request's JSON body (None if
# empty), returning the JSON answer. TypeError/ValueError answer 400.
Route = Mapping[str, Callable[[Any], Any]]


class FaultMiddleware:
    """WSGI middleware: fault injection and stats in front of ``app``, plus the control API.

    Args:
        app: the WSGI app to protect (moto's dispatcher).
        sleep: how latency and queue waits are waited (replaceable in unit tests).
        clock: monotonic seconds, for the capacity queues.
        region: the region this server plays, sent back in every AWS
            response's :data:`REGION_HEADER` (None: no such header).
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        region: str | None = None,
    ) -> None:
        self._app = app
        self._extra_headers: Headers = [(REGION_HEADER, region)] if region else []
        self._sleep = sleep
        self._clock = clock
        self.faults = FaultTable()
        self.stats = Stats()
        self._routes: dict[str, Route] = {
            "faults": {
                "GET": lambda _: self.faults.snapshot(),
                "POST": self._set_faults,
                "DELETE": lambda _: self.faults.clear() or {},  # type: ignore[func-returns-value]
            },
            "stats": {
                "GET": lambda _: self.stats.snapshot(),
                "DELETE": lambda _: self.stats.reset() or {},  # type: ignore[func-returns-value]
            },
            "health": {"GET": lambda _: {"ok": True}},
        }

    def add_route(self, name: str, route: Route) -> None:
        """Serve ``route`` at ``/_fakecloud/<name>`` (e.g. the server's TCP faults)."""
        self._routes[name] = route

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        service = service_of(environ)
        self.stats.arrived(service, bool(environ.get(FIRST_ON_CONNECTION)))
        decision = self.faults.decide(service, self._clock())
        if decision.overloaded:
            kind = overload_kind(service)
            return self._error(environ, start_response, service, kind, "overloaded")
        if decision.wait:
            self.stats.queued(decision.wait)
            self._sleep(decision.wait)
        if decision.latency:
            self._sleep(decision.latency)
        if decision.error_kind is not None:
            return self._error(
                environ, start_response, service, decision.error_kind, decision.error_kind
            )

        delayed: Headers = [(DELAY_HEADER, f"{decision.latency:g}")] if decision.latency else []

        def counting_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            self.stats.answered("ok", int(status.split(" ", 1)[0]))
            return start_response(status, [*headers, *self._extra_headers, *delayed], exc_info)

        return self._app(environ, counting_start_response)

    def dropped(self, environ: Mapping[str, Any], outcome: str) -> None:
        """Count a request the server read but will never answer (a TCP fault)."""
        self.stats.arrived(service_of(environ), bool(environ.get(FIRST_ON_CONNECTION)))
        self.stats.answered(outcome, None)

    def _error(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        service: str,
        error_kind: str,
        outcome: str,
    ) -> Iterable[bytes]:
        _drain(environ)
        status, headers, body = error_response(service, error_kind)
        self.stats.answered(outcome, status)
        if environ.get("REQUEST_METHOD") == "HEAD":
            body = b""  # like AWS: HEAD errors carry no body
        headers.append(("Content-Length", str(len(body))))
        start_response(_status_line(status), [*headers, *self._extra_headers])
        return [body]

    # -- control API -------------------------------------------------------

    def serve_control(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The control listener's whole app: control routes and moto's admin API.

        No AWS traffic: whatever the Host header says, nothing here is
        counted or faulted.
        """
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response)
        if path.startswith("/moto-api/"):  # moto's own admin API (reset)
            return self._app(environ, start_response)
        _drain(environ)
        error = f"the control port serves {CONTROL_PREFIX}... and /moto-api/... only, not {path!r}"
        return _json_response(start_response, 404, {"error": error})

    def _control(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        name = environ.get("PATH_INFO", "")[len(CONTROL_PREFIX):].strip("/")
        try:
            body = _read_json(environ)
            route = self._routes.get(name)
            if route is None:
                status, payload = 404, {"error": f"no control route {name!r}"}
            elif method not in route:
                status, payload = 405, {"error": f"{method} not allowed on {name!r}"}
            else:
                status, payload = 200, route[method](body)
        except (TypeError, ValueError) as exc:
            status, payload = 400, {"error": str(exc)}
        except OSError as exc:  # e.g. the data port could not be re-opened
            status, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        return _json_response(start_response, status, payload)

    def _set_faults(self, request: Any) -> Any:
        if not isinstance(request, dict):
            raise TypeError("faults request must be a JSON object")
        service = request.pop("service", None)
        if service is not None and (not isinstance(service, str) or not service):
            raise TypeError(f"service must be a non-empty str or null, got {service!r}")
        self.faults.set(service.lower() if service else None, Faults(**request))
        return self.faults.snapshot()


def _json_response(
    start_response: Callable[..., Any], status: int, payload: Any
) -> Iterable[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        _status_line(status),
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _read_json(environ: Mapping[str, Any]) -> Any:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise ValueError(f"control request body is not JSON: {exc}") from None
