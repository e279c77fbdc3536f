"""Watching an aiobotocore client's aiohttp connector for where an attempt failed.

aiohttp's ``ClientSession._request`` gets a connection from
``connector.connect(req, traces=, timeout=)`` and only then writes the
request (``ClientRequest.send``). Everything that happens before any byte
reaches the service happens inside ``connect``: waiting for a pool slot,
reusing an idle connection, the DNS lookup, the TCP connect, a proxy's
``CONNECT``, the TLS handshake. So our connector subclass notes in the running
attempt's :class:`~resilient_cloud._outcome.AttemptTrace` that it is
``connecting`` when ``connect`` starts and that the request may be
``writing`` as soon as it returns a connection. A failure with "connecting
and not writing" came from inside ``connect``: not one byte was written. The
trace runs in the calling task (aiohttp awaits ``connect`` there), so
``CURRENT_TRACE.get()`` finds the attempt's own trace. aiohttp's
``TraceConfig`` signals would say the same, but aiobotocore builds its
``ClientSession`` without ``trace_configs``; the connector is the seam it
lets us reach (``AIOHTTPSession._create_connector``).

A connection reused by aiohttp's own one-time retry (idempotent methods after
``ClientOSError``/``ServerDisconnectedError``, ``ClientSession._request``) or
by a followed redirect is fetched after the first write: the trace stays
``writing``, as it must.

How ``AIOHTTPSession.send`` (aiobotocore 3.8-3.10) maps aiohttp's exceptions
to botocore's, and what the trace makes of them:

=====================================  ===================================  ==========================  =================
where it failed                        aiohttp raises                       aiobotocore raises          the request
=====================================  ===================================  ==========================  =================
DNS lookup (resolver ``OSError``)      ``ClientConnectorDNSError``          ``EndpointConnectionError``  not sent
TCP connect refused or unreachable     ``ClientConnectorError``             ``EndpointConnectionError``  not sent
connect or TLS handshake timed out     ``ConnectionTimeoutError``           ``ConnectTimeoutError``      not sent
(``sock_connect``)                     ("Connection timeout to host ...")
TLS handshake or certificate failed    ``ClientConnectorSSLError`` /        ``SSLError``                 not sent (trace)
                                       ``ClientConnectorCertificateError``
proxy refused, or answered CONNECT     ``ClientProxyConnectionError`` /     ``ProxyConnectionError``     not sent
with an error                          ``ClientHttpProxyError``
connector closed                       ``ClientConnectionError``            ``EndpointConnectionError``  not sent (trace)
writing to a closed transport          ``ClientConnectionResetError``       ``EndpointConnectionError``  may have been sent
body write failed                      ``ClientOSError`` ("Can not write")  ``EndpointConnectionError``  may have been sent
reset (RST) after the request          ``ClientOSError`` (ECONNRESET)       ``EndpointConnectionError``  may have been sent
server closed without an answer        ``ServerDisconnectedError``          ``ConnectionClosedError``    may have been sent
answer cut short                       ``ClientPayloadError``               ``ConnectionClosedError``    may have been sent
no answer in time (``sock_read``)      ``SocketTimeoutError``               ``ReadTimeoutError``         may have been sent
unparsable answer                      ``ClientResponseError``              ``HTTPClientError``          may have been sent
caller cancelled                       ``CancelledError``                   ``CancelledError``           (interrupted)
=====================================  ===================================  ==========================  =================

aiobotocore picks ``ConnectTimeoutError`` over ``ReadTimeoutError`` by the
message (``str(e).lower().startswith("connect")``). ``ClientConnectionError``
is caught broadly and becomes ``EndpointConnectionError``, which botocore
(urllib3) raises only before writing: with aiobotocore it also follows a
reset after the request was written. Only the trace tells those apart;
``_outcome.classify`` must ask it for ``EndpointConnectionError`` too (see
``tests/aio/test_outcomes.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from aiobotocore.httpsession import AIOHTTPSession

from resilient_cloud._outcome import CURRENT_TRACE
from resilient_cloud._subclass import SubclassCache

logger = logging.getLogger("resilient_cloud")


class WatchedConnectorMixin:
    """Notes in the current attempt's trace when ``connect`` starts and ends.

    Overrides ``aiohttp.BaseConnector.connect(req, traces, timeout)``, which
    ``ClientSession._request`` awaits with ``traces=`` and ``timeout=`` as
    keywords before writing the request.
    """

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        trace = CURRENT_TRACE.get()
        if trace is None:
            return await super().connect(req, traces, timeout)  # type: ignore[misc]
        trace.connecting = True
        connection = await super().connect(req, traces, timeout)  # type: ignore[misc]
        trace.writing = True  # from here on the request may be written
        return connection


watched_connector_class = SubclassCache(WatchedConnectorMixin)


class WatchedSessionMixin:
    """An ``AIOHTTPSession`` whose connectors are watched, and whose aiohttp
    sessions make no retries of their own.

    aiobotocore builds one aiohttp ``ClientSession`` per proxy URL, lazily,
    from ``AIOHTTPSession._create_connector(proxy_url)`` (in ``_get_session``).
    """

    async def _create_connector(self, proxy_url: Any) -> Any:
        connector = await super()._create_connector(proxy_url)  # type: ignore[misc]
        connector.__class__ = watched_connector_class(type(connector))
        return connector

    async def _get_session(self, proxy_url: Any) -> Any:
        session = await super()._get_session(proxy_url)  # type: ignore[misc]
        # aiohttp resends a GET, PUT or DELETE once after a reset or a
        # disconnect (ClientSession._request, RFC 9112 9.3.1.1): a retry
        # below ours, uncounted by budget and breaker, and a second send
        # of a PUT our call core may judge unsafe to repeat. botocore's
        # urllib3 makes no such retry either.
        session._retry_connection = False
        return session


watched_session_class = SubclassCache(WatchedSessionMixin)


def watch_attempts(client: Any) -> bool:
    """Watch ``client``'s connections from now on: new connectors, and those
    of aiohttp sessions already built. Idempotent. False if the client's HTTP
    layer is not aiobotocore's ``AIOHTTPSession`` (the httpx backend): its
    transport errors are then judged by their class alone."""
    http_session = client._endpoint.http_session
    if not isinstance(http_session, AIOHTTPSession):
        return False
    http_session.__class__ = watched_session_class(type(http_session))
    # Built before we were installed: AIOHTTPSession._sessions is
    # {proxy_url: ClientSession}, None once the client has exited.
    # (Private, not in the stubs: pinned in tests/drift/aio_pins.py.)
    for aiohttp_session in list((http_session._sessions or {}).values()):  # type: ignore[attr-defined]
        aiohttp_session._retry_connection = False
        connector = aiohttp_session.connector
        if connector is not None:
            connector.__class__ = watched_connector_class(type(connector))
    return True
