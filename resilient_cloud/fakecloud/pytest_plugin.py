"""pytest plugin: a ``fake_cloud`` fixture backed by one :class:`FakeCloud`.

Enable it in the root ``conftest.py``::

    pytest_plugins = ["resilient_cloud.fakecloud.pytest_plugin"]

    def test_table(fake_cloud):
        ddb = boto3.client("dynamodb", region_name="us-east-1", use_ssl=False)
        ...

The servers start once per session (``fake_cloud_session``); ``fake_cloud``
is function-scoped and cheap: before each test it clears faults (TCP and DNS
ones too), stats, DNS lookup counts and moto's stored data, installs the
resolver and points the AWS environment at dummy credentials (no profiles,
config files or instance metadata). Regions
and connection mode come from ini options ``fakecloud_regions`` (default
``us-east-1 us-west-2``) and ``fakecloud_connection`` (``keep-alive``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from resilient_cloud.fakecloud import FakeCloud


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "fakecloud_regions",
        "regions served by the fake_cloud fixture",
        type="args",
        default=["us-east-1", "us-west-2"],
    )
    parser.addini(
        "fakecloud_connection",
        "fake_cloud connection mode: keep-alive or close",
        default="keep-alive",
    )


@pytest.fixture(scope="session")
def fake_cloud_session(pytestconfig: pytest.Config) -> Iterator[FakeCloud]:
    """The session's FakeCloud, as is: no reset, no resolver installed."""
    regions = pytestconfig.getini("fakecloud_regions")
    connection = pytestconfig.getini("fakecloud_connection")
    with FakeCloud(regions=regions, connection=connection) as cloud:
        yield cloud


@pytest.fixture
def fake_cloud(
    fake_cloud_session: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeCloud]:
    """The session's FakeCloud, reset, with its resolver installed for the test."""
    cloud = fake_cloud_session
    # Reset before, not after: a test that failed mid-way leaves no trace.
    cloud.clear_faults()
    cloud.clear_dns()
    cloud.resolver().reset_lookups()
    cloud.reset_stats()
    cloud.reset_state()
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", cloud.regions[0])
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with cloud.resolver():
        yield cloud
