"""Where an attempt failed decides what may be repeated: real sockets on
loopback, real botocore clients reaching DynamoDB's real hostname.

- A TLS record corrupted after the whole request was read raises botocore's
  ``SSLError``, like a failed handshake does; the first may have applied the
  write, so an ``UpdateItem`` must not be sent again, while a read may.
- A 200 whose body fails DynamoDB's ``x-amz-crc32`` check is a failure, as in
  plain botocore (whose retry handler we replace): reads retry, unsafe
  writes raise ``ChecksumError``, never a silent success.
"""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ChecksumError, ConnectionClosedError, EndpointConnectionError, SSLError

import resilient_cloud as rc
from resilient_cloud.testing import FakeClock

from .tls import CertificateAuthority
from .wire import (
    LoopbackServer,
    answer_with_crc32,
    corrupt_record_after_request,
    fail_handshake,
    reset_during_handshake,
    resolve_to,
    server_context,
)

pytestmark = pytest.mark.integration
HOST = "dynamodb.us-east-1.amazonaws.com"
KEY = {"pk": {"S": "1"}}
ATTEMPTS = 3
CONFIG = Config(connect_timeout=2, read_timeout=2)
ITEM = json.dumps({"Item": {"pk": {"S": "1"}, "n": {"N": "7"}}}).encode()


@pytest.fixture
def servers() -> Iterator[list[LoopbackServer]]:
    started: list[LoopbackServer] = []
    yield started
    for server in started:
        server.close()


def _policy(dns: rc.DnsCache | None) -> rc.Policy:
    # Attempts alone decide: no budget or breaker in the way; backoff on a fake clock.
    return rc.Policy(
        retry=rc.Retry(max_attempts=ATTEMPTS), budget=None, breaker=None, dns=dns,
        clock=FakeClock(), random=random.Random(3),
    )


def _client(monkeypatch: pytest.MonkeyPatch, server: LoopbackServer, dns: rc.DnsCache | None,
            **kwargs: Any) -> Any:
    resolve_to(monkeypatch, HOST, server.port)
    session = rc.Session(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
                         policy=_policy(dns))
    return session.client("dynamodb", config=CONFIG, **kwargs)


def _update(client: Any) -> Any:
    return client.update_item(
        TableName="t", Key=KEY, UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


# -- TLS: where the SSLError happened ---------------------------------------------


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    ca = CertificateAuthority(tmp_path)
    certificate, key = ca.issue(HOST)
    return ca.bundle, certificate, key


# With the DNS cache and without it: the connection class that watches the
# wire is installed either way.
DNS_SETTINGS = [rc.DnsCache(), None]
DNS_IDS = ["dns-cache", "no-dns-cache"]


@pytest.fixture
def corrupting_client(
    monkeypatch: pytest.MonkeyPatch, servers: list[LoopbackServer], tls_files: Any, request: Any
) -> tuple[Any, LoopbackServer]:
    """A client (DNS cache as parametrized) of a server that corrupts the
    TLS record it answers with, after reading the whole request."""
    bundle, certificate, key = tls_files
    server = LoopbackServer(corrupt_record_after_request(server_context(certificate, key)))
    servers.append(server)
    return _client(monkeypatch, server, request.param, verify=str(bundle)), server


@pytest.mark.parametrize("corrupting_client", DNS_SETTINGS, ids=DNS_IDS, indirect=True)
def test_an_update_whose_response_tls_record_is_corrupted_is_sent_once(corrupting_client) -> None:
    client, server = corrupting_client
    with pytest.raises(SSLError) as caught:
        _update(client)
    assert server.requests == 1  # the service read it: it may have applied it
    assert rc.stop_details(caught.value).reason is rc.StopReason.UNSAFE_TO_RETRY


@pytest.mark.parametrize("corrupting_client", DNS_SETTINGS, ids=DNS_IDS, indirect=True)
def test_a_read_whose_response_tls_record_is_corrupted_is_retried(corrupting_client) -> None:
    client, server = corrupting_client
    with pytest.raises(SSLError) as caught:
        client.get_item(TableName="t", Key=KEY)
    assert server.requests == ATTEMPTS
    assert rc.stop_details(caught.value).reason is rc.StopReason.ATTEMPTS_EXHAUSTED


@pytest.mark.parametrize("dns", DNS_SETTINGS, ids=DNS_IDS)
@pytest.mark.parametrize(
    "handshake, error",
    [(fail_handshake, SSLError), (reset_during_handshake, ConnectionClosedError)],
    ids=["not-tls", "reset"],
)
def test_an_update_whose_tls_handshake_failed_is_retried(
    monkeypatch: pytest.MonkeyPatch, servers: list[LoopbackServer], tls_files: Any, dns: Any,
    handshake: Any, error: type[Exception],
) -> None:
    bundle, _certificate, _key = tls_files
    server = LoopbackServer(handshake)
    servers.append(server)
    client = _client(monkeypatch, server, dns, verify=str(bundle))
    with pytest.raises(error) as caught:
        _update(client)
    # Nothing was written on any connection: every attempt was safe to make.
    assert (server.connections, server.requests) == (ATTEMPTS, 0)
    assert rc.stop_details(caught.value).reason is rc.StopReason.ATTEMPTS_EXHAUSTED


# -- DynamoDB's CRC32 body check ---------------------------------------------------


def _crc_server(servers: list[LoopbackServer], bodies: list[tuple[bytes, int | None]]) -> LoopbackServer:
    server = LoopbackServer(answer_with_crc32(bodies))
    servers.append(server)
    return server


def test_a_read_whose_body_fails_its_crc32_is_retried(
    monkeypatch: pytest.MonkeyPatch, servers: list[LoopbackServer]
) -> None:
    server = _crc_server(servers, [(ITEM, 12345), (ITEM, None)])
    client = _client(monkeypatch, server, rc.DnsCache(), use_ssl=False)
    assert client.get_item(TableName="t", Key=KEY)["Item"]["n"] == {"N": "7"}
    assert server.requests == 2


def test_a_read_that_always_fails_its_crc32_raises_checksum_error_like_botocore(
    monkeypatch: pytest.MonkeyPatch, servers: list[LoopbackServer]
) -> None:
    server = _crc_server(servers, [(ITEM, 12345)])
    client = _client(monkeypatch, server, rc.DnsCache(), use_ssl=False)
    with pytest.raises(ChecksumError) as caught:
        client.get_item(TableName="t", Key=KEY)
    assert server.requests == ATTEMPTS
    assert rc.stop_details(caught.value).reason is rc.StopReason.ATTEMPTS_EXHAUSTED
    # Plain botocore (legacy mode keeps the check in its retry handler) ends the same way.
    plain = boto3.client(
        "dynamodb", region_name="us-east-1", use_ssl=False, aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"mode": "legacy", "total_max_attempts": 2}),
    )
    with pytest.raises(ChecksumError):
        plain.get_item(TableName="t", Key=KEY)
    assert server.requests == ATTEMPTS + 2


def test_an_update_whose_body_fails_its_crc32_raises_instead_of_succeeding(
    monkeypatch: pytest.MonkeyPatch, servers: list[LoopbackServer]
) -> None:
    server = _crc_server(servers, [(b'{"Attributes": {}}', 999), (b"{}", None)])
    client = _client(monkeypatch, server, rc.DnsCache(), use_ssl=False)
    with pytest.raises(ChecksumError) as caught:
        _update(client)
    assert server.requests == 1  # applied once; what it answered is unknown
    assert rc.stop_details(caught.value).reason is rc.StopReason.UNSAFE_TO_RETRY


def test_a_good_crc32_is_a_success(monkeypatch: pytest.MonkeyPatch, servers: list[LoopbackServer]) -> None:
    server = _crc_server(servers, [(ITEM, None)])
    client = _client(monkeypatch, server, rc.DnsCache(), use_ssl=False)
    assert client.get_item(TableName="t", Key=KEY)["ResponseMetadata"]["RetryAttempts"] == 0
    assert server.requests == 1


# -- plain HTTP: http.client connects inside its first send ------------------------


@pytest.mark.parametrize("dns", [None, rc.DnsCache()], ids=["no-dns-cache", "dns-cache"])
def test_an_update_over_http_whose_connection_was_refused_is_retried(
    monkeypatch: pytest.MonkeyPatch, dns: rc.DnsCache | None
) -> None:
    """Nothing was written, though the failure came from inside send(): an
    unsafe write is retried (all attempts refused), not stopped as maybe-sent."""
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    resolve_to(monkeypatch, HOST, port)
    session = rc.Session(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
                         policy=_policy(dns))
    client = session.client("dynamodb", config=CONFIG, use_ssl=False)
    with pytest.raises(EndpointConnectionError) as caught:
        _update(client)
    details = rc.stop_details(caught.value)
    assert details is not None
    assert (details.reason, details.attempts) == (rc.StopReason.ATTEMPTS_EXHAUSTED, ATTEMPTS)
