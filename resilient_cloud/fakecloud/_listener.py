"""The data listener: the AWS-facing port, which TCP faults close and re-open.

A werkzeug threaded server that serves on a thread of its own, knows every
connection it has accepted (so "refuse" can drop them all) and re-binds the
same port when the server comes back.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from resilient_cloud.fakecloud._tcp import check_tcp_mode

__all__ = ["DataListener"]

# How often the accept loop looks for a shutdown request: the longest a
# "refuse" waits for the loop to stop.
_POLL_INTERVAL = 0.05


class _DataServer(ThreadedWSGIServer):
    """Tells its listener about every connection it accepts and closes."""

    listener: DataListener

    def process_request(self, request: Any, client_address: Any) -> None:
        # On the accept thread, before the handler starts: once the accept
        # loop has stopped, every live connection is known.
        self.listener._track(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.listener._untrack(request)
        super().shutdown_request(request)


class DataListener:
    """Serves ``app`` on ``host:port`` until a ``"refuse"`` closes it.

    Args:
        host: the IP to bind.
        port: the port to bind; 0 picks one, which re-opening then keeps.
        app: the WSGI app (the fault middleware).
        handler: the request handler class; it reads :attr:`mode` itself to
            act out ``"reset"`` and ``"blackhole"``.
        on_dropped: told how many open connections a ``"refuse"`` closed.
    """

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        handler: type[WSGIRequestHandler],
        *,
        on_dropped: Callable[[int], None] = lambda count: None,
    ) -> None:
        self.host = host
        self.port = port
        self._app = app
        self._handler = handler
        self._on_dropped = on_dropped
        self._lock = threading.Lock()  # one mode change at a time
        self._connections_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server: _DataServer | None = None
        self._thread: threading.Thread | None = None
        self._mode = "ok"
        self._open()

    @property
    def mode(self) -> str:
        """The TCP fault in force: one of ``_tcp.TCP_MODES``."""
        return self._mode

    @property
    def listening(self) -> bool:
        return self._server is not None

    def set_mode(self, mode: str) -> None:
        """Switch TCP fault; ``"refuse"`` closes the port, any other mode re-opens it.

        Raises ``OSError`` if the port cannot be bound again (the mode then
        stays ``"refuse"``).
        """
        mode = check_tcp_mode(mode)
        with self._lock:
            if mode == "refuse":
                # First: a handler still running sees the server is gone.
                self._mode = mode
                if self._server is not None:
                    self._close()
                return
            if self._server is None:
                self._open()
            self._mode = mode

    def _open(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            # The same port again: SO_REUSEADDR lets the bind through while
            # connections the server closed sit in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(_DataServer.request_queue_size)
            # werkzeug serves a duplicate of the descriptor: ours is closed below.
            server = _DataServer(self.host, self.port, self._app, self._handler, fd=sock.fileno())
        finally:
            sock.close()
        server.listener = self
        self.port = server.port
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"fakecloud-data-{self.port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()

    def _close(self) -> None:
        assert self._server is not None and self._thread is not None
        # The accept loop stops, then closes the listening socket itself
        # (werkzeug's serve_forever); connects are refused from then on.
        self._server.shutdown()
        self._thread.join()
        self._server = self._thread = None
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                # Wakes the handler blocked reading its next request; it closes.
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closing anyway
        self._on_dropped(len(connections))

    def _track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def __repr__(self) -> str:
        return f"DataListener({self.host}:{self.port}, mode={self._mode!r})"
