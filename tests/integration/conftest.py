"""Fixtures shared by the fake cloud's integration tests.

A test that takes ``clients`` (or ``api``) runs for the sync and the async
API: see :mod:`tests.apis`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from resilient_cloud.fakecloud import FakeCloud

from ..apis import api, clients, loop

__all__ = ["api", "clients", "loop"]  # the sync/async fixtures (tests/apis.py)

REGIONS = ("us-east-1", "us-west-2")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every server here is on loopback: a proxy from the environment would
    # take the traffic (and the DNS lookup) elsewhere.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def module_cloud() -> Iterator[FakeCloud]:
    # One cloud per module: starting servers costs about a second.
    with FakeCloud(regions=REGIONS) as cloud:
        yield cloud


@pytest.fixture
def cloud(module_cloud: FakeCloud) -> Iterator[FakeCloud]:
    """The module's cloud with nothing left by an earlier test: faults (TCP
    ones included), DNS faults and lookup counts, stats, stored data."""
    module_cloud.clear_faults()
    module_cloud.clear_dns()
    module_cloud.resolver().reset_lookups()
    module_cloud.reset_stats()
    module_cloud.reset_state()
    with module_cloud.resolver():
        yield module_cloud
