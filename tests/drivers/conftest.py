"""Clients whose requests are answered by scripts, on a fake clock.

Every test that takes ``make_client`` runs twice: with a botocore client
made by ``rc.Session`` ("sync") and with an aiobotocore client made by
``rc.aio.Session`` ("async"), seen through :class:`SyncView`, so one suite
states the behaviour both APIs share. A test marked
``@pytest.mark.sync_only("why")`` runs for the sync API alone.

The async API's loop runs in debug mode with ``slow_callback_duration =
1.0``; a callback that slow, or a task exception nobody retrieved, fails
the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import resilient_cloud as rc
from resilient_cloud.testing import FakeClock

HAS_AIO = importlib.util.find_spec("aiobotocore") is not None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def events() -> list[Any]:
    return []


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> str:
    if request.param == "async":
        if not HAS_AIO:
            pytest.skip("the async API needs the aio extra")
        marker = request.node.get_closest_marker("sync_only")
        if marker is not None:
            pytest.skip(f"sync API only: {marker.args[0] if marker.args else ''}")
    return request.param


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop in debug mode that fails the test on any unretrieved
    task exception or slow callback it reports."""
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 1.0
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context.get("message", "")))
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(loop.close)
        yield loop
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        assert not pending, f"tasks left behind: {pending}"
    assert not reported, f"the event loop reported: {reported}"


class SyncView:
    """An aiobotocore client driven from a sync test: each public method
    that returns an awaitable (the operations) runs to completion on the
    test's loop; everything else (``meta``, ``exceptions``...) is the
    client's own."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.aio_client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.aio_client, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def run(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            return self._loop.run_until_complete(result) if inspect.isawaitable(result) else result

        return run


@pytest.fixture
def make_client(
    clock: FakeClock, events: list[Any], api: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """``make_client(service="dynamodb", region=..., **policy_fields)``."""
    exits: list[Callable[[], None]] = []
    # Set up before this fixture, so torn down after its clients are exited.
    loop: asyncio.AbstractEventLoop | None = request.getfixturevalue("loop") if api == "async" else None

    def make(service: str = "dynamodb", region: str = "us-east-1", **policy_fields: Any) -> Any:
        policy_fields.setdefault("clock", clock)
        policy_fields.setdefault("random", random.Random(7))
        policy_fields.setdefault("hooks", (events.append,))
        policy = rc.Policy(**policy_fields)
        if api == "sync":
            return rc.Session(region_name=region, policy=policy).client(service)
        import resilient_cloud.aio

        assert loop is not None
        creator = resilient_cloud.aio.Session(policy=policy).create_client(service, region_name=region)
        client = loop.run_until_complete(creator.__aenter__())
        exits.append(lambda: loop.run_until_complete(creator.__aexit__(None, None, None)))
        return SyncView(client, loop)

    yield make
    for exit_client in reversed(exits):
        exit_client()


def is_async(client: Any) -> bool:
    """``client`` is an aiobotocore client (or a :class:`SyncView` of one)."""
    return isinstance(client, SyncView)


def http_response(client: Any, url: str, reply: Any) -> Any:
    """``reply`` as the HTTP response ``client``'s parser reads: botocore's
    ``AWSResponse``, or aiobotocore's ``AioAWSResponse`` for async clients."""
    from resilient_cloud.testing import ScriptedResponses

    return ScriptedResponses.response(is_async(client), url, reply)
