"""Fail loudly when a botocore upgrade changes an internal we rely on."""

from __future__ import annotations

import boto3
import botocore
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
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
from botocore.retries import standard

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


def _retry_context(status: int, code: str) -> standard.RetryContext:
    model = botocore.session.get_session().get_service_model("dynamodb").operation_model("GetItem")
    return standard.RetryContext(
        attempt_number=1,
        operation_model=model,
        parsed_response={"Error": {"Code": code, "Message": "drift"}},
        http_response=AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", status, {}, None),
        caught_exception=None,
    )


def test_what_botocore_calls_a_throttle() -> None:
    """``_outcome.classify`` takes ``ThrottlingErrorDetector``'s word for a
    throttle, and treats one as a refusal: retried (writes too), healthy for
    the breaker. botocore 1.44 added ``ThrottlingStatusCodeChecker``: a 429
    whose error code the operation does not model is a throttle too, where
    1.43 went by the code alone (and called it a plain client error)."""
    is_throttle = standard.ThrottlingErrorDetector(
        standard.RetryEventAdapter()
    ).is_throttling_error_from_context
    assert is_throttle(_retry_context(400, "ProvisionedThroughputExceededException"))
    assert is_throttle(_retry_context(400, "ThrottlingException"))
    # A modeled error that is not throttling stays what the model says.
    assert not is_throttle(_retry_context(429, "ResourceNotFoundException"))
    assert not is_throttle(_retry_context(400, "SomethingUnmodeled"))
    since_1_44 = tuple(int(part) for part in botocore.__version__.split(".")[:2]) >= (1, 44)
    assert is_throttle(_retry_context(429, "SomethingUnmodeled")) is since_1_44
