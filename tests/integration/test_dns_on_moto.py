"""The DNS cache in real botocore clients against moto: an empty record, a
dead address, proxies, installing and removing the connection seam.

The tests run for the sync API (``rc.Session``: the cache answers urllib3's
lookups in our connection class) and the async one (``rc.aio.Session``: the
cache is ``rc.aio.DnsResolver`` on the client's aiohttp connector). Both
reach the fake cloud's DNS the same way: its resolver patches
``socket.getaddrinfo``, which the cache's system backend calls, and so does
aiohttp's default ``ThreadedResolver`` (``loop.getaddrinfo`` calls
``socket.getaddrinfo`` in the loop's executor) for plain aiobotocore."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSHTTPConnectionPool, AWSHTTPSConnectionPool
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

import resilient_cloud as rc
from resilient_cloud._dns.cache import cache_for
from resilient_cloud.fakecloud import FakeCloud
from resilient_cloud.testing import FakeClock

from ..apis import Clients, unwrapped
from ..recording import Events
from .helpers import create_table

pytestmark = pytest.mark.integration
REGION = "us-east-1"
HOST = "dynamodb.us-east-1.amazonaws.com"
# One attempt, short timeouts: these tests are about connections, not retries.
CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def closing_cloud() -> Iterator[FakeCloud]:
    # Every response closes its connection: every request opens a new one.
    with FakeCloud(regions=(REGION,), connection="close") as cloud:
        yield cloud


@pytest.fixture
def cloud(closing_cloud: FakeCloud) -> Iterator[FakeCloud]:
    closing_cloud.clear_faults()
    closing_cloud.clear_dns()
    closing_cloud.reset_state()
    with closing_cloud.resolver():
        plain = boto3.client("dynamodb", region_name=REGION, use_ssl=False)
        create_table(plain, "t")
        plain.close()
        closing_cloud.resolver().reset_lookups()
        closing_cloud.reset_stats()
        yield closing_cloud



@pytest.fixture
def resilient(clients: Clients) -> Callable[..., Any]:
    """``resilient(policy, config=None)``: a DynamoDB client of the API under test."""

    def make(policy: rc.Policy, config: Config | None = None) -> Any:
        session = clients.session(region_name=REGION, policy=policy)
        return session.client("dynamodb", use_ssl=False, config=CONFIG.merge(config or Config()))

    return make


def lookups(cloud: FakeCloud) -> dict[str, int]:
    return cloud.resolver().lookups().get(REGION, {}).get("dynamodb", {})


def test_an_empty_record_fails_plain_botocore_but_not_the_cache(
    cloud: FakeCloud, resilient: Callable[..., Any], clients: Clients
) -> None:
    events = Events()
    clock = FakeClock()
    # ttl=0: every new connection asks the resolver, so each one meets the empty record.
    client = resilient(rc.Policy(clock=clock, hooks=(events,), dns=rc.DnsCache(ttl=0.0)))
    plain = clients.plain("dynamodb", region_name=REGION, use_ssl=False, config=CONFIG)
    client.list_tables()
    plain.list_tables()
    cloud.set_dns(REGION, "empty", service="dynamodb")

    if clients.is_async:
        # Plain aiobotocore differs: aiohttp's connector caches DNS answers
        # itself (ttl_dns_cache, 10 s) and hands them to new connections, so
        # the client that looked the name up keeps going until that expires
        # (it never serves stale)...
        assert plain.list_tables()["TableNames"] == ["t"]
        # ...and fails as plain botocore does wherever the name must be looked
        # up: a new client, whose lookup (aiohttp's ThreadedResolver, through
        # socket.getaddrinfo) meets the empty record.
        plain = clients.plain("dynamodb", region_name=REGION, use_ssl=False, config=CONFIG)
        plain_requests = 2
    else:
        plain_requests = 1
    with pytest.raises(EndpointConnectionError):
        plain.list_tables()
    for _ in range(5):
        clock.advance(1.0)
        assert client.list_tables()["TableNames"] == ["t"]

    assert cloud.stats(REGION)["by_service"]["dynamodb"] == 1 + plain_requests + 5
    assert lookups(cloud)["empty"] >= 2  # plain botocore's, and the cache's refreshes
    served = events.of(rc.hooks.DnsStaleAnswerServed)
    assert len(served) == 5
    assert {(e.service, e.region, e.host) for e in served} == {("dynamodb", REGION, HOST)}
    assert served[-1].stale_for == pytest.approx(4.0)
    failed = events.of(rc.hooks.DnsRefreshFailed)
    assert failed and "no address" in failed[0].reason.lower()

    cloud.set_dns(REGION, "ok", service="dynamodb")
    clock.advance(5.0)  # the next background refresh is due
    client.list_tables()
    client.list_tables()
    [recovered] = events.of(rc.hooks.DnsRecovered)
    assert recovered.host == HOST
    client.close()
    plain.close()


def test_fresh_answers_spare_the_resolver(cloud: FakeCloud, resilient: Callable[..., Any]) -> None:
    client = resilient(rc.Policy())
    for _ in range(10):
        client.list_tables()
    assert cloud.stats(REGION)["by_service"]["dynamodb"] == 10  # ten connections...
    assert lookups(cloud) == {"ok": 1}  # ...one lookup
    client.close()


def test_a_refused_address_falls_through_to_the_next_in_the_answer(
    cloud: FakeCloud, resilient: Callable[..., Any]
) -> None:
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    dead_address = dead.getsockname()
    answer = socket.getaddrinfo  # the fake cloud's resolver

    def dead_address_first(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        infos = answer(host, port, *args, **kwargs)
        if host == HOST:
            infos = [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", dead_address), *infos]
        return infos

    client = resilient(rc.Policy())
    # Undone before the fake cloud's resolver is (patches end in reverse order).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", dead_address_first)
        for _ in range(3):
            assert client.list_tables()["TableNames"] == ["t"]
    [record] = cache_for(rc.DnsCache(), rc.SYSTEM_CLOCK)._records.values()
    assert record.answer.addresses[0][4] == dead_address  # first in the answer, refused each time
    client.close()
    dead.close()


def test_proxied_requests_leave_the_lookup_to_the_proxy(
    cloud: FakeCloud, resilient: Callable[..., Any]
) -> None:
    """A forwarding proxy on loopback answers for DynamoDB: the client never
    looks the AWS name up, and the cache stays empty."""
    proxy = socket.create_server(("127.0.0.1", 0))
    request_lines: list[bytes] = []

    def serve_one() -> None:
        conn, _ = proxy.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            request_lines.append(data.split(b"\r\n", 1)[0])
            body = b'{"TableNames": ["via-proxy"]}'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )

    server = threading.Thread(target=serve_one, daemon=True)
    server.start()
    port = proxy.getsockname()[1]
    client = resilient(rc.Policy(), Config(proxies={"http": f"http://127.0.0.1:{port}"}))
    try:
        assert client.list_tables()["TableNames"] == ["via-proxy"]
    finally:
        server.join(5)
        proxy.close()
        client.close()
    assert request_lines == [f"POST http://{HOST}/ HTTP/1.1".encode()]
    assert lookups(cloud) == {}
    assert len(cache_for(rc.DnsCache(), rc.SYSTEM_CLOCK)._records) == 0


def _manager_classes(client: Any) -> dict[str, type]:
    return client._endpoint.http_session._manager.pool_classes_by_scheme


@pytest.mark.sync_only(
    "inspects botocore's urllib3 pool and connection classes; the aiohttp connector's seam "
    "(connector args, kept alike, removed with dns=None) is tested in tests/aio/test_dns_seam.py"
)
def test_wrap_installs_removes_and_never_stacks_the_seam(
    monkeypatch: pytest.MonkeyPatch, api: str
) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    original = dict(_manager_classes(client))
    assert original == {"http": AWSHTTPConnectionPool, "https": AWSHTTPSConnectionPool}

    rc.wrap(client)
    installed = _manager_classes(client)
    rc.wrap(client)  # again, alike: the same classes, so idle connections stay
    assert _manager_classes(client) is installed
    rc.wrap(client, policy=rc.Policy(hooks=(print,)))  # other hooks: replaces, never stacks
    https = _manager_classes(client)["https"]
    assert https.ConnectionCls.dns_requester.hooks == (print,)
    assert https.__mro__[1] is AWSHTTPSConnectionPool
    assert https.ConnectionCls.dns_cache is cache_for(rc.DnsCache(), rc.SYSTEM_CLOCK)
    # Proxy managers share botocore's dict, which is untouched.
    assert client._endpoint.http_session._pool_classes_by_scheme == original

    # Without the cache the classes stay ours, resolving through urllib3:
    # they also watch where an attempt fails (_botocore/watch.py).
    rc.wrap(client, policy=rc.Policy(dns=None))
    for scheme, pool in _manager_classes(client).items():
        assert pool.__mro__[1] is original[scheme]
        assert pool.ConnectionCls.dns_cache is None
    assert client._endpoint.http_session._pool_classes_by_scheme == original

    monkeypatch.setenv("RESILIENT_CLOUD_DISABLED", "1")
    untouched = boto3.client("dynamodb", region_name=REGION)
    rc.wrap(untouched)
    assert _manager_classes(untouched) == original


def test_a_client_with_its_own_http_layer_keeps_it_and_says_so(
    caplog: pytest.LogCaptureFixture, clients: Clients
) -> None:
    client = clients.plain("dynamodb", region_name=REGION)
    endpoint = unwrapped(client)._endpoint
    own_http_layer = endpoint.http_session
    endpoint.http_session = object()  # e.g. a user's custom session class
    try:
        clients.wrap(client)
        assert "DNS cache not installed" in caplog.text
        assert clients.wrap(client, policy=rc.Policy(dns=None)) is client  # nothing to say without a cache
        assert caplog.text.count("DNS cache not installed") == 1
    finally:
        endpoint.http_session = own_http_layer  # what closing the client closes
