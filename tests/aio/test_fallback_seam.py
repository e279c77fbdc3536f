"""Fallback-region aiobotocore clients: built once per region under
concurrency, closed together, made from a session or cloned from a client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiobotocore.session import AioSession

from resilient_cloud._aiobotocore.fallback import (
    AsyncFallbackClients,
    bind_create_client,
    clone_factory,
    session_factory,
)

from .helpers import aio_client


class Built:
    """A stand-in client; ``log`` records enters, exits and prepares."""

    def __init__(self, region: str, endpoint_url: str | None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url


class Factory:
    def __init__(self, enter_delay: float = 0.0, fail_first: int = 0) -> None:
        self.log: list[tuple[str, str]] = []
        self._enter_delay = enter_delay
        self._failures_left = fail_first

    def __call__(self, region: str, endpoint_url: str | None) -> Any:
        @contextlib.asynccontextmanager
        async def client() -> AsyncIterator[Built]:
            self.log.append(("enter", region))
            await asyncio.sleep(self._enter_delay)
            if self._failures_left:
                self._failures_left -= 1
                raise OSError(f"no client for {region} this time")
            try:
                yield Built(region, endpoint_url)
            finally:
                self.log.append(("exit", region))

        return client()

    def prepare(self, client: Built, region: str) -> None:
        self.log.append(("prepare", region))


def _clients(factory: Factory, **urls: str) -> AsyncFallbackClients:
    return AsyncFallbackClients(factory, {k.replace("_", "-"): v for k, v in urls.items()}, factory.prepare)


def test_concurrent_callers_await_one_build_per_region() -> None:
    factory = Factory(enter_delay=0.05)

    async def main() -> None:
        clients = _clients(factory, us_west_2="http://west")
        got = await asyncio.gather(*(clients.get("us-west-2") for _ in range(5)), clients.get("eu-west-1"))
        assert len({id(client) for client in got[:5]}) == 1
        assert (got[0].region, got[0].endpoint_url) == ("us-west-2", "http://west")
        assert (got[5].region, got[5].endpoint_url) == ("eu-west-1", None)
        assert await clients.get("us-west-2") is got[0]
        assert sorted(clients.built()) == ["eu-west-1", "us-west-2"]
        await clients.aclose()

    asyncio.run(main())
    assert factory.log.count(("enter", "us-west-2")) == 1
    assert factory.log.index(("prepare", "us-west-2")) > factory.log.index(("enter", "us-west-2"))
    assert sorted(factory.log[-2:]) == [("exit", "eu-west-1"), ("exit", "us-west-2")]


def test_aclose_closes_every_client_once_and_then_refuses() -> None:
    factory = Factory()

    async def main() -> None:
        clients = _clients(factory)
        await clients.get("us-west-2")
        await clients.aclose()
        await clients.aclose()
        assert clients.built() == {}
        with pytest.raises(RuntimeError, match="closed"):
            await clients.get("us-west-2")

    asyncio.run(main())
    assert factory.log == [("enter", "us-west-2"), ("prepare", "us-west-2"), ("exit", "us-west-2")]


def test_a_failed_build_is_tried_again_by_the_next_caller() -> None:
    factory = Factory(fail_first=1)

    async def main() -> None:
        clients = _clients(factory)
        with pytest.raises(OSError, match="this time"):
            await clients.get("us-west-2")
        assert (await clients.get("us-west-2")).region == "us-west-2"
        await clients.aclose()

    asyncio.run(main())
    assert factory.log.count(("enter", "us-west-2")) == 2


def test_a_prepare_that_fails_exits_the_client() -> None:
    factory = Factory()

    def prepare(client: Built, region: str) -> None:
        raise ValueError("cannot prepare")

    async def main() -> None:
        clients = AsyncFallbackClients(factory, {}, prepare)
        with pytest.raises(ValueError):
            await clients.get("us-west-2")
        assert clients.built() == {}
        await clients.aclose()

    asyncio.run(main())
    assert factory.log == [("enter", "us-west-2"), ("exit", "us-west-2")]


def test_a_cancelled_caller_does_not_cancel_the_build_for_the_others() -> None:
    factory = Factory(enter_delay=0.05)

    async def main() -> None:
        clients = _clients(factory)
        first = asyncio.create_task(clients.get("us-west-2"))
        second = asyncio.create_task(clients.get("us-west-2"))
        await asyncio.sleep(0.01)
        first.cancel()
        assert (await second).region == "us-west-2"
        assert first.cancelled()
        await clients.aclose()

    asyncio.run(main())
    assert factory.log.count(("enter", "us-west-2")) == 1


def test_aclose_during_a_build_cancels_it_and_tells_the_callers() -> None:
    factory = Factory(enter_delay=10)

    async def main() -> None:
        clients = _clients(factory)
        waiting = asyncio.create_task(clients.get("us-west-2"))
        await asyncio.sleep(0.01)
        await clients.aclose()
        with pytest.raises(RuntimeError, match="closed while building"):
            await waiting

    asyncio.run(main())
    assert factory.log == [("enter", "us-west-2")]  # cancelled inside __aenter__: nothing to exit


def test_bind_create_client_names_the_arguments() -> None:
    assert bind_create_client(("dynamodb", "us-east-1"), {"use_ssl": False}) == {
        "service_name": "dynamodb", "region_name": "us-east-1", "use_ssl": False,
    }
    with pytest.raises(TypeError):
        bind_create_client(("dynamodb",), {"fallback_regions": ["us-west-2"]})


def test_session_factory_builds_like_the_primary_with_aiobotocores_create_client(moto_url: str) -> None:
    class WrappingSession(AioSession):
        def create_client(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("fallback clients must not go through the subclass")

    session = WrappingSession()
    arguments = bind_create_client(
        ("dynamodb",),
        {"region_name": "us-east-1", "endpoint_url": moto_url, "aws_access_key_id": "fallback-key",
         "aws_secret_access_key": "secret"},
    )
    make = session_factory(session, arguments)

    async def main() -> None:
        async with make("us-west-2", moto_url) as client:
            assert client.meta.region_name == "us-west-2"
            assert client.meta.endpoint_url == moto_url
            assert client._request_signer._credentials.access_key == "fallback-key"
            await client.list_tables()

    asyncio.run(main())


def test_clone_factory_copies_credentials_config_verify_and_scheme(moto_url: str) -> None:
    async def main() -> None:
        async with aio_client(moto_url, read_timeout=7, connector_args={"keepalive_timeout": 3}) as primary:
            make = clone_factory(primary)
            async with make("us-west-2", moto_url) as fallback:
                assert fallback.meta.region_name == "us-west-2"
                assert fallback.meta.service_model.service_name == "dynamodb"
                assert fallback._request_signer._credentials is primary._request_signer._credentials
                assert fallback.meta.config.read_timeout == 7
                assert fallback.meta.config.connector_args["keepalive_timeout"] == 3
                assert fallback._endpoint.http_session._verify == primary._endpoint.http_session._verify
                await fallback.list_tables()
            async with make("eu-west-1", None) as resolved:
                # No custom endpoint: botocore resolves the region's, over http like the primary's.
                assert resolved.meta.endpoint_url == "http://dynamodb.eu-west-1.amazonaws.com"

    asyncio.run(main())
