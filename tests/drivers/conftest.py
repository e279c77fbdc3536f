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

import random
from collections.abc import Callable
from typing import Any

import pytest

import resilient_cloud as rc
from resilient_cloud.testing import FakeClock

# The sync/async parametrization, shared with the integration suite.
from ..apis import Clients, SyncView, api, clients, is_async, loop

__all__ = ["SyncView", "api", "clients", "is_async", "loop"]  # fixtures and helpers this suite's tests use


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def events() -> list[Any]:
    return []


@pytest.fixture
def make_client(clock: FakeClock, events: list[Any], clients: Clients) -> Callable[..., Any]:
    """``make_client(service="dynamodb", region=..., **policy_fields)``."""

    def make(service: str = "dynamodb", region: str = "us-east-1", **policy_fields: Any) -> Any:
        policy_fields.setdefault("clock", clock)
        policy_fields.setdefault("random", random.Random(7))
        policy_fields.setdefault("hooks", (events.append,))
        return clients.session(region_name=region, policy=rc.Policy(**policy_fields)).client(service)

    return make


def http_response(client: Any, url: str, reply: Any) -> Any:
    """``reply`` as the HTTP response ``client``'s parser reads: botocore's
    ``AWSResponse``, or aiobotocore's ``AioAWSResponse`` for async clients."""
    from resilient_cloud.testing import ScriptedResponses

    return ScriptedResponses.response(is_async(client), url, reply)
