"""TCP faults at the server, on real sockets: the modes and what they do to a connection.

- ``"ok"``: normal service.
- ``"refuse"``: the server is down. The data listener is closed and every
  open data connection with it, so new connects get ``ECONNREFUSED`` and
  pooled keep-alive connections fail. ``"ok"`` re-opens the same port.
- ``"reset"``: each request is read, then the connection is reset in the
  middle of the response (:func:`reset_connection`): the client reads
  ``ECONNRESET``.
- ``"blackhole"``: each request is read and never answered
  (:func:`hold_connection`); only the client's read timeout reveals it.

The modes act on a region's whole data listener (see ``_listener``).
"""

from __future__ import annotations

import os
import selectors
import socket
import struct
import time
from collections.abc import Callable

__all__ = ["BLACKHOLE_LIMIT", "TCP_MODES", "check_tcp_mode", "hold_connection", "reset_connection"]

TCP_MODES = ("ok", "refuse", "reset", "blackhole")
# A blackholed connection is given up after this long, so no handler thread
# outlives a forgotten client for ever.
BLACKHOLE_LIMIT = 60.0
# What a "reset" connection gets first: the client has started reading a
# response, which can never be complete (the header block does not end).
PARTIAL_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Len"
# How often a held connection re-checks whether it is still blackholed.
_HOLD_POLL = 0.05


def check_tcp_mode(mode: object) -> str:
    if not isinstance(mode, str) or mode not in TCP_MODES:
        raise ValueError(f"mode must be one of {', '.join(TCP_MODES)}; got {mode!r}")
    return mode


def reset_connection(sock: socket.socket, partial: bytes = PARTIAL_RESPONSE) -> None:
    """Send ``partial``, then abort the connection with an RST.

    With ``SO_LINGER`` on and a zero timeout, closing sends RST instead of
    FIN and drops unsent data. The descriptor is detached and closed at once:
    the handler's file objects still reference the socket object, which would
    otherwise keep it open; afterwards that object holds no descriptor, so
    their late flushes and closes fail harmlessly.
    """
    try:
        if partial:
            sock.sendall(partial)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass  # the client left already: nothing to reset
    try:
        os.close(sock.detach())
    except OSError:
        pass


def hold_connection(
    sock: socket.socket, holding: Callable[[], bool], limit: float = BLACKHOLE_LIMIT
) -> None:
    """Keep ``sock`` open and silent while ``holding()`` is true.

    Returns when the client closes the connection, when ``holding()`` turns
    false (the mode changed), or after ``limit`` seconds; the caller then
    closes it. Anything the client sends meanwhile is read and dropped.
    """
    deadline = time.monotonic() + limit
    with selectors.DefaultSelector() as selector:
        try:
            selector.register(sock, selectors.EVENT_READ)
        except (OSError, ValueError):
            return  # already closed
        while holding():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                if selector.select(min(_HOLD_POLL, remaining)) and not sock.recv(65536):
                    return  # the client closed it
            except OSError:
                return
