"""What only the asyncio driver does: hedge legs as tasks, cancellation, the
deadline as an asyncio timeout, a bulkhead shared with sync clients, and
aiobotocore's paginators and waiters through the pipeline.

Requests are answered by async ``before-send`` handlers (aiobotocore awaits
them), so a request can be held open on an ``asyncio.Event`` without
blocking the loop. Every loop runs in debug mode and fails the test on an
unretrieved task exception.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import botocore.loaders
import pytest

import resilient_cloud as rc
import resilient_cloud.aio
from resilient_cloud import hooks
from resilient_cloud.testing import FakeClock, Reply, ScriptedResponses
from tests.apis import AsyncioLog, frozen_heap

KEY = {"pk": {"S": "1"}}
ITEM = Reply(200, json.dumps({"Item": KEY}).encode())
TABLE = Reply(200, json.dumps({"Table": {"TableName": "t", "TableStatus": "ACTIVE"}}).encode())


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``main()`` on a debug-mode loop; fail on anything it reports or leaves."""
    reported: list[str] = []
    logged = AsyncioLog()  # client creation, aiobotocore parsing its model, is exempt
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(logged)

    async def checked() -> Any:
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = 1.0
        loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))
        result = await main()
        left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        assert left == [], f"tasks left behind: {left}"
        return result

    try:
        with frozen_heap():
            result = asyncio.run(checked(), debug=True)
    finally:
        asyncio_logger.removeHandler(logged)
    assert reported == [], f"the loop reported: {reported}"
    assert logged.messages == [], f"asyncio logged: {logged.messages}"
    return result


class Held:
    """Answers requests per region: held open until released, or at once."""

    def __init__(self, hold: set[str]) -> None:
        self.hold = hold
        self.release = asyncio.Event()
        self.started: list[str] = []
        self.cancelled = 0

    async def answer(self, request: Any, **kwargs: Any) -> Any:
        region = (urlsplit(request.url).hostname or "").split(".")[1]
        self.started.append(region)
        if region in self.hold:
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return ScriptedResponses.response(True, request.url, ITEM)


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Yield to the loop until ``condition()``; fail (not hang) after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the timeout"
        await asyncio.sleep(0.001)


@functools.lru_cache(maxsize=1)
def _loader() -> Any:
    """One botocore loader with DynamoDB's models parsed, made when this
    module is imported: outside any event loop."""
    loader = botocore.loaders.create_loader()
    for kind in ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2"):
        loader.load_service_model("dynamodb", kind)
    loader.load_data("endpoints")
    loader.load_data("partitions")
    loader.load_data("sdk-default-configuration")
    return loader


_loader()


def aio_session(**kwargs: Any) -> resilient_cloud.aio.Session:
    """An ``rc.aio.Session`` sharing one botocore loader with the others, so
    a client is made without parsing its service model again on the loop
    (0.1 s each, more on a loaded machine: a slow callback in debug mode)."""
    session = resilient_cloud.aio.Session(**kwargs)
    session.register_component("data_loader", _loader())
    return session


def policy(**fields: Any) -> rc.Policy:
    fields.setdefault("random", random.Random(3))
    return rc.Policy(**fields)


def test_a_hedge_to_the_fallback_wins_and_the_slow_leg_is_cancelled() -> None:
    events: list[Any] = []

    async def main() -> Held:
        held = Held(hold={"us-east-1"})
        session = aio_session(
            policy=policy(hedge=rc.Hedge(delay=0.01), hooks=(events.append,))
        )
        session.register("before-send", held.answer)
        async with session.create_client(
            "dynamodb", region_name="us-east-1", fallback_regions=["us-west-2"]
        ) as ddb:
            response = await ddb.get_item(TableName="t", Key=KEY)
            assert response["Item"] == KEY
            fallbacks = rc._botocore.client.runtime_of(ddb)._fallback_clients
            [west] = fallbacks.built().values()
        # The fallback client was closed with ours: its aiohttp sessions are gone.
        assert west._endpoint.http_session._sessions is None
        assert fallbacks.built() == {}
        return held

    held = run(main)
    assert held.started == ["us-east-1", "us-west-2"]
    assert held.cancelled == 1  # the primary leg, still waiting, was cancelled
    [ended] = [e for e in events if isinstance(e, hooks.HedgeEnded)]
    assert ended.hedge_won
    # Every attempt that started ends, the cancelled one too (hooks and spans pair them).
    assert [(e.region, e.outcome) for e in events if isinstance(e, hooks.AttemptEnded)] == [
        ("us-west-2", "success"), ("us-east-1", "cancelled"),
    ]
    [home] = [h for h in rc.health() if h.endpoint.region == "us-east-1"]
    assert home.hedging is not None and (home.hedging.fired, home.hedging.won) == (1, 1)
    # The cancelled leg handed its breaker admission back: nothing counted against us-east-1.
    assert home.breaker is not None and home.breaker.failures_in_window == 0


def test_a_thousand_cancelled_calls_leave_no_slot_task_or_hedge_behind() -> None:
    async def main() -> tuple[Any, Any, int]:
        held = Held(hold={"us-east-1", "us-west-2"})
        session = aio_session(policy=policy(
            hedge=rc.Hedge(delay=0.001, max_concurrent=32),
            bulkhead=rc.Bulkhead(max_concurrent=100, max_queue=1000, max_wait=30.0),
            budget=None,  # every hedge may go
        ))
        session.register("before-send", held.answer)
        async with session.create_client(
            "dynamodb", region_name="us-east-1", fallback_regions=["us-west-2"]
        ) as ddb:
            calls = [asyncio.ensure_future(ddb.get_item(TableName="t", Key=KEY)) for _ in range(1000)]
            await eventually(lambda: len(held.started) == 100 + 32)  # 100 admitted, 32 hedged
            assert rc.health()[0].bulkhead.waiting == 900
            for call in calls:
                call.cancel()
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(result, asyncio.CancelledError) for result in results)
            runtime = rc._botocore.client.runtime_of(ddb)
            hedging = runtime._async_driver._hedging
        [home] = [h for h in rc.health() if h.endpoint.region == "us-east-1"]
        return home.bulkhead, home.breaker, hedging

    bulkhead, breaker, hedging = run(main)
    assert (bulkhead.in_use, bulkhead.waiting) == (0, 0)
    assert hedging == 0
    assert breaker.attempts_in_window == 0  # every admission handed back, none judged


def test_the_deadline_cancels_an_attempt_in_flight() -> None:
    events: list[Any] = []

    async def main() -> Held:
        held = Held(hold={"us-east-1"})
        session = aio_session(policy=policy(deadline=0.05, hooks=(events.append,)))
        session.register("before-send", held.answer)
        async with session.create_client("dynamodb", region_name="us-east-1") as ddb:
            with pytest.raises(rc.DeadlineExceededError, match="in flight"):
                await ddb.get_item(TableName="t", Key=KEY)
        return held

    held = run(main)
    assert held.cancelled == 1
    [ended] = [e for e in events if isinstance(e, hooks.CallEnded)]
    assert (ended.succeeded, ended.reason) == (False, rc.StopReason.DEADLINE)


def test_a_cancelled_call_says_it_ended() -> None:
    events: list[Any] = []

    async def main() -> None:
        held = Held(hold={"us-east-1"})
        session = aio_session(policy=policy(hooks=(events.append,)))
        session.register("before-send", held.answer)
        async with session.create_client("dynamodb", region_name="us-east-1") as ddb:
            call = asyncio.ensure_future(ddb.get_item(TableName="t", Key=KEY))
            await eventually(lambda: held.started != [])
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call

    run(main)
    [ended] = [e for e in events if isinstance(e, hooks.CallEnded)]
    assert (ended.succeeded, ended.attempts) == (False, 1)


def test_sync_and_async_clients_of_one_endpoint_share_the_bulkhead_and_breaker() -> None:
    shared = policy(bulkhead=rc.Bulkhead(max_concurrent=1, max_queue=1, max_wait=10.0))
    sync_client = rc.Session(region_name="us-east-1", policy=shared).client("dynamodb")
    in_sync_request = threading.Event()
    finish_sync = threading.Event()

    def hold_sync(request: Any, **kwargs: Any) -> Any:
        in_sync_request.set()
        assert finish_sync.wait(10)
        return ScriptedResponses.response(False, request.url, ITEM)

    sync_client.meta.events.register("before-send", hold_sync)
    caller = threading.Thread(target=lambda: sync_client.get_item(TableName="t", Key=KEY))
    caller.start()
    assert in_sync_request.wait(10)  # the sync call holds the one slot

    async def main() -> list[Any]:
        session = aio_session(policy=shared)
        async with session.create_client("dynamodb", region_name="us-east-1") as ddb:
            ScriptedResponses(ddb, [], then=ITEM)
            waiting = asyncio.ensure_future(ddb.get_item(TableName="t", Key=KEY))
            await eventually(lambda: rc.health()[0].bulkhead.waiting == 1)  # behind the sync call
            threading.Timer(0.05, finish_sync.set).start()  # a release from another thread
            response = await waiting
        return [response, rc.health()]

    response, health = run(main)
    caller.join(10)
    assert response["Item"] == KEY
    [endpoint] = health
    assert endpoint.bulkhead is not None and endpoint.bulkhead.in_use == 0
    assert endpoint.breaker is not None and endpoint.breaker.attempts_in_window == 2  # one each


def test_paginators_waiters_and_modeled_errors_go_through_the_pipeline() -> None:
    events: list[Any] = []
    clock = FakeClock()
    not_found = Reply(400, json.dumps({
        "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "no",
    }).encode())
    pages = [
        Reply(200, json.dumps({"TableNames": ["aaa"], "LastEvaluatedTableName": "aaa"}).encode()),
        Reply(200, json.dumps({"TableNames": ["bbb"]}).encode()),
    ]

    async def main() -> list[str]:
        session = aio_session(policy=policy(clock=clock, hooks=(events.append,)))
        async with session.create_client("dynamodb", region_name="us-east-1") as ddb:
            script = ScriptedResponses(ddb, [*pages, not_found, TABLE, not_found])
            names = [
                name
                async for page in ddb.get_paginator("list_tables").paginate()
                for name in page["TableNames"]
            ]
            await ddb.get_waiter("table_exists").wait(  # not found, then active
                TableName="t", WaiterConfig={"Delay": 0}
            )
            with pytest.raises(ddb.exceptions.ResourceNotFoundException):
                await ddb.describe_table(TableName="gone")
            assert script.operations == [
                "ListTables", "ListTables", "DescribeTable", "DescribeTable", "DescribeTable",
            ]
        return names

    assert run(main) == ["aaa", "bbb"]
    ended = [e for e in events if isinstance(e, hooks.CallEnded)]
    assert len(ended) == 5 and all(e.attempts == 1 for e in ended)  # a 4xx is not retried


def test_the_harness_fails_on_what_debug_mode_reports() -> None:
    import time

    async def blocks_the_loop() -> None:
        time.sleep(1.05)  # longer than slow_callback_duration

    async def leaves_an_exception_unretrieved() -> None:
        async def fails() -> None:
            raise RuntimeError("nobody looks")

        task = asyncio.ensure_future(fails())
        await asyncio.sleep(0.01)
        del task

    with pytest.raises(AssertionError, match="asyncio logged"):
        run(blocks_the_loop)
    with pytest.raises(AssertionError, match="never retrieved"):
        run(leaves_an_exception_unretrieved)


def test_bad_arguments_are_refused_when_create_client_is_called() -> None:
    session = aio_session()
    with pytest.raises(TypeError, match="fallback_regions must be a sequence of region names, not a string"):
        session.create_client("dynamodb", region_name="us-east-1", fallback_regions="us-west-2")
    with pytest.raises(TypeError, match="fallback_regions must hold strings, not int"):
        session.create_client("dynamodb", region_name="us-east-1", fallback_regions=[1])
    with pytest.raises(TypeError, match="policy must be a resilient_cloud.Policy, not dict"):
        session.create_client("dynamodb", policy={"deadline": 1})
    with pytest.raises(TypeError, match="policy must be a resilient_cloud.Policy, not str"):
        resilient_cloud.aio.Session(policy="fast")

    async def main() -> None:  # partition checks need the client: on enter
        with pytest.raises(ValueError, match="'us-east-1' is the client's own region"):
            async with session.create_client(
                "dynamodb", region_name="us-east-1", fallback_regions=["us-east-1"]
            ):
                pass

    run(main)


@pytest.mark.parametrize("turns", range(6))
def test_a_call_cancelled_as_the_bulkhead_hands_it_a_slot_stays_cancelled(turns: int) -> None:
    """Cancelled ``turns`` loop turns after a freed slot was handed to it, a
    queued call neither sends its request nor keeps the slot (Python 3.11's
    ``asyncio.wait_for`` swallowed such a cancellation)."""

    async def main() -> tuple[bool, int, Any]:
        held = Held(hold={"us-east-1"})
        session = aio_session(policy=policy(
            bulkhead=rc.Bulkhead(max_concurrent=1, max_queue=10, max_wait=30.0)
        ))
        session.register("before-send", held.answer)
        async with session.create_client("dynamodb", region_name="us-east-1") as ddb:
            first = asyncio.ensure_future(ddb.get_item(TableName="t", Key=KEY))
            await eventually(lambda: held.started != [])
            queued = asyncio.ensure_future(ddb.get_item(TableName="t", Key=KEY))
            await eventually(lambda: rc.health()[0].bulkhead.waiting == 1)
            first.cancel()  # its slot goes to the queued call...
            loop = asyncio.get_running_loop()

            def cancel_later(left: int) -> None:  # ...which is cancelled `turns` turns later
                if left:
                    loop.call_soon(cancel_later, left - 1)
                else:
                    queued.cancel()

            cancel_later(turns)
            await asyncio.wait({first, queued}, timeout=5.0)  # fails, rather than hangs, if not
            result = queued.cancelled(), len(held.started), rc.health()[0].bulkhead
            held.release.set()  # let a call that swallowed its cancellation end
            await asyncio.gather(first, queued, return_exceptions=True)
            return result

    cancelled, requests, bulkhead = run(main)
    assert cancelled
    assert requests in (1, 2)  # it may have sent before the cancellation came
    assert (bulkhead.in_use, bulkhead.waiting) == (0, 0)
