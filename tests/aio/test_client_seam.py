"""The client seam: an aiobotocore client's class swapped in place, its
operations awaited through the runtime, everything else as before."""

from __future__ import annotations

import asyncio
from typing import Any

import aiobotocore
import aiobotocore.client
import boto3
import pytest
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError

import resilient_cloud as rc
from resilient_cloud._aiobotocore.client import (
    ResilientAsyncClientMixin,
    check_async_client,
    close_fallbacks,
    install_async,
    prepare_unwrapped_async,
    resilient_async_class,
)
from resilient_cloud._aiobotocore.watch import WatchedSessionMixin
from resilient_cloud._botocore.client import RUNTIME_ATTRIBUTE, runtime_of
from resilient_cloud._botocore.events import record_exchange, retry_handler_id
from resilient_cloud._clock import SYSTEM_CLOCK

from .helpers import GET_ITEM, REQUESTER, RecordingRuntime, aio_client


def test_only_entered_aiobotocore_clients_are_taken() -> None:
    with pytest.raises(TypeError, match=r"synchronous botocore client \(DynamoDB\): use rc.wrap"):
        check_async_client(boto3.client("dynamodb", region_name="us-east-1"))
    with pytest.raises(TypeError, match="not int"):
        check_async_client(3)

    async def main() -> None:
        creator = AioSession().create_client("dynamodb", region_name="us-east-1")
        with pytest.raises(TypeError, match="not the ClientCreatorContext that creates one: enter it first"):
            check_async_client(creator)
        async with creator as client:
            check_async_client(client)

    asyncio.run(main())


def test_operations_paginators_waiters_and_exceptions_work_through_the_runtime(moto_url: str) -> None:
    async def main() -> None:
        async with aio_client(moto_url) as ddb:
            original = type(ddb)
            runtime = RecordingRuntime()
            install_async(ddb, runtime)
            assert type(ddb) is not original and isinstance(ddb, original)
            assert (type(ddb).__name__, type(ddb).__module__, type(ddb).__qualname__) == (
                original.__name__, original.__module__, original.__qualname__,
            )
            for name in ("a-table", "b-table", "c-table"):
                await ddb.create_table(
                    TableName=name,
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST",
                )
            await ddb.get_waiter("table_exists").wait(TableName="c-table")
            pages = ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2})
            names = [name async for page in pages for name in page["TableNames"]]
            assert {"a-table", "b-table", "c-table"} <= set(names)
            with pytest.raises(ddb.exceptions.ResourceNotFoundException):
                await ddb.describe_table(TableName="no-such-table")
            with pytest.raises(ClientError):
                await ddb.get_item(**{**GET_ITEM, "TableName": "no-such-table"})
            assert runtime.calls[:3] == ["CreateTable"] * 3
            assert "DescribeTable" in runtime.calls  # the waiter's polls
            assert runtime.calls.count("ListTables") >= 2  # one per page
            assert runtime.calls[-2:] == ["DescribeTable", "GetItem"]

    asyncio.run(main())


def test_wrapping_again_replaces_the_runtime_and_keeps_the_class(moto_url: str) -> None:
    async def main() -> None:
        async with aio_client(moto_url) as ddb:
            first, second = RecordingRuntime(), RecordingRuntime()
            install_async(ddb, first)
            swapped = type(ddb)
            install_async(ddb, second)
            assert type(ddb) is swapped and runtime_of(ddb) is second
            await ddb.list_tables()
            assert (first.calls, second.calls) == ([], ["ListTables"])
            # Without a runtime, the swapped class calls straight through.
            del ddb.__dict__[RUNTIME_ATTRIBUTE]
            await ddb.list_tables()
            assert second.calls == ["ListTables"]

    asyncio.run(main())


def test_one_subclass_per_client_class(moto_url: str) -> None:
    """aiobotocore makes a client class per client (as botocore does); each gets
    one subclass, and a swapped class is not subclassed again."""

    async def main() -> None:
        async with aio_client(moto_url) as ddb:
            original = type(ddb)
            install_async(ddb, RecordingRuntime())
            assert resilient_async_class(original) is type(ddb)
            assert resilient_async_class(type(ddb)) is type(ddb)
            assert type(ddb).__mro__[1] is ResilientAsyncClientMixin

    asyncio.run(main())


def test_sync_wrap_still_refuses_a_wrapped_async_client(moto_url: str) -> None:
    async def main() -> None:
        async with aio_client(moto_url) as ddb:
            install_async(ddb, RecordingRuntime())
            with pytest.raises(TypeError, match="aiobotocore client"):
                rc.wrap(ddb)

    asyncio.run(main())


@pytest.mark.parametrize("how", ["aexit", "close", "close-then-aexit"])
def test_closing_the_client_closes_its_fallbacks_first(moto_url: str, how: str) -> None:
    if how == "close-then-aexit" and _version(aiobotocore.__version__) < (3, 10):
        pytest.skip("aiobotocore < 3.10 asserts when a closed client's http session is exited")

    async def main() -> RecordingRuntime:
        runtime = RecordingRuntime()
        open_at_close: list[bool] = []
        creator = AioSession().create_client("dynamodb", region_name="us-east-1", endpoint_url=moto_url)
        ddb = await creator.__aenter__()
        install_async(ddb, runtime)
        http_session = ddb._endpoint.http_session
        runtime.on_close = lambda: open_at_close.append(http_session._sessions is not None)
        await ddb.list_tables()
        if how != "aexit":
            await ddb.close()
        if how != "close":
            await creator.__aexit__(None, None, None)
        assert http_session._sessions is None
        assert open_at_close[0]  # the fallbacks closed before the client
        return runtime

    runtime = asyncio.run(main())
    # close() and __aexit__ each ask; the runtime's aclose() must not mind.
    assert runtime.closed == (2 if how == "close-then-aexit" else 1)


def test_close_fallbacks_without_a_runtime_does_nothing(moto_url: str) -> None:
    async def main() -> None:
        async with aio_client(moto_url) as ddb:
            await close_fallbacks(ddb)
            await close_fallbacks(object())

    asyncio.run(main())


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_aiobotocores_retry_handler_is_botocores_id_and_comes_off(mode: str) -> None:
    from tests.integration.wire import LoopbackServer, read_request

    def answer_500(server: LoopbackServer, conn: Any) -> None:
        while read_request(conn) is not None:
            server.count_request()
            conn.sendall(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/x-amz-json-1.0\r\n"
                b"Content-Length: 2\r\n\r\n{}"
            )

    server = LoopbackServer(answer_500)

    async def requests_sent(take_over: bool) -> int:
        before = server.requests
        async with aio_client(
            f"http://127.0.0.1:{server.port}", retries={"mode": mode, "total_max_attempts": 2}
        ) as ddb:
            assert retry_handler_id(ddb) == ("needs-retry.dynamodb", "retry-config-dynamodb")
            if take_over:
                prepare_unwrapped_async(ddb, None, REQUESTER, SYSTEM_CLOCK)
            with pytest.raises(ClientError):
                await ddb.get_item(**GET_ITEM)
        return server.requests - before

    async def main() -> tuple[int, int]:
        return await requests_sent(False), await requests_sent(True)

    try:
        assert asyncio.run(main()) == (2, 1)
    finally:
        server.close()


def test_prepare_is_idempotent(moto_url: str) -> None:
    async def main() -> None:
        async with aio_client(moto_url) as ddb:
            for _ in range(2):
                prepare_unwrapped_async(ddb, rc.DnsCache(), REQUESTER, SYSTEM_CLOCK)
            handlers = ddb.meta.events._emitter._handlers.prefix_search("needs-retry.dynamodb.GetItem")
            assert handlers.count(record_exchange) == 1
            session_class = type(ddb._endpoint.http_session)
            assert session_class.__mro__[1] is WatchedSessionMixin
            assert session_class.__mro__[2] is AIOHTTPSession
            await ddb.list_tables()

    asyncio.run(main())


def test_aiobotocore_client_base_is_what_we_check() -> None:
    assert issubclass(aiobotocore.client.AioBaseClient, aiobotocore.client.BaseClient)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2])


def test_a_client_used_before_being_prepared_is_watched_on_its_existing_connector(moto_url: str) -> None:
    from resilient_cloud._aiobotocore.watch import WatchedConnectorMixin
    from resilient_cloud._outcome import CURRENT_TRACE, AttemptTrace

    async def main() -> AttemptTrace:
        async with aio_client(moto_url) as ddb:
            await ddb.list_tables()  # builds aiobotocore's aiohttp session and connector
            prepare_unwrapped_async(ddb, None, REQUESTER, SYSTEM_CLOCK)
            (aiohttp_session,) = ddb._endpoint.http_session._sessions.values()
            assert isinstance(aiohttp_session.connector, WatchedConnectorMixin)
            trace = AttemptTrace()
            token = CURRENT_TRACE.set(trace)
            try:
                await ddb.list_tables()
            finally:
                CURRENT_TRACE.reset(token)
            return trace

    trace = asyncio.run(main())
    assert (trace.connecting, trace.writing) == (True, True)
    assert trace.exchange is not None and trace.exchange.caught_exception is None


def test_aiohttp_makes_no_retry_below_ours(moto_url: str) -> None:
    """aiohttp resends idempotent methods once after a reset on its own;
    prepared clients' aiohttp sessions, built before or after, do not."""

    async def main() -> list[bool]:
        async with aio_client(moto_url) as before, aio_client(moto_url) as after:
            await before.list_tables()  # its aiohttp session exists before we prepare it
            for client in (before, after):
                prepare_unwrapped_async(client, None, REQUESTER, SYSTEM_CLOCK)
            await after.list_tables()
            return [
                aiohttp_session._retry_connection
                for client in (before, after)
                for aiohttp_session in client._endpoint.http_session._sessions.values()
            ]

    assert asyncio.run(main()) == [False, False]
