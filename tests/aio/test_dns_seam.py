"""The DNS seam: an aiobotocore client's connector resolves through our cache,
with aiohttp's own cache off, and never blocks the event loop to do it."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from aiohttp.abc import AbstractResolver

import resilient_cloud as rc
from resilient_cloud._aiobotocore.dns import install_dns_cache_async
from resilient_cloud._clock import SYSTEM_CLOCK
from resilient_cloud._dns.cache import Requester, cache_for
from resilient_cloud.aio import DnsResolver
from resilient_cloud.testing import FakeClock

from .helpers import REQUESTER, aio_client


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _connector_of(client: Any) -> Any:
    (aiohttp_session,) = client._endpoint.http_session._sessions.values()
    return aiohttp_session.connector


def test_new_connections_resolve_through_the_cache(moto_url: str) -> None:
    dns = rc.DnsCache()

    async def main() -> None:
        async with aio_client(moto_url.replace("127.0.0.1", "localhost")) as ddb:
            users_args = ddb.meta.config.connector_args
            before = dict(users_args)
            assert install_dns_cache_async(ddb, dns, REQUESTER, SYSTEM_CLOCK) is True
            args = ddb._endpoint.http_session._connector_args
            assert isinstance(args["resolver"], DnsResolver) and args["use_dns_cache"] is False
            assert users_args == before  # the user's config is not edited
            await ddb.list_tables()
            connector = _connector_of(ddb)
            assert connector.use_dns_cache is False
        port = _port(moto_url)
        families = (socket.AF_UNSPEC, socket.AF_INET)
        assert any(cache_for(dns, SYSTEM_CLOCK).fresh("localhost", port, family) for family in families)

    asyncio.run(main())


def test_a_lookup_that_blocks_runs_off_the_event_loop(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The system backend calls socket.getaddrinfo: a slow one must not
    stall the loop (a ticker keeps running while it waits)."""
    original = socket.getaddrinfo
    lookup_threads: list[threading.Thread] = []

    def slow_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "localhost":
            lookup_threads.append(threading.current_thread())
            threading.Event().wait(0.3)
        return original(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)

    async def main() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        async with aio_client(moto_url.replace("127.0.0.1", "localhost")) as ddb:
            install_dns_cache_async(ddb, rc.DnsCache(), REQUESTER, SYSTEM_CLOCK)
            await ddb.list_tables()
        ticker.cancel()
        return ticks

    loop_thread = threading.current_thread()
    ticks = asyncio.run(main())
    assert lookup_threads and all(thread is not loop_thread for thread in lookup_threads)
    assert ticks >= 10  # 0.3 s of lookup, ticks every 10 ms


def test_a_resolver_the_user_gave_is_kept(moto_url: str, caplog: pytest.LogCaptureFixture) -> None:
    class UsersResolver(AbstractResolver):
        async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> Any:
            raise OSError("not used")

        async def close(self) -> None:
            pass

    theirs = UsersResolver()

    async def main() -> None:
        config = AioConfig(connector_args={"resolver": theirs})
        async with AioSession().create_client(
            "dynamodb", region_name="us-east-1", endpoint_url=moto_url, config=config
        ) as ddb:
            with caplog.at_level(logging.DEBUG, logger="resilient_cloud"):
                assert install_dns_cache_async(ddb, rc.DnsCache(), REQUESTER, SYSTEM_CLOCK) is False
            assert ddb._endpoint.http_session._connector_args["resolver"] is theirs
            assert "gives a resolver of its own" in caplog.text

    asyncio.run(main())


def test_dns_none_installs_nothing_and_removes_ours(moto_url: str) -> None:
    async def main() -> None:
        async with aio_client(moto_url) as ddb:
            http_session = ddb._endpoint.http_session
            original = http_session._connector_args
            assert install_dns_cache_async(ddb, None, REQUESTER, SYSTEM_CLOCK) is False
            assert http_session._connector_args is original
            assert install_dns_cache_async(ddb, rc.DnsCache(), REQUESTER, SYSTEM_CLOCK) is True
            assert install_dns_cache_async(ddb, None, REQUESTER, SYSTEM_CLOCK) is False
            assert http_session._connector_args is original
            assert "resolver" not in original

    asyncio.run(main())


def test_installing_alike_again_keeps_the_connector(moto_url: str) -> None:
    dns = rc.DnsCache()

    async def main() -> None:
        async with aio_client(moto_url) as ddb:
            install_dns_cache_async(ddb, dns, REQUESTER, SYSTEM_CLOCK)
            await ddb.list_tables()
            connector = _connector_of(ddb)
            assert install_dns_cache_async(ddb, dns, Requester((), "dynamodb", "us-east-1"), SYSTEM_CLOCK)
            await ddb.list_tables()
            assert _connector_of(ddb) is connector

    asyncio.run(main())


def test_a_client_used_before_gets_a_new_connector_our_way(moto_url: str) -> None:
    """aiohttp sessions built before the install are retired: the next request
    builds a connector with our resolver; the old one closes with the client."""

    async def main() -> None:
        async with aio_client(moto_url) as ddb:
            await ddb.list_tables()
            old = _connector_of(ddb)
            assert not isinstance(old._resolver, DnsResolver)
            install_dns_cache_async(ddb, rc.DnsCache(), REQUESTER, FakeClock())
            await ddb.list_tables()
            new = _connector_of(ddb)
            assert new is not old and isinstance(new._resolver, DnsResolver)
            assert not old.closed
        assert old.closed and new.closed

    asyncio.run(main())


def test_the_httpx_backend_is_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    httpxsession = pytest.importorskip("aiobotocore.httpxsession")
    pytest.importorskip("httpx")

    async def main() -> None:
        config = AioConfig(http_session_cls=httpxsession.HttpxSession)
        async with AioSession().create_client(
            "dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:1", config=config
        ) as ddb:
            assert install_dns_cache_async(ddb, rc.DnsCache(), REQUESTER, SYSTEM_CLOCK) is False
        assert "is not aiobotocore's AIOHTTPSession" in caplog.text

    asyncio.run(main())
