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


def test_connection_attributes_the_dns_seam_reads() -> None:
    """urllib3 2's HTTPConnection keeps the name to resolve, as given, in
    ``_dns_host`` (``host`` drops a trailing dot, for SNI and the Host
    header); ``proxy``/``_tunnel_host`` say when a proxy resolves instead."""
    from urllib3.connection import HTTPConnection

    conn = HTTPConnection("Dynamodb.us-east-1.amazonaws.com.", 8080)
    assert (conn._dns_host, conn.host, conn.port) == (
        "Dynamodb.us-east-1.amazonaws.com.", "Dynamodb.us-east-1.amazonaws.com", 8080,
    )
    assert conn.proxy is None and conn._tunnel_host is None
    assert conn.source_address is None and conn.socket_options is not None


def test_botocore_pool_manager_layout() -> None:
    from botocore.awsrequest import AWSHTTPConnectionPool, AWSHTTPSConnectionPool

    client = boto3.client("dynamodb", region_name="us-east-1")
    http_session = client._endpoint.http_session
    assert http_session._manager.pool_classes_by_scheme is http_session._pool_classes_by_scheme
    assert http_session._pool_classes_by_scheme == {
        "http": AWSHTTPConnectionPool, "https": AWSHTTPSConnectionPool,
    }
    proxy_manager = http_session._get_proxy_manager("http://127.0.0.1:9")
    assert proxy_manager.pool_classes_by_scheme is http_session._pool_classes_by_scheme
