"""Watching a connection for where an attempt failed.

botocore's ``SSLError`` is raised both when a TLS handshake fails (nothing
was sent) and when a TLS record is corrupted while the response is read (the
request arrived and a write may have been applied). The exception cannot
tell them apart, so the connection class notes, in the running attempt's
:class:`~resilient_cloud._outcome.AttemptTrace`, that it started connecting
(``connect``) and that it started writing the request (``send``, http.client's
one way to the socket). urllib3 2 connects an HTTPS connection before its
request; http.client connects a plain-HTTP one in its first ``send``, which
we make connect before it counts as writing. A pooled connection that is
reused is not connected again. So "connecting and not writing" means the
failure came before any byte left.
"""

from __future__ import annotations

from typing import Any

from resilient_cloud._outcome import CURRENT_TRACE


class WatchedConnectionMixin:
    """Notes connecting and writing in the current attempt's trace."""

    def connect(self) -> None:
        trace = CURRENT_TRACE.get()
        if trace is not None:
            trace.connecting = True
        super().connect()  # type: ignore[misc]

    def send(self, data: Any) -> None:
        trace = CURRENT_TRACE.get()
        if trace is not None:
            if self.sock is None and self.auto_open:  # type: ignore[attr-defined]
                # http.client connects a plain-HTTP connection inside its
                # first send(): connect first, so that a failure to connect
                # is not taken for one while writing.
                self.connect()
            trace.writing = True
        super().send(data)  # type: ignore[misc]
