"""Servers on loopback that misbehave on the wire, for where-did-it-fail tests.

Each serves DynamoDB's JSON protocol well enough for one answer, counts the
connections it accepted and the requests it read whole, and then does one
thing wrong: corrupt a TLS record after the request, fail the handshake, or
send a body that does not match its ``x-amz-crc32`` header.
"""

from __future__ import annotations

import binascii
import os
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

# How long a server thread waits on a client before it gives up on it.
SOCKET_TIMEOUT = 5.0


def read_request(sock: Any) -> bytes | None:
    """One HTTP request (head and Content-Length body), or None if the
    client went away first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return body


def http_response(body: bytes, crc32: int | None = None) -> bytes:
    crc = binascii.crc32(body) & 0xFFFFFFFF if crc32 is None else crc32
    return (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\n"
        b"x-amzn-RequestId: wire-test\r\n"
        + f"x-amz-crc32: {crc}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


class LoopbackServer:
    """Accepts connections on 127.0.0.1 and hands each to ``serve`` in a
    thread; ``requests`` counts the requests read whole."""

    def __init__(self, serve: Callable[[LoopbackServer, socket.socket], None]) -> None:
        self._serve = serve
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so close() is noticed at once
        self._lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue  # timed out waiting, or closed
            with self._lock:
                self.connections += 1
            conn.settimeout(SOCKET_TIMEOUT)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            self._serve(self, conn)
        except OSError:
            pass  # the client hung up: that is what these tests provoke
        finally:
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        self._thread.join(SOCKET_TIMEOUT + 1)


def corrupt_record_after_request(context: ssl.SSLContext) -> Callable[[LoopbackServer, socket.socket], None]:
    """Complete the handshake, read the whole request, then write an
    application-data record that fails the client's integrity check."""

    def serve(server: LoopbackServer, conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            while read_request(tls) is not None:
                server.count_request()
                # A TLS 1.2/1.3 application-data record header and 32 bytes
                # of noise: the client cannot decrypt it (bad record MAC).
                os.write(tls.fileno(), b"\x17\x03\x03\x00\x20" + os.urandom(32))
                return

    return serve


def fail_handshake(server: LoopbackServer, conn: socket.socket) -> None:
    """Read the ClientHello and answer with something that is not TLS."""
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def reset_during_handshake(server: LoopbackServer, conn: socket.socket) -> None:
    """Read the ClientHello and reset the connection (RST, not FIN)."""
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def answer_with_crc32(bodies: list[tuple[bytes, int | None]]) -> Callable[[LoopbackServer, socket.socket], None]:
    """Answer requests in turn with ``(body, crc32)``: None is the body's
    true checksum; the last item answers every further request."""
    lock = threading.Lock()

    def serve(server: LoopbackServer, conn: socket.socket) -> None:
        while read_request(conn) is not None:
            server.count_request()
            with lock:
                body, crc32 = bodies[0] if len(bodies) == 1 else bodies.pop(0)
            conn.sendall(http_response(body, crc32))

    return serve


def server_context(certificate: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    return context


def resolve_to(monkeypatch: Any, host: str, port: int) -> None:
    """``socket.getaddrinfo`` answers ``host`` (any port) with 127.0.0.1:``port``,
    as a resolver would answer the real name; other names resolve as usual."""
    original = socket.getaddrinfo

    def getaddrinfo(name: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if name == host:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]
        return original(name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
