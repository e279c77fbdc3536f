"""Where an aiobotocore attempt failed, and what ``_outcome.classify`` makes of it.

The first half feeds each aiohttp exception through aiobotocore's own
``AIOHTTPSession.send`` (so the botocore exception is the one aiobotocore
really raises) with the trace our connector would leave at the point where
that exception really happens. The second half provokes them with real
sockets on 127.0.0.1.

``EndpointConnectionError`` is raised by aiobotocore for any
``aiohttp.ClientConnectionError``, including a reset after the request was
written; ``classify`` asks the trace whether writing had started.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import types
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)

import resilient_cloud as rc
from resilient_cloud._aiobotocore.client import prepare_unwrapped_async
from resilient_cloud._clock import SYSTEM_CLOCK
from resilient_cloud._outcome import CURRENT_TRACE, AttemptOutcome, AttemptTrace, classify
from tests.integration.wire import LoopbackServer, fail_handshake, read_request

from .helpers import GET_ITEM, REQUESTER, aio_client


async def attempt(client: Any) -> tuple[BaseException | None, AttemptTrace, AttemptOutcome]:
    """One GetItem with its own trace, as the driver would run it."""
    trace = AttemptTrace()
    token = CURRENT_TRACE.set(trace)
    error: BaseException | None = None
    try:
        await client.get_item(**GET_ITEM)
    except BaseException as failed:  # a cancellation too: the driver judges it
        error = failed
    finally:
        CURRENT_TRACE.reset(token)
    return error, trace, classify(error, trace, client.meta.service_model.operation_model("GetItem"))


# -- aiobotocore's mapping, with the trace our connector leaves ---------------


def _key() -> Any:
    values = {"host": "127.0.0.1", "port": 1, "is_ssl": False, "ssl": True, "proxy": None,
              "proxy_auth": None, "proxy_headers_hash": None, "server_hostname": None}
    return ConnectionKey(**{name: values[name] for name in ConnectionKey._fields})


def _request_info() -> Any:
    return types.SimpleNamespace(real_url="http://127.0.0.1:1/", url="http://127.0.0.1:1/", method="POST")


IN_CONNECT = {
    "dns": lambda: aiohttp.ClientConnectorDNSError(_key(), socket.gaierror(-2, "Name or service not known")),
    "refused": lambda: aiohttp.ClientConnectorError(_key(), ConnectionRefusedError(111, "Connection refused")),
    "connect-timeout": lambda: aiohttp.ConnectionTimeoutError("Connection timeout to host http://127.0.0.1:1/"),
    "tls-handshake": lambda: aiohttp.ClientConnectorSSLError(_key(), ssl.SSLError(1, "wrong version number")),
    "proxy-refused": lambda: aiohttp.ClientProxyConnectionError(_key(), ConnectionRefusedError(111, "refused")),
    "proxy-answered-error": lambda: aiohttp.ClientHttpProxyError(_request_info(), (), status=403),
    "connector-closed": lambda: aiohttp.ClientConnectionError("Connector is closed."),
}
BOTOCORE_ERROR = {
    "dns": EndpointConnectionError,
    "refused": EndpointConnectionError,
    "connect-timeout": ConnectTimeoutError,
    "tls-handshake": SSLError,
    "proxy-refused": ProxyConnectionError,
    "proxy-answered-error": ProxyConnectionError,
    "connector-closed": EndpointConnectionError,
}
AFTER_CONNECT: dict[str, tuple[Callable[[], BaseException], type[Exception], str]] = {
    "server-closed": (lambda: aiohttp.ServerDisconnectedError(), ConnectionClosedError, "connection-closed"),
    "answer-cut-short": (
        lambda: aiohttp.ClientPayloadError("Response payload is not completed"),
        ConnectionClosedError, "connection-closed",
    ),
    "read-timeout": (
        lambda: aiohttp.SocketTimeoutError("Timeout on reading data from socket"),
        ReadTimeoutError, "timeout",
    ),
    "plain-timeout": (lambda: asyncio.TimeoutError(), ReadTimeoutError, "timeout"),
    "unparsable-answer": (
        lambda: aiohttp.ClientResponseError(_request_info(), (), status=400, message="Invalid status line"),
        HTTPClientError, "connection-closed",
    ),
    "reset-after-request": (
        lambda: aiohttp.ClientOSError(104, "Connection reset by peer"),
        EndpointConnectionError, "connection-closed",
    ),
    "write-on-closed-transport": (
        lambda: aiohttp.ClientConnectionResetError("Cannot write to closing transport"),
        EndpointConnectionError, "connection-closed",
    ),
    "body-write-failed": (
        lambda: aiohttp.ClientOSError(32, "Can not write request body for http://127.0.0.1:1/"),
        EndpointConnectionError, "connection-closed",
    ),
}


def _fed_through_send(make_error: Callable[[], BaseException], in_connect: bool) -> tuple[BaseException, AttemptTrace, AttemptOutcome]:
    """aiobotocore's AIOHTTPSession.send meets ``make_error()`` from aiohttp,
    at the point the trace says (inside connector.connect, or after it)."""

    class FailingSession:
        async def request(self, *args: Any, **kwargs: Any) -> Any:
            trace = CURRENT_TRACE.get()
            assert trace is not None
            trace.connecting = True  # what WatchedConnectorMixin.connect notes
            trace.writing = not in_connect
            raise make_error()

    async def main() -> tuple[BaseException | None, AttemptTrace, AttemptOutcome]:
        async with aio_client("http://127.0.0.1:1") as ddb:
            prepare_unwrapped_async(ddb, None, REQUESTER, SYSTEM_CLOCK)

            async def get_session(proxy_url: Any) -> Any:
                return FailingSession()

            ddb._endpoint.http_session._get_session = get_session
            return await attempt(ddb)

    error, trace, outcome = asyncio.run(main())
    assert error is not None
    return error, trace, outcome


@pytest.mark.parametrize("case", sorted(IN_CONNECT))
def test_failures_inside_connect_are_not_sent(case: str) -> None:
    error, trace, outcome = _fed_through_send(IN_CONNECT[case], in_connect=True)
    assert type(error) is BOTOCORE_ERROR[case]
    assert trace.exchange is not None and trace.exchange.caught_exception is error
    assert (outcome.kind, outcome.may_have_reached_service, outcome.retryable) == (
        "connection-failed", False, True,
    )


@pytest.mark.parametrize(
    "case",
    [
        case for case in sorted(AFTER_CONNECT)
    ],
)
def test_failures_after_connect_may_have_been_sent(case: str) -> None:
    make_error, botocore_error, kind = AFTER_CONNECT[case]
    error, _trace, outcome = _fed_through_send(make_error, in_connect=False)
    assert type(error) is botocore_error
    assert (outcome.kind, outcome.may_have_reached_service) == (kind, True)


def test_cancellation_passes_through_as_an_interruption() -> None:
    error, _trace, outcome = _fed_through_send(asyncio.CancelledError, in_connect=False)
    assert isinstance(error, asyncio.CancelledError)
    assert outcome.kind == "interrupted"


# -- real sockets on 127.0.0.1 -------------------------------------------------


def _run_against(url: str, **config: Any) -> tuple[BaseException | None, AttemptTrace, AttemptOutcome]:
    async def main() -> tuple[BaseException | None, AttemptTrace, AttemptOutcome]:
        async with aio_client(url, **config) as ddb:
            prepare_unwrapped_async(ddb, None, REQUESTER, SYSTEM_CLOCK)
            return await attempt(ddb)

    return asyncio.run(main())


def _serve(behaviour: Callable[[LoopbackServer, socket.socket], None]) -> LoopbackServer:
    return LoopbackServer(behaviour)


def test_refused_connection_is_not_sent() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    error, trace, outcome = _run_against(f"http://127.0.0.1:{port}")
    assert isinstance(error, EndpointConnectionError)
    assert (trace.connecting, trace.writing) == (True, False)
    assert (outcome.kind, outcome.may_have_reached_service) == ("connection-failed", False)


@pytest.mark.parametrize("with_dns_cache", [False, True])
def test_failed_lookup_is_not_sent(monkeypatch: pytest.MonkeyPatch, with_dns_cache: bool) -> None:
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "unresolvable.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return original(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    async def main() -> tuple[BaseException | None, AttemptTrace, AttemptOutcome]:
        async with aio_client("http://unresolvable.test") as ddb:
            prepare_unwrapped_async(ddb, rc.DnsCache() if with_dns_cache else None, REQUESTER, SYSTEM_CLOCK)
            return await attempt(ddb)

    error, trace, outcome = asyncio.run(main())
    assert isinstance(error, EndpointConnectionError)
    assert isinstance(error.kwargs["error"], aiohttp.ClientConnectorDNSError)
    assert (outcome.kind, outcome.may_have_reached_service) == ("connection-failed", False)


def test_connect_timeout_is_not_sent() -> None:
    # A full accept queue: the SYN is dropped and connect() waits.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    try:
        error, trace, outcome = _run_against(f"http://127.0.0.1:{port}", connect_timeout=0.2)
    finally:
        filler.close()
        listener.close()
    assert isinstance(error, ConnectTimeoutError)
    assert (trace.connecting, trace.writing) == (True, False)
    assert (outcome.kind, outcome.may_have_reached_service) == ("connection-failed", False)


def test_failed_tls_handshake_is_not_sent() -> None:
    server = _serve(fail_handshake)
    try:
        error, trace, outcome = _run_against(f"https://127.0.0.1:{server.port}", connect_timeout=2)
    finally:
        server.close()
    assert server.requests == 0
    assert isinstance(error, (SSLError, EndpointConnectionError))
    assert (trace.connecting, trace.writing) == (True, False)
    assert (outcome.kind, outcome.may_have_reached_service) == ("connection-failed", False)


def _read_then(after: Callable[[socket.socket], None]) -> Callable[[LoopbackServer, socket.socket], None]:
    def serve(server: LoopbackServer, conn: socket.socket) -> None:
        if read_request(conn) is not None:
            server.count_request()
            after(conn)

    return serve


def _close(conn: socket.socket) -> None:
    conn.shutdown(socket.SHUT_RDWR)


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _stay_silent(conn: socket.socket) -> None:
    conn.recv(1)  # until the client gives up and closes


def test_server_closing_after_reading_may_have_applied_it() -> None:
    server = _serve(_read_then(_close))
    try:
        error, trace, outcome = _run_against(f"http://127.0.0.1:{server.port}")
    finally:
        server.close()
    assert server.requests == 1
    assert isinstance(error, ConnectionClosedError)
    assert (trace.connecting, trace.writing) == (True, True)
    assert (outcome.kind, outcome.may_have_reached_service) == ("connection-closed", True)


def test_reset_after_reading_may_have_applied_it() -> None:
    server = _serve(_read_then(_reset))
    try:
        error, trace, outcome = _run_against(f"http://127.0.0.1:{server.port}")
    finally:
        server.close()
    assert server.requests == 1
    assert isinstance(error, EndpointConnectionError)  # aiohttp's ClientOSError(ECONNRESET)
    assert (trace.connecting, trace.writing) == (True, True)
    assert (outcome.kind, outcome.may_have_reached_service) == ("connection-closed", True)


def test_no_answer_within_the_read_timeout_may_have_applied_it() -> None:
    server = _serve(_read_then(_stay_silent))
    try:
        error, trace, outcome = _run_against(f"http://127.0.0.1:{server.port}", read_timeout=0.2)
    finally:
        server.close()
    assert server.requests == 1
    assert isinstance(error, ReadTimeoutError)
    assert (trace.connecting, trace.writing) == (True, True)
    assert (outcome.kind, outcome.may_have_reached_service) == ("timeout", True)


def test_a_reused_connection_is_watched_too() -> None:
    """The second request reuses the first one's connection (connect() takes
    it from the pool), and the server closes it after reading that request."""
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )

    def serve(server: LoopbackServer, conn: socket.socket) -> None:
        for answered in (True, False):
            if read_request(conn) is None:
                return
            server.count_request()
            if answered:
                conn.sendall(answer)
        conn.shutdown(socket.SHUT_RDWR)

    server = _serve(serve)

    async def main() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        async with aio_client(f"http://127.0.0.1:{server.port}") as ddb:
            prepare_unwrapped_async(ddb, None, REQUESTER, SYSTEM_CLOCK)
            return await attempt(ddb), await attempt(ddb)

    try:
        (first_error, _, first), (error, trace, outcome) = asyncio.run(main())
    finally:
        server.close()
    assert (first_error, first.kind) == (None, "success")
    assert (server.connections, server.requests) == (1, 2)
    assert isinstance(error, ConnectionClosedError)
    assert (trace.connecting, trace.writing) == (True, True)
    assert (outcome.kind, outcome.may_have_reached_service) == ("connection-closed", True)
