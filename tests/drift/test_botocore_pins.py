"""Fail loudly when a botocore upgrade changes an internal we rely on."""

from __future__ import annotations

import boto3
import botocore
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)

from resilient_cloud._botocore.events import retry_handler_id, take_over_retries
from resilient_cloud.testing import ScriptedResponses

from ..drivers.replies import DDB_500
from .pins import PINS, Pin, digest


@pytest.mark.parametrize("pin", PINS, ids=lambda pin: pin.target)
def test_upstream_source_is_one_we_have_read(pin: Pin) -> None:
    found = digest(pin.target)
    assert found in pin.digests, (
        f"botocore {botocore.__version__} changed {pin.target} (digest {found}). "
        f"{pin.used_by} assumes: {pin.assumption}. Re-read it, then add the "
        "digest in tests/drift/pins.py (see its docstring)."
    )


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_unregistering_the_retry_handler_stops_botocores_retries(mode: str) -> None:
    def requests_sent(take_over: bool) -> int:
        client = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            config=botocore.config.Config(retries={"mode": mode, "total_max_attempts": 2}),
        )
        assert retry_handler_id(client) == ("needs-retry.dynamodb", "retry-config-dynamodb")
        if take_over:
            take_over_retries(client)
        script = ScriptedResponses(client, [], then=DDB_500)
        with pytest.raises(ClientError):
            client.get_item(TableName="t", Key={"pk": {"S": "1"}})
        return len(script)

    assert requests_sent(take_over=False) == 2
    assert requests_sent(take_over=True) == 1


def test_exception_hierarchy_we_classify_by() -> None:
    """Connect-phase failures are ConnectionError; after-send ones are HTTPClientError."""
    for never_sent in (EndpointConnectionError, ConnectTimeoutError, ProxyConnectionError, SSLError):
        assert issubclass(never_sent, ConnectionError)
    assert issubclass(ReadTimeoutError, HTTPClientError)
    assert not issubclass(ReadTimeoutError, ConnectionError)


def test_client_meta_attributes_we_read() -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    assert client.meta.partition == "aws"
    assert client.meta.endpoint_url == "https://dynamodb.us-east-1.amazonaws.com"
    assert client.meta.service_model.service_id.hyphenize() == "dynamodb"
    assert "mode" in client.meta.config.retries
