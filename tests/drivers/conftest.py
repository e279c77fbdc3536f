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
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import resilient_cloud as rc
from resilient_cloud.testing import FakeClock

# The sync/async parametrization, shared with the integration suite.
from ..apis import SyncView, api, is_async, loop

__all__ = ["SyncView", "api", "is_async", "loop"]  # fixtures and helpers this suite's tests use


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def events() -> list[Any]:
    return []


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


def http_response(client: Any, url: str, reply: Any) -> Any:
    """``reply`` as the HTTP response ``client``'s parser reads: botocore's
    ``AWSResponse``, or aiobotocore's ``AioAWSResponse`` for async clients."""
    from resilient_cloud.testing import ScriptedResponses

    return ScriptedResponses.response(is_async(client), url, reply)
