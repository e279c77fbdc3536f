"""The connection seam's lookup (``cached_addresses``), without a network:
the inlined fresh hit answers from the cache on its injected clock, and
everything it turns away or misses goes where it went before (urllib3's own
lookup, or the cache's slow path)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from botocore.awsrequest import AWSHTTPConnectionPool, AWSHTTPSConnectionPool
from urllib3.exceptions import NameResolutionError
from urllib3.util import connection as urllib3_connection

import resilient_cloud as rc
from resilient_cloud import hooks
from resilient_cloud._botocore.dns import _URLLIB3_ALLOWED_GAI_FAMILY, cached_dns_pool
from resilient_cloud._dns.cache import DnsAnswerCache, Requester
from resilient_cloud.testing import FakeClock

from ..recording import Events, run_now

HOST = "dynamodb.us-east-1.amazonaws.com"
OLD = ((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", 80)),)
NEW = ((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.3", 80)),)


class Backend:
    """Answers from a list (the last entry repeats); records every question."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, int, int]] = []

    def resolve(self, host: str, port: int, family: int) -> tuple[Any, float | None]:
        self.asked.append((host, port, family))
        answer = self.answers[0] if len(self.answers) == 1 else self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer, None


def connection_class(backend: Backend, clock: FakeClock, events: Events, pool: type = AWSHTTPConnectionPool) -> Any:
    cache = DnsAnswerCache(rc.DnsCache(ttl=30), clock, backend=backend, spawn=run_now)
    return cached_dns_pool(pool, cache, Requester((events,), "dynamodb", "us-east-1")).ConnectionCls


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=100.0)


@pytest.mark.parametrize("pool", [AWSHTTPConnectionPool, AWSHTTPSConnectionPool])
def test_new_connections_hit_until_the_answer_expires_on_the_injected_clock(clock, pool) -> None:
    backend = Backend(OLD, NEW)
    cls = connection_class(backend, clock, Events(), pool)
    family = _URLLIB3_ALLOWED_GAI_FAMILY()
    assert cls(HOST, 80).cached_addresses() == OLD
    clock.advance(29.9)
    assert cls(HOST, 80).cached_addresses() == OLD  # a hit: nobody asked again
    assert backend.asked == [(HOST, 80, family)]
    clock.advance(0.1)
    assert cls(HOST, 80).cached_addresses() == NEW
    assert backend.asked == [(HOST, 80, family)] * 2


def test_a_failed_refresh_serves_the_stale_answer_and_says_so(clock) -> None:
    events = Events()
    backend = Backend(OLD, socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    cls = connection_class(backend, clock, events)
    assert cls(HOST, 80).cached_addresses() == OLD
    clock.advance(31)
    assert cls(HOST, 80).cached_addresses() == OLD
    assert cls(HOST, 80).cached_addresses() == OLD
    assert len(events.of(hooks.DnsRefreshFailed)) == 1
    assert len(events.of(hooks.DnsStaleAnswerServed)) == 2


def test_ports_and_families_are_separate_answers(clock, monkeypatch) -> None:
    backend = Backend(OLD, NEW)
    cls = connection_class(backend, clock, Events())
    monkeypatch.setattr(urllib3_connection, "allowed_gai_family", lambda: socket.AF_INET)
    assert cls(HOST, 80).cached_addresses() == OLD
    assert cls(HOST, 443).cached_addresses() == NEW
    assert cls(HOST, 80).cached_addresses() == OLD
    assert backend.asked == [(HOST, 80, socket.AF_INET), (HOST, 443, socket.AF_INET)]


@pytest.mark.parametrize("has_ipv6", [True, False])
def test_the_family_follows_urllib3s_has_ipv6(clock, monkeypatch, has_ipv6) -> None:
    monkeypatch.setattr(urllib3_connection, "HAS_IPV6", has_ipv6)
    backend = Backend(OLD)
    connection_class(backend, clock, Events())(HOST, 80).cached_addresses()
    assert backend.asked == [(HOST, 80, urllib3_connection.allowed_gai_family())]
    assert backend.asked[0][2] == (socket.AF_UNSPEC if has_ipv6 else socket.AF_INET)


def test_a_patched_allowed_gai_family_applies_to_hits_too(clock, monkeypatch) -> None:
    backend = Backend(OLD, NEW)
    cls = connection_class(backend, clock, Events())
    assert cls(HOST, 80).cached_addresses() == OLD
    monkeypatch.setattr(urllib3_connection, "allowed_gai_family", lambda: socket.AF_INET6)
    assert cls(HOST, 80).cached_addresses() == NEW  # another key: not the first answer
    assert backend.asked[-1] == (HOST, 80, socket.AF_INET6)


def test_clearing_the_cache_ends_the_hits(clock) -> None:
    backend = Backend(OLD, NEW)
    cls = connection_class(backend, clock, Events())
    assert cls(HOST, 80).cached_addresses() == OLD
    cls.dns_cache.clear()
    assert cls(HOST, 80).cached_addresses() == NEW


def test_what_urllib3_resolves_itself(clock) -> None:
    backend = Backend(OLD)
    cls = connection_class(backend, clock, Events())
    assert cls("[::1]", 80).cached_addresses() is None
    proxied = cls(HOST, 80)
    proxied.proxy = object()
    assert proxied.cached_addresses() is None
    tunnelled = cls(HOST, 443)
    tunnelled._tunnel_host = "example.com"
    assert tunnelled.cached_addresses() is None
    assert backend.asked == []
    no_cache = cached_dns_pool(AWSHTTPConnectionPool, None, Requester((), "s3", "us-east-1")).ConnectionCls
    assert no_cache(HOST, 80).cached_addresses() is None


def test_a_failed_lookup_is_urllib3s_name_resolution_error(clock) -> None:
    backend = Backend(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    connection = connection_class(backend, clock, Events())(HOST, 80)
    with pytest.raises(NameResolutionError):
        connection.cached_addresses()
    with pytest.raises(NameResolutionError):  # the cached failure, the same way
        connection.cached_addresses()
    assert len(backend.asked) == 1
