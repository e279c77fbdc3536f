"""The session seam: the callback sees the entered client and its creation
arguments; on exit the fallbacks close before the client."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from aiobotocore.session import AioSession

from resilient_cloud._aiobotocore.client import install_async
from resilient_cloud._aiobotocore.session import ResilientClientCreatorContext

from .helpers import RecordingRuntime


def test_the_callback_gets_the_entered_client_and_the_arguments(moto_url: str) -> None:
    seen: list[tuple[Any, dict[str, Any], bool]] = []
    order: list[str] = []
    runtime = RecordingRuntime()

    def on_client(client: Any, arguments: Any) -> None:
        entered = client._endpoint.http_session._sessions is not None
        seen.append((client, dict(arguments), entered))
        install_async(client, runtime)

    async def main() -> Any:
        session = AioSession()
        context = ResilientClientCreatorContext.create(
            session.create_client, ("dynamodb",), {"region_name": "us-east-1", "endpoint_url": moto_url},
            on_client,
        )
        async with context as ddb:
            http_session = ddb._endpoint.http_session
            runtime.on_close = lambda: order.append(
                "fallbacks" if http_session._sessions is not None else "fallbacks-after-client"
            )
            await ddb.list_tables()
        order.append("client" if http_session._sessions is None else "client-still-open")
        return ddb

    ddb = asyncio.run(main())
    ((client, arguments, entered),) = seen
    assert client is ddb and entered
    assert arguments == {"service_name": "dynamodb", "region_name": "us-east-1", "endpoint_url": moto_url}
    assert runtime.calls == ["ListTables"]
    # The context and the swapped class's __aexit__ both close the fallbacks
    # (runtime.aclose() is idempotent), each before the client.
    assert order == ["fallbacks", "fallbacks", "client"]


def test_an_async_callback_is_awaited(moto_url: str) -> None:
    awaited: list[Any] = []

    async def on_client(client: Any, arguments: Any) -> None:
        await asyncio.sleep(0)
        awaited.append(client)

    async def main() -> Any:
        session = AioSession()
        async with ResilientClientCreatorContext.create(
            session.create_client, ("dynamodb",), {"region_name": "us-east-1", "endpoint_url": moto_url},
            on_client,
        ) as ddb:
            return ddb

    assert awaited == [asyncio.run(main())]


def test_a_failing_callback_exits_the_client_and_raises(moto_url: str) -> None:
    entered: list[Any] = []

    def on_client(client: Any, arguments: Any) -> None:
        entered.append(client)
        raise ValueError("bad policy")

    async def main() -> None:
        session = AioSession()
        with pytest.raises(ValueError, match="bad policy"):
            async with ResilientClientCreatorContext.create(
                session.create_client, ("dynamodb",), {"region_name": "us-east-1", "endpoint_url": moto_url},
                on_client,
            ):
                raise AssertionError("not reached")

    asyncio.run(main())
    (client,) = entered
    assert client._endpoint.http_session._sessions is None  # exited


def test_bad_arguments_fail_at_the_call_and_leave_no_coroutine_behind() -> None:
    called: list[Any] = []

    def create_client(*args: Any, **kwargs: Any) -> Any:
        called.append(args)
        return AioSession().create_client(*args, **kwargs)

    with pytest.raises(TypeError):
        ResilientClientCreatorContext.create(create_client, ("dynamodb",), {"no_such_argument": 1}, print)
    gc.collect()  # a never-awaited coroutine would warn here (warnings are errors)
    assert called == []
