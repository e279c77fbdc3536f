"""Clients whose requests are answered by scripts, on a fake clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

import resilient_cloud as rc
from resilient_cloud.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def events() -> list[Any]:
    return []


@pytest.fixture
def make_client(clock: FakeClock, events: list[Any]) -> Callable[..., Any]:
    """``make_client(service="dynamodb", retry=..., **policy_fields)``."""

    def make(service: str = "dynamodb", region: str = "us-east-1", **policy_fields: Any) -> Any:
        policy_fields.setdefault("clock", clock)
        policy_fields.setdefault("random", random.Random(7))
        policy_fields.setdefault("hooks", (events.append,))
        session = rc.Session(region_name=region, policy=rc.Policy(**policy_fields))
        return session.client(service)

    return make
