"""resilient_cloud for asyncio (aiohttp, aiobotocore).

:class:`DnsResolver` is an ``aiohttp.abc.AbstractResolver`` that answers from
the same DNS cache the sync clients use, serving the last good answer when
lookups fail::

    connector = aiohttp.TCPConnector(resolver=rc.aio.DnsResolver(), use_dns_cache=False)
    config = aiobotocore.config.AioConfig(connector_args={"resolver": rc.aio.DnsResolver()})
"""

from __future__ import annotations

from resilient_cloud.aio._resolver import DnsResolver

__all__ = ["DnsResolver"]
