"""resilient_cloud for asyncio (aiohttp, aiobotocore).

:class:`Session` is a drop-in for ``aiobotocore.session.AioSession`` (and
:func:`get_session` for ``aiobotocore.session.get_session``) whose clients
are resilient; :func:`wrap` installs resilience on an entered aiobotocore
client. Both take ``policy=`` and ``fallback_regions=`` exactly as the sync
API does, and share budgets, breakers, bulkheads, routers and DNS answers
with sync clients of the same endpoints::

    session = rc.aio.Session(policy=rc.Policy(deadline=2.0))
    async with session.create_client("dynamodb", region_name="us-east-1") as ddb:
        await ddb.get_item(TableName="t", Key={"pk": {"S": "1"}})

:class:`DnsResolver` is an ``aiohttp.abc.AbstractResolver`` that answers from
the same DNS cache the sync clients use, serving the last good answer when
lookups fail::

    connector = aiohttp.TCPConnector(resolver=rc.aio.DnsResolver(), use_dns_cache=False)
    config = aiobotocore.config.AioConfig(connector_args={"resolver": rc.aio.DnsResolver()})
"""

from __future__ import annotations

from resilient_cloud.aio._resolver import DnsResolver
from resilient_cloud.aio._session import Session, get_session
from resilient_cloud.aio._wrap import wrap

__all__ = ["DnsResolver", "Session", "get_session", "wrap"]

# Shown (reprs, docs, tracebacks) where users import them from.
for _obj in (DnsResolver, Session, get_session, wrap):
    _obj.__module__ = __name__
del _obj
