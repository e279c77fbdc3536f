"""Putting the DNS answer cache on an aiobotocore client's aiohttp connector.

aiobotocore's ``AIOHTTPSession`` builds each aiohttp ``TCPConnector`` lazily,
on the first request per proxy URL, in ``_create_connector(proxy_url)``, as
``TCPConnector(limit=..., ssl=..., **self._connector_args)``; the args are
``AioConfig(connector_args=...)``, the very dict the client's config holds.
So we give the session a new dict (never editing the user's) with our
:class:`~resilient_cloud.aio.DnsResolver` as ``resolver`` and aiohttp's own
cache off (``use_dns_cache=False``: it never serves stale, and would answer
for 10 s without asking us). The resolver answers fresh hits on the event
loop and runs anything that may block in the loop's executor.

A resolver the user gave in ``connector_args`` is kept. aiohttp sessions
built before we were installed (a client used before being wrapped) are
retired: the next request builds a new one our way, and the old ones close
with the client (their idle connections expire after ``keepalive_timeout``).
"""

from __future__ import annotations

import logging
from typing import Any

from aiobotocore.httpsession import AIOHTTPSession

from resilient_cloud._clock import Clock
from resilient_cloud._dns.cache import Requester
from resilient_cloud._options import DnsCache

logger = logging.getLogger("resilient_cloud")

# Kept on the http session: the connector args it was built with, and what we installed.
_ORIGINAL_ARGS = "_resilient_cloud_connector_args"
_INSTALLED = "_resilient_cloud_dns"


def install_dns_cache_async(
    client: Any, dns: DnsCache | None, requester: Requester, clock: Clock
) -> bool:
    """Resolve ``client``'s new connections through the process's DNS cache
    for (``dns``, ``clock``), reporting to ``requester``'s hooks. ``dns``
    None removes ours (aiohttp resolves again). True when our cache is
    installed; False when ``dns`` is None, the user gave their own resolver,
    or the client's HTTP layer is not ``AIOHTTPSession`` (the httpx backend)."""
    http_session = client._endpoint.http_session
    if not isinstance(http_session, AIOHTTPSession):
        if dns is not None:
            logger.warning(
                "DNS cache not installed on the %s client for %s: its HTTP session (%s) is not "
                "aiobotocore's AIOHTTPSession",
                client.meta.service_model.service_name, client.meta.region_name,
                type(http_session).__name__,
            )
        return False
    # _connector_args: private, not in the stubs (pinned in tests/drift/aio_pins.py).
    connector_args: dict[str, Any] = http_session._connector_args  # type: ignore[attr-defined]
    original: dict[str, Any] = http_session.__dict__.setdefault(_ORIGINAL_ARGS, connector_args)
    if dns is not None and "resolver" in original:
        logger.debug(
            "DNS cache not installed on the %s client for %s: AioConfig(connector_args=) "
            "gives a resolver of its own (%r), which is kept",
            client.meta.service_model.service_name, client.meta.region_name, original["resolver"],
        )
        dns = None
    wanted = None if dns is None else (dns, clock, requester)
    if http_session.__dict__.get(_INSTALLED) == wanted:
        return wanted is not None  # installed alike before: keep the connectors
    if wanted is None:
        args = original
    else:
        # Imported here: resilient_cloud.aio (the public layer) imports these seams.
        from resilient_cloud.aio._resolver import DnsResolver

        resolver = DnsResolver(
            dns, hooks=requester.hooks, clock=clock, service=requester.service,
            region=requester.region, telemetry=requester.telemetry,
        )
        args = {**original, "resolver": resolver, "use_dns_cache": False}
    http_session._connector_args = args  # type: ignore[attr-defined]
    http_session.__dict__[_INSTALLED] = wanted
    _retire_sessions(http_session)
    return wanted is not None


def _retire_sessions(http_session: Any) -> None:
    """Forget the aiohttp sessions built so far, so the next request builds
    one with the current connector args. They stay in the session's exit
    stack (``AIOHTTPSession._exit_stack``) and close with the client; requests
    in flight on them finish."""
    sessions = http_session._sessions  # {proxy_url: ClientSession}; None once exited
    if sessions:
        sessions.clear()
