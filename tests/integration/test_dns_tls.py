"""The DNS cache over real TLS: a server on loopback with its own test CA,
reached by DynamoDB's real hostname. Only the socket's address comes from the
cache; SNI, the Host header and certificate verification still use the name."""

from __future__ import annotations

import socket
import socketserver
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import SSLError

import resilient_cloud as rc
from resilient_cloud import hooks

from .tls import CertificateAuthority

pytestmark = pytest.mark.integration
REGION = "us-east-1"
HOST = "dynamodb.us-east-1.amazonaws.com"
WRONG_HOST = "wrong.example.com"
LIST_TABLES = "DynamoDB_20120810.ListTables"
# One attempt per call, so each call is exactly one connection.
CONFIG = Config(connect_timeout=2, read_timeout=2, retries={"total_max_attempts": 1})
# How long the test waits for the server thread to finish with a connection.
SETTLE_TIMEOUT = 5.0
EAI_NODATA = getattr(socket, "EAI_NODATA", socket.EAI_NONAME)


# -- a TLS server that answers ListTables -----------------------------------------


@dataclass(frozen=True)
class Request:
    host: str | None
    target: str | None


class DynamoDBHandler(BaseHTTPRequestHandler):
    """Reads one request whole and answers an empty ListTables, then closes:
    every call opens a new connection, so every call needs an address."""

    protocol_version = "HTTP/1.1"
    server: TlsServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.record(Request(self.headers.get("Host"), self.headers.get("X-Amz-Target")))
        body = b'{"TableNames": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class TlsServer(socketserver.TCPServer):
    """One connection at a time on 127.0.0.1, port 0. The TLS handshake runs
    in ``get_request`` so that handshakes the client refuses are counted
    (and dropped) instead of reaching the handler."""

    def __init__(self, certificate: Path, key: Path) -> None:
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(certificate, key)
        self._context.sni_callback = self._saw_server_name
        self._settled = threading.Condition()
        # Guarded by _settled: written by the server thread, read by the test.
        self.connections = 0
        self.handshakes = 0
        self.handshake_errors: list[str] = []
        self.server_names: list[str | None] = []
        self.requests: list[Request] = []
        self.handler_errors: list[str] = []
        self._finished = 0
        super().__init__(("127.0.0.1", 0), DynamoDBHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def _saw_server_name(self, sock: ssl.SSLSocket, name: str | None, context: ssl.SSLContext) -> None:
        with self._settled:
            self.server_names.append(name)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        with self._settled:
            self.connections += 1
        sock.settimeout(SETTLE_TIMEOUT)
        try:
            tls = self._context.wrap_socket(sock, server_side=True)
        except OSError as error:  # socketserver drops the connection quietly
            sock.close()
            self._finish(handshake_error=str(error))
            raise
        with self._settled:
            self.handshakes += 1
        return tls, address

    def record(self, request: Request) -> None:
        with self._settled:
            self.requests.append(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Instead of a traceback on stderr: a client that hangs up after the
        # handshake makes the handler's first read fail.
        error = sys.exc_info()[1]
        with self._settled:
            self.handler_errors.append(type(error).__name__)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self._finish()

    def _finish(self, handshake_error: str | None = None) -> None:
        with self._settled:
            if handshake_error is not None:
                self.handshake_errors.append(handshake_error)
            self._finished += 1
            self._settled.notify_all()

    def settled(self, connections: int) -> None:
        """Wait until the server is done with ``connections`` connections:
        a refused handshake ends on the client before the server sees it."""
        with self._settled:
            done = self._settled.wait_for(lambda: self._finished >= connections, SETTLE_TIMEOUT)
        assert done, f"the server finished {self._finished} of {connections} connections"


# -- name resolution under the test's control -------------------------------------


class FakeGetaddrinfo:
    """``socket.getaddrinfo`` answering HOST with the server's loopback
    address (whatever port is asked for), or failing when told to; other
    names go to the real one. Counts HOST lookups, which is how the tests see
    whether a connection asked the resolver or the cache."""

    def __init__(self, original: Callable[..., Any]) -> None:
        self._original = original
        self._lock = threading.Lock()
        self.port: int | None = None
        self.failing = False
        self.answered = 0
        self.refused = 0

    def __call__(
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[tuple[Any, ...]]:
        if host != HOST:
            return self._original(host, port, family, type, proto, flags)  # type: ignore[no-any-return]
        with self._lock:
            if self.failing or self.port is None:
                self.refused += 1
                raise socket.gaierror(EAI_NODATA, "No address associated with hostname")
            self.answered += 1
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", self.port))]


def _join_dns_refreshes() -> None:
    # The cache refreshes expired answers on its own daemon threads; they
    # must not call the fake getaddrinfo after the test has put it away.
    for thread in threading.enumerate():
        if thread.name == "resilient-cloud-dns-refresh":
            thread.join(SETTLE_TIMEOUT)
            assert not thread.is_alive()


# -- fixtures -----------------------------------------------------------------------


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGetaddrinfo]:
    fake = FakeGetaddrinfo(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield fake
    _join_dns_refreshes()


@pytest.fixture
def start_server(
    ca: CertificateAuthority, resolver: FakeGetaddrinfo
) -> Iterator[Callable[[str], TlsServer]]:
    """Starts a server whose certificate names ``cert_host`` and points HOST at it."""
    running: list[tuple[TlsServer, threading.Thread]] = []

    def start(cert_host: str) -> TlsServer:
        server = TlsServer(*ca.issue(cert_host))
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"tls-server-{cert_host}", daemon=True,
        )
        thread.start()
        running.append((server, thread))
        resolver.port = server.port
        return server

    yield start
    for server, thread in running:
        server.shutdown()
        thread.join(SETTLE_TIMEOUT)
        server.server_close()
        assert not thread.is_alive()


ClientFactory = Callable[..., Any]


@pytest.fixture
def make_client(ca: CertificateAuthority) -> Iterator[ClientFactory]:
    """Resilient DynamoDB clients over HTTPS to the real name, closed on exit."""
    made: list[Any] = []

    def make(
        dns: rc.DnsCache | None = rc.DnsCache(ttl=0.0),  # noqa: B008 - frozen, so shared safely
        trust_test_ca: bool = True,
        events: list[Any] | None = None,
    ) -> Any:
        policy = rc.Policy(dns=dns, hooks=(events.append,) if events is not None else ())
        session = rc.Session(region_name=REGION, policy=policy)
        # Without the test CA: botocore's default bundle (certifi).
        verify = {"verify": str(ca.bundle)} if trust_test_ca else {}
        client = session.client("dynamodb", config=CONFIG, **verify)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _rejected(client: Any) -> str:
    with pytest.raises(SSLError) as excinfo:
        client.list_tables()
    return str(excinfo.value)


# -- tests --------------------------------------------------------------------------


def test_the_counting_resolver_sees_urllib3_lookups_without_the_cache(
    start_server: Callable[[str], TlsServer], resolver: FakeGetaddrinfo, make_client: ClientFactory
) -> None:
    # The control for the lookup counts below: with no cache, urllib3 asks
    # getaddrinfo once per new connection, and the fake counts each.
    server = start_server(HOST)
    client = make_client(dns=None)
    for _ in range(2):
        assert client.list_tables()["TableNames"] == []
    server.settled(2)
    assert (server.connections, resolver.answered) == (2, 2)


def test_a_fresh_answer_serves_new_tls_connections_without_a_lookup(
    start_server: Callable[[str], TlsServer], resolver: FakeGetaddrinfo, make_client: ClientFactory
) -> None:
    server = start_server(HOST)
    client = make_client(dns=rc.DnsCache())  # 30 s: fresh for the whole test
    for _ in range(2):
        assert client.list_tables()["TableNames"] == []
    server.settled(2)
    assert server.handshakes == 2  # Connection: close, so a new TLS connection per call
    assert resolver.answered == 1  # the second one took its address from the cache
    assert server.server_names == [HOST, HOST]
    assert server.requests == [Request(HOST, LIST_TABLES)] * 2
    assert server.handshake_errors == server.handler_errors == []


def test_a_stale_answer_reaches_the_server_by_name_over_verified_tls(
    start_server: Callable[[str], TlsServer], resolver: FakeGetaddrinfo, make_client: ClientFactory
) -> None:
    server = start_server(HOST)
    events: list[Any] = []
    client = make_client(events=events)  # ttl=0: every new connection refreshes
    assert client.list_tables()["TableNames"] == []
    assert resolver.answered == 1

    resolver.failing = True
    # urllib3 alone would fail here with a NameResolutionError: only the
    # cache's last good answer can still lead to the server.
    assert client.list_tables()["TableNames"] == []
    assert (resolver.answered, resolver.refused) == (1, 1)
    assert [e.host for e in events if isinstance(e, hooks.DnsStaleAnswerServed)] == [HOST]

    server.settled(2)
    assert (server.connections, server.handshakes) == (2, 2)
    # The name, never the address, in SNI and Host: the certificate for HOST was checked.
    assert server.server_names == [HOST, HOST]
    assert server.requests == [Request(HOST, LIST_TABLES)] * 2
    assert server.handshake_errors == server.handler_errors == []


def test_a_certificate_for_another_name_is_rejected_fresh_and_stale(
    start_server: Callable[[str], TlsServer], resolver: FakeGetaddrinfo, make_client: ClientFactory
) -> None:
    server = start_server(WRONG_HOST)  # same CA, trusted, but not HOST's certificate
    events: list[Any] = []
    client = make_client(events=events)

    first = _rejected(client)  # the address from a fresh lookup
    resolver.failing = True
    second = _rejected(client)  # the same address, served stale by the cache
    for message in (first, second):
        # botocore's SSL context leaves the name to urllib3, which matches it
        # against the certificate right after the handshake.
        assert f"hostname {HOST!r} doesn't match {WRONG_HOST!r}" in message
    assert (resolver.answered, resolver.refused) == (1, 1)
    assert [e.host for e in events if isinstance(e, hooks.DnsStaleAnswerServed)] == [HOST]

    server.settled(2)
    # Both times the client reached the server, asked for HOST, checked the
    # chain, and hung up on the name before sending a byte of the request.
    assert (server.connections, server.handshakes) == (2, 2)
    assert server.server_names == [HOST, HOST]
    assert server.requests == []


def test_a_server_signed_by_an_untrusted_ca_is_rejected_fresh_and_stale(
    start_server: Callable[[str], TlsServer], resolver: FakeGetaddrinfo, make_client: ClientFactory
) -> None:
    server = start_server(HOST)  # the right name, but botocore's bundle lacks our CA
    events: list[Any] = []
    client = make_client(trust_test_ca=False, events=events)

    first = _rejected(client)
    resolver.failing = True
    second = _rejected(client)
    for message in (first, second):
        # OpenSSL refuses the chain during the handshake.
        assert "certificate verify failed: unable to get local issuer certificate" in message
    assert (resolver.answered, resolver.refused) == (1, 1)
    assert [e.host for e in events if isinstance(e, hooks.DnsStaleAnswerServed)] == [HOST]

    server.settled(2)
    assert (server.connections, server.handshakes) == (2, 0)
    assert server.server_names == [HOST, HOST]
    assert server.requests == []
    # The client told the server why it hung up.
    assert len(server.handshake_errors) == 2
    assert all("unknown ca" in error for error in server.handshake_errors)
