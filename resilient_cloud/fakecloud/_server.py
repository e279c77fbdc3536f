"""One fake region: moto's WSGI app behind the fault middleware.

::

    python -m resilient_cloud.fakecloud._server --host 127.0.0.2 --port 0 \\
        --control-port 0 --connection keep-alive --region us-east-1

Two listeners on the same IP: the data port serves AWS traffic (and is what
TCP faults close, reset or blackhole); the control port serves only the
control API (faults, stats, TCP mode, moto's reset), so it keeps working
whatever the data port suffers. Once both accept connections it prints two
lines on stdout: the data port, then the control port.

It exits when its stdin reaches EOF, which happens when the parent closes the
pipe or dies in any way, so no server outlives the FakeCloud that started it.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from moto.moto_server import werkzeug_app as _moto_app
from werkzeug.serving import WSGIRequestHandler, make_server

from resilient_cloud.fakecloud._faults import (
    FIRST_ON_CONNECTION,
    FaultMiddleware,
    Route,
)
from resilient_cloud.fakecloud._listener import DataListener
from resilient_cloud.fakecloud._tcp import hold_connection, reset_connection

# moto's WSGI app and backend factory, as its public ``moto.server.ThreadedMotoServer``
# and ``moto_server`` build them (the same names in every moto 5.x).
DomainDispatcherApplication = _moto_app.DomainDispatcherApplication
create_backend_app = _moto_app.create_backend_app
# The request handler moto's own servers use: moto 5.2.5 added MotoRequestHandler
# (it keeps the spelling of underscored headers, e.g. S3 metadata); before it,
# moto served with werkzeug's own handler. Pinned in tests/drift/test_moto_seams.py.
if TYPE_CHECKING:  # a base class must be static for the checker
    MotoRequestHandler = WSGIRequestHandler
else:
    MotoRequestHandler = getattr(_moto_app, "MotoRequestHandler", WSGIRequestHandler)

# An idle kept-alive connection is closed after this long (as load balancers
# do), so handler threads do not pile up behind forgotten client pools.
IDLE_TIMEOUT = 120.0
# Hop-by-hop headers: this handler owns the framing of every response.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding"})


class FakeRegionHandler(MotoRequestHandler):
    """HTTP/1.1 handler with real keep-alive.

    werkzeug's ``run_wsgi`` always answers ``Connection: close`` (it cannot
    drain a request body before the next request line). This one reads the
    whole body first, buffers the response and frames it with
    ``Content-Length``, so connections persist unless ``close_connections``.
    moto's ``make_environ`` (header spelling fixes) is kept.
    """

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    close_connections = False

    def setup(self) -> None:
        super().setup()
        # Small responses go out at once, not after the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._first_request = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per request would drown the useful stderr

    def run_wsgi(self) -> None:
        # parse_request has already answered "Expect: 100-continue".
        environ = self.make_environ()
        try:
            environ["wsgi.input"] = io.BytesIO(self._read_body(environ))
        except ValueError as exc:
            self.close_connection = True
            self._respond("400 Bad Request", [("Content-Type", "text/plain")], str(exc).encode())
            return
        environ[FIRST_ON_CONNECTION] = self._first_request
        self._first_request = False
        if self._tcp_fault(environ):
            return
        self._respond(*self._call_app(environ))

    def _tcp_fault(self, environ: dict[str, Any]) -> bool:
        """Act out a TCP fault on this request, already read; True if one did."""
        return False

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug de-chunks
            return bytes(environ["wsgi.input"].read())
        raw = environ.get("CONTENT_LENGTH") or "0"
        length = int(raw) if raw.isdigit() else -1
        if length < 0:
            raise ValueError(f"bad Content-Length {raw!r}")
        return self.rfile.read(length) if length else b""

    def _call_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            # Nothing is sent before the app returns, so a later call just replaces.
            started[:] = [status, headers]
            return chunks.append

        try:
            result = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if not started:
                raise RuntimeError("application returned without calling start_response")
        except Exception:
            self.log_error("%s", traceback.format_exc())
            self.close_connection = True
            plain = [("Content-Type", "text/plain")]
            return "500 Internal Server Error", plain, b"Internal Server Error"
        return started[0], started[1], b"".join(chunks)

    def _respond(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        self.send_response(code, reason or None)
        names = set()
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
                names.add(name.lower())
        bodiless = self.command == "HEAD" or code < 200 or code in (204, 304)
        if not bodiless and "content-length" not in names:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connections:
            self.send_header("Connection", "close")  # also sets close_connection
        self.end_headers()
        if not bodiless:
            self.wfile.write(body)


class DataHandler(FakeRegionHandler):
    """The data listener's handler: TCP faults act once a request is read."""

    server: Any  # the listener's _DataServer

    def _tcp_fault(self, environ: dict[str, Any]) -> bool:
        listener: DataListener = self.server.listener
        mode = listener.mode
        if mode == "ok":
            return False
        self.close_connection = True
        app: FaultMiddleware = self.server.app
        if mode == "blackhole":
            app.dropped(environ, "blackholed")
            hold_connection(self.connection, lambda: listener.mode == "blackhole")
        elif mode == "reset":
            app.dropped(environ, "reset")
            reset_connection(self.connection)
        else:  # "refuse" is closing this connection as we speak
            app.dropped(environ, "refused")
            reset_connection(self.connection, b"")
        return True


def _tcp_route(listener: DataListener) -> Route:
    """``/_fakecloud/tcp``: GET the mode, POST ``{"mode": ...}`` to change it."""

    def set_mode(request: Any) -> dict[str, str]:
        if not isinstance(request, dict) or set(request) != {"mode"}:
            raise TypeError(f'tcp request must be a JSON object {{"mode": ...}}, got {request!r}')
        listener.set_mode(request["mode"])
        return {"mode": listener.mode}

    return {"GET": lambda _: {"mode": listener.mode}, "POST": set_mode}


def build_app(warm: Sequence[str] = (), region: str | None = None) -> FaultMiddleware:
    """moto's dispatcher (as ``ThreadedMotoServer`` builds it) behind the
    faults; ``region`` is named in every AWS response (``REGION_HEADER``)."""
    dispatcher = DomainDispatcherApplication(create_backend_app)
    for service in warm:
        # Build the backend app now, not on the first (timed) request.
        dispatcher.app_instances[service] = create_backend_app(service)  # type: ignore[arg-type]
    return FaultMiddleware(dispatcher, region=region)


def _exit_with_parent() -> None:
    """Exit the process when stdin reaches EOF: the parent is gone or done."""

    def watch() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch, name="fakecloud-parent-watch", daemon=True).start()


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m resilient_cloud.fakecloud._server")
    parser.add_argument("--host", default="127.0.0.2")
    parser.add_argument("--port", type=int, default=0, help="data port (0: any free one)")
    parser.add_argument(
        "--control-port", type=int, default=0, help="control port (0: any free one)"
    )
    parser.add_argument("--connection", choices=("keep-alive", "close"), default="keep-alive")
    parser.add_argument(
        "--region", default=None, help="the region this server plays, named in every response"
    )
    parser.add_argument(
        "--warm", default="dynamodb,s3", help="comma-separated moto backends to build at start"
    )
    parser.add_argument(
        "--no-parent-watch", action="store_true", help="keep running when stdin closes"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse_args(argv)
    # The parent decides when we stop (stdin EOF or SIGTERM), not a terminal's ^C.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not args.no_parent_watch:
        _exit_with_parent()
    app = build_app([s for s in args.warm.split(",") if s], region=args.region)
    handler = type("Handler", (DataHandler,), {"close_connections": args.connection == "close"})
    data = DataListener(
        args.host, args.port, app, handler, on_dropped=app.stats.dropped_connections
    )
    app.add_route("tcp", _tcp_route(data))
    # Control clients send one request per connection: no idle threads kept.
    control_handler = type("ControlHandler", (FakeRegionHandler,), {"close_connections": True})
    control = make_server(
        args.host, args.control_port, app.serve_control, threaded=True,
        request_handler=control_handler,
    )
    sys.stdout.write(f"{data.port}\n{control.server_address[1]}\n")
    sys.stdout.flush()
    # Later prints (moto has some) must not fill a pipe nobody reads any more.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    control.serve_forever()


if __name__ == "__main__":
    main()
