"""The DNS cache's backends against real resolvers: dnspython talking to a
real (tiny) DNS server on loopback, and ``rc.aio.DnsResolver`` inside real
aiohttp connections to the fake cloud."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset
import pytest
from aiohttp.abc import ResolveResult

import resilient_cloud as rc
from resilient_cloud._dns.backends import DnspythonBackend, SystemBackend, backend_for
from resilient_cloud._dns.cache import DnsAnswerCache, Requester
from resilient_cloud._dns.record import EAI_NODATA
from resilient_cloud.fakecloud import FakeCloud
from resilient_cloud.testing import FakeClock

from ..recording import Events, run_now

pytestmark = pytest.mark.integration

NAME = "db.example.test"
FIRST = "127.0.0.9"
SECOND = "127.0.0.10"
TARGET = "target.example.test."
# Every real wait is bounded by this: the no-reply cases cost one lifetime each.
# 1 s, not 0.5: a loaded 2-core CI run once timed out an answering query.
LIFETIME = 1.0
DDB_HOST = "dynamodb.us-east-1.amazonaws.com"
REFRESH_THREAD = "resilient-cloud-dns-refresh"
NUMERIC_FLAGS = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


# --------------------------------------------------------------------------
# A DNS server on loopback
# --------------------------------------------------------------------------


class LoopbackDnsServer:
    """A one-name DNS server on 127.0.0.1 (UDP, ephemeral port), in a thread.

    ``mode`` says how every query is answered: ``"answer"`` (the name's A
    record; its AAAA record when ``address6`` is set, else NOERROR with no
    records; both behind a CNAME with TTL ``cname_ttl`` when that is set),
    ``"nxdomain"`` or ``"servfail"`` (the rcodes), ``"empty"`` (NOERROR, no
    records) or ``"silent"`` (no reply: the resolver times out). Other names are
    NXDOMAIN. Queries are counted by type.
    """

    def __init__(self, name: str, address: str, ttl: int) -> None:
        self.name = dns.name.from_text(name)
        self.address = address
        self.ttl = ttl
        self.address6: str | None = None
        self.ttl6 = ttl
        self.cname_ttl: int | None = None
        self.mode = "answer"
        self._lock = threading.Lock()
        self._queries: Counter[str] = Counter()
        self._stopping = False
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="test-dns-server", daemon=True)
        self._thread.start()

    def queries(self, rdtype: str = "A") -> int:
        with self._lock:
            return self._queries[rdtype]

    def stop(self) -> None:
        self._stopping = True
        # A datagram of our own wakes the blocked recvfrom: no polling loop.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as waker:
            waker.sendto(b"", ("127.0.0.1", self.port))
        self._thread.join(5)
        self._sock.close()
        assert not self._thread.is_alive(), "the DNS server thread did not stop"

    def _serve(self) -> None:
        while True:
            data, client = self._sock.recvfrom(4096)
            if self._stopping:
                return
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue  # not a DNS message: nothing to answer
            reply = self._reply(query)
            if reply is not None:
                self._sock.sendto(reply, client)

    def _reply(self, query: dns.message.Message) -> bytes | None:
        question = query.question[0]
        with self._lock:
            self._queries[dns.rdatatype.to_text(question.rdtype)] += 1
            mode, cname_ttl = self.mode, self.cname_ttl
            records = {
                dns.rdatatype.A: (self.ttl, "A", self.address),
                dns.rdatatype.AAAA: (self.ttl6, "AAAA", self.address6),
            }
        if mode == "silent":
            return None
        response = dns.message.make_response(query)
        if mode == "nxdomain" or question.name != self.name:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif mode == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif mode == "answer":
            owner = question.name
            if cname_ttl is not None:
                response.answer.append(dns.rrset.from_text(owner, cname_ttl, "IN", "CNAME", TARGET))
                owner = dns.name.from_text(TARGET)
            ttl, rdtype, address = records.get(question.rdtype, (0, "", None))
            if address is not None:
                response.answer.append(dns.rrset.from_text(owner, ttl, "IN", rdtype, address))
        # "empty", and a type with no address in "answer": NOERROR with no records.
        return response.to_wire()




def join_refresh_threads() -> None:
    """Wait for the cache's background refreshes: their last event is
    reported after the waiting lookup was released."""
    for thread in threading.enumerate():
        if thread.name == REFRESH_THREAD:
            thread.join(5)
            assert not thread.is_alive(), "a DNS refresh thread never finished"


@pytest.fixture(autouse=True)
def no_refresh_thread_left() -> Iterator[None]:
    yield
    join_refresh_threads()


@pytest.fixture
def server() -> Iterator[LoopbackDnsServer]:
    server = LoopbackDnsServer(NAME, FIRST, ttl=60)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def resolver(server: LoopbackDnsServer) -> dns.resolver.Resolver:
    # configure=False: no /etc/resolv.conf, no search list, no dnspython cache.
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port
    resolver.timeout = LIFETIME
    resolver.lifetime = LIFETIME
    return resolver


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=100.0)


@pytest.fixture
def events() -> Events:
    return Events()


def make_lookup(
    resolver: dns.resolver.Resolver, clock: FakeClock, events: Events, **options: Any
) -> Callable[..., Any]:
    options = {"ttl": 30, "min_ttl": 5, "max_ttl": 300, **options}
    cache = DnsAnswerCache(rc.DnsCache(backend=resolver, **options), clock, spawn=run_now)
    requester = Requester((events,), "dynamodb", "us-east-1")

    def lookup(host: str = NAME, port: int = 443, family: int = socket.AF_INET) -> Any:
        return cache.lookup(host, port, family, requester)

    return lookup


def addrinfo(address: str, port: int) -> tuple[Any, ...]:
    return ((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port)),)


# --------------------------------------------------------------------------
# A. The dnspython backend against a real DNS server
# --------------------------------------------------------------------------


def test_the_cache_builds_a_dnspython_backend_on_the_given_resolver(resolver) -> None:
    backend = DnsAnswerCache(rc.DnsCache(backend=resolver), FakeClock())._backend
    assert isinstance(backend, DnspythonBackend)
    assert backend._resolver is resolver


def test_backend_dnspython_builds_a_dnspython_backend() -> None:
    options = rc.DnsCache(backend="dnspython")
    assert isinstance(backend_for(options), DnspythonBackend)
    assert isinstance(backend_for(rc.DnsCache()), SystemBackend)


def test_the_answer_has_the_servers_address_and_the_requested_port(server, resolver, clock, events) -> None:
    lookup = make_lookup(resolver, clock, events)
    assert lookup(port=8443) == addrinfo(FIRST, 8443)
    assert lookup(port=443) == addrinfo(FIRST, 443)  # one answer per port: a second query
    assert server.queries("A") == 2
    assert server.queries("AAAA") == 0  # AF_INET asks for A records only
    assert events == []


def test_af_unspec_asks_for_both_types_and_keeps_the_addresses_found(server, resolver, clock, events) -> None:
    lookup = make_lookup(resolver, clock, events)
    assert lookup(family=socket.AF_UNSPEC) == addrinfo(FIRST, 443)
    assert (server.queries("AAAA"), server.queries("A")) == (1, 1)
    clock.advance(59.9)  # the A record's TTL still applies when AAAA has none
    lookup(family=socket.AF_UNSPEC)
    assert server.queries("A") == 1


def test_the_smallest_ttl_of_the_aaaa_and_a_answers_applies(server, resolver, clock, events) -> None:
    server.address6, server.ttl6 = "::1", 20
    lookup = make_lookup(resolver, clock, events)
    assert lookup(family=socket.AF_UNSPEC) == (
        (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("::1", 443, 0, 0)),
        *addrinfo(FIRST, 443),
    )
    clock.advance(19.9)
    lookup(family=socket.AF_UNSPEC)
    assert (server.queries("AAAA"), server.queries("A")) == (1, 1)
    clock.advance(0.2)  # the AAAA record's 20 s, not the A record's 60 s
    lookup(family=socket.AF_UNSPEC)
    assert (server.queries("AAAA"), server.queries("A")) == (2, 2)


def test_a_cname_that_expires_first_bounds_the_answer(server, resolver, clock, events) -> None:
    server.cname_ttl = 10
    lookup = make_lookup(resolver, clock, events)
    assert lookup() == addrinfo(FIRST, 443)  # the target's address, through the CNAME
    clock.advance(9.9)
    lookup()
    assert server.queries() == 1
    clock.advance(0.2)
    lookup()
    assert server.queries() == 2


@pytest.mark.parametrize(
    ("server_ttl", "fresh_for"),
    [(60, 60.0), (1, 5.0), (100_000, 300.0)],
    ids=["server-ttl", "raised-to-min-ttl", "lowered-to-max-ttl"],
)
def test_the_servers_ttl_clamped_says_how_long_an_answer_is_fresh(
    server, resolver, clock, events, server_ttl: int, fresh_for: float
) -> None:
    # ttl=30 is what the cache would use without a TTL from the server.
    lookup = make_lookup(resolver, clock, events, ttl=30, min_ttl=5, max_ttl=300)
    server.ttl = server_ttl
    assert lookup() == addrinfo(FIRST, 443)
    server.address = SECOND
    clock.advance(fresh_for - 0.1)
    assert lookup() == addrinfo(FIRST, 443)
    assert server.queries() == 1
    clock.advance(0.2)
    assert lookup() == addrinfo(SECOND, 443)  # expired: asked again, the new answer wins
    assert server.queries() == 2
    assert events == []


def test_an_answer_from_dnspythons_own_cache_is_fresh_only_for_what_is_left_of_its_ttl(
    server, resolver, clock, events, monkeypatch
) -> None:
    """dnspython's cache hands back the stored answer with its original TTL:
    a second port asking 59 s later must get 1 s of freshness, not 60."""
    wall = [1_000_000.0]
    monkeypatch.setattr(dns.resolver.time, "time", lambda: wall[0])
    resolver.cache = dns.resolver.Cache()
    lookup = make_lookup(resolver, clock, events, min_ttl=0, max_ttl=300)
    assert lookup(port=443) == addrinfo(FIRST, 443)
    server.address = SECOND
    clock.advance(59)
    wall[0] += 59
    assert lookup(port=8443) == addrinfo(FIRST, 8443)  # from dnspython's cache
    assert server.queries() == 1
    clock.advance(2)
    wall[0] += 2
    assert lookup(port=8443) == addrinfo(SECOND, 8443)  # expired with the record
    assert server.queries() == 2


@pytest.mark.parametrize(
    ("mode", "error_name"),
    [
        ("nxdomain", "NXDOMAIN"),
        ("empty", "NoAnswer"),
        ("silent", "LifetimeTimeout"),
        ("servfail", "NoNameservers"),
    ],
    ids=["nxdomain", "empty", "no-reply", "servfail"],
)
def test_a_failing_server_leaves_the_last_good_answer_served_stale(
    server, resolver, clock, events, mode: str, error_name: str
) -> None:
    lookup = make_lookup(resolver, clock, events)
    assert lookup() == addrinfo(FIRST, 443)
    server.mode = mode
    clock.advance(61)
    assert lookup() == addrinfo(FIRST, 443)
    assert server.queries() >= 2  # the refresh did reach the server
    [failed] = events.of(rc.hooks.DnsRefreshFailed)
    assert failed.reason.startswith(f"{error_name}: ")
    assert (failed.host, failed.stale_for, failed.background) == (NAME, 0.0, True)
    [served] = events.of(rc.hooks.DnsStaleAnswerServed)
    assert served == rc.hooks.DnsStaleAnswerServed(
        service="dynamodb", region="us-east-1", host=NAME, stale_for=0.0, reason=failed.reason
    )
    # The server answers again: the next refresh (refresh_interval later) recovers.
    server.mode = "answer"
    server.address = SECOND
    clock.advance(5)
    assert lookup() == addrinfo(SECOND, 443)
    [recovered] = events.of(rc.hooks.DnsRecovered)
    assert recovered.stale_for == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("mode", "errno", "error_name"),
    [
        ("nxdomain", socket.EAI_NONAME, "NXDOMAIN"),
        ("empty", EAI_NODATA, "NoAnswer"),
        ("silent", socket.EAI_AGAIN, "LifetimeTimeout"),
        ("servfail", socket.EAI_FAIL, "NoNameservers"),
    ],
    ids=["nxdomain", "empty", "no-reply", "servfail"],
)
def test_a_name_never_resolved_fails_with_the_matching_gaierror(
    server, resolver, clock, events, mode: str, errno: int, error_name: str
) -> None:
    lookup = make_lookup(resolver, clock, events, negative_ttl=5)
    server.mode = mode
    with pytest.raises(socket.gaierror) as caught:
        lookup()
    assert caught.value.errno == errno
    assert error_name in str(caught.value) and NAME in str(caught.value)
    asked = server.queries()
    assert asked >= 1
    clock.advance(4.9)  # cached briefly: no second round trip
    with pytest.raises(socket.gaierror) as again:
        lookup()
    assert again.value.errno == errno
    assert server.queries() == asked
    [failed] = events.of(rc.hooks.DnsRefreshFailed)
    assert (failed.stale_for, failed.background) == (None, False)
    assert events.of(rc.hooks.DnsStaleAnswerServed) == []


def test_a_name_the_server_does_not_know_is_nxdomain(server, resolver, clock, events) -> None:
    lookup = make_lookup(resolver, clock, events)
    with pytest.raises(socket.gaierror) as caught:
        lookup("other.example.test")
    assert caught.value.errno == socket.EAI_NONAME
    assert server.queries() == 1


# --------------------------------------------------------------------------
# B1. rc.aio.DnsResolver, called as aiohttp calls it
# --------------------------------------------------------------------------


def resolve(resolver: Any, host: str = DDB_HOST, port: int = 80, family: int = socket.AF_INET) -> Any:
    async def run() -> Any:
        return await resolver.resolve(host, port, family)

    return asyncio.run(run())


def test_resolve_gives_aiohttp_results_from_the_cached_sockaddr(cloud: FakeCloud, clock) -> None:
    ip, port = cloud.address("us-east-1")
    resolver = rc.aio.DnsResolver(rc.DnsCache(ttl=30), clock=clock)
    expected = [
        ResolveResult(
            hostname=DDB_HOST, host=ip, port=port, family=socket.AF_INET,
            proto=socket.IPPROTO_TCP, flags=NUMERIC_FLAGS,
        )
    ]
    assert resolve(resolver) == expected
    clock.advance(29.9)
    assert resolve(resolver) == expected  # fresh: no second lookup
    assert cloud.resolver().lookups() == {"us-east-1": {"dynamodb": {"ok": 1}}}
    clock.advance(0.2)
    assert resolve(resolver) == expected
    assert cloud.resolver().lookups() == {"us-east-1": {"dynamodb": {"ok": 2}}}


def test_resolve_answers_what_aiohttps_threaded_resolver_answers(cloud: FakeCloud, clock) -> None:
    async def threaded() -> Any:
        return await aiohttp.ThreadedResolver().resolve(DDB_HOST, 80, socket.AF_INET)

    ours = resolve(rc.aio.DnsResolver(rc.DnsCache(), clock=clock))
    assert ours == asyncio.run(threaded())


def test_resolve_shapes_ipv6_and_ipv4_addresses_in_answer_order(monkeypatch, clock) -> None:
    answers = [
        (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("::1", 8443, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 8443)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: list(answers))
    results = resolve(rc.aio.DnsResolver(clock=clock), "api.example.test", 443, socket.AF_UNSPEC)
    assert results == [
        ResolveResult(
            hostname="api.example.test", host="::1", port=8443, family=socket.AF_INET6,
            proto=socket.IPPROTO_TCP, flags=NUMERIC_FLAGS,
        ),
        ResolveResult(
            hostname="api.example.test", host="127.0.0.1", port=8443, family=socket.AF_INET,
            proto=socket.IPPROTO_TCP, flags=NUMERIC_FLAGS,
        ),
    ]


def test_a_fresh_answer_is_given_on_the_event_loop(cloud: FakeCloud, clock) -> None:
    class CountingExecutor(ThreadPoolExecutor):
        submitted = 0

        def submit(self, *args: Any, **kwargs: Any) -> Any:
            self.submitted += 1
            return super().submit(*args, **kwargs)

    executor = CountingExecutor(max_workers=1)
    resolver = rc.aio.DnsResolver(rc.DnsCache(ttl=30), clock=clock)

    async def scenario() -> None:
        # asyncio.run shuts the default executor down on the way out.
        asyncio.get_running_loop().set_default_executor(executor)
        await resolver.resolve(DDB_HOST, 80, socket.AF_INET)
        assert executor.submitted == 1  # a miss: looked up off the loop
        await resolver.resolve(DDB_HOST, 80, socket.AF_INET)
        assert executor.submitted == 1  # fresh: no thread involved
        clock.advance(31)
        await resolver.resolve(DDB_HOST, 80, socket.AF_INET)
        assert executor.submitted == 2  # expired: the refresh may block, so off the loop

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("mode", "errno"), [("nxdomain", socket.EAI_NONAME), ("empty", EAI_NODATA)], ids=["nxdomain", "empty"]
)
def test_resolve_raises_for_a_name_never_seen_good(cloud: FakeCloud, clock, mode: str, errno: int) -> None:
    cloud.set_dns("us-east-1", mode, service="dynamodb")
    with pytest.raises(socket.gaierror) as caught:
        resolve(rc.aio.DnsResolver(clock=clock))
    assert caught.value.errno == errno


def test_resolve_raises_rather_than_return_an_empty_list(monkeypatch, clock) -> None:
    # getaddrinfo answering no addresses at all (not an error) must not become [].
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: [])
    with pytest.raises(socket.gaierror) as caught:
        resolve(rc.aio.DnsResolver(clock=clock), "api.example.test", 443)
    assert caught.value.errno == EAI_NODATA


def test_resolve_raises_when_no_address_is_usable(monkeypatch, clock) -> None:
    # An IPv6 sockaddr of two items: what a Python built without IPv6 reports.
    answers = [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("::1", 443))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: list(answers))
    with pytest.raises(OSError, match="no usable address for api.example.test"):
        resolve(rc.aio.DnsResolver(clock=clock), "api.example.test", 443, socket.AF_UNSPEC)


def test_resolve_serves_the_last_good_answer_when_dns_fails(cloud: FakeCloud, clock) -> None:
    events = Events()
    resolver = rc.aio.DnsResolver(
        rc.DnsCache(ttl=30), hooks=(events,), clock=clock, service="dynamodb", region="us-east-1"
    )
    good = resolve(resolver)
    cloud.set_dns("us-east-1", "nxdomain", service="dynamodb")
    clock.advance(31)
    assert resolve(resolver) == good
    join_refresh_threads()  # the failed refresh reports from its own thread
    [failed] = events.of(rc.hooks.DnsRefreshFailed)
    assert events.of(rc.hooks.DnsStaleAnswerServed) == [
        rc.hooks.DnsStaleAnswerServed(
            service="dynamodb", region="us-east-1", host=DDB_HOST, stale_for=0.0, reason=failed.reason
        )
    ]
    assert cloud.resolver().lookups() == {"us-east-1": {"dynamodb": {"ok": 1, "nxdomain": 1}}}


# --------------------------------------------------------------------------
# B2. Real aiohttp connections to the fake cloud
# --------------------------------------------------------------------------


async def get_status(session: aiohttp.ClientSession) -> int:
    # Any status proves the request reached moto; plain HTTP, like the fake cloud.
    async with session.get(f"http://{DDB_HOST}/") as response:
        await response.read()
        return response.status


def test_aiohttp_reaches_the_server_on_a_stale_answer_when_dns_goes_empty(cloud: FakeCloud) -> None:
    events = Events()

    async def scenario() -> tuple[int, int]:
        resolver = rc.aio.DnsResolver(
            rc.DnsCache(ttl=0.0), hooks=(events,), service="dynamodb", region="us-east-1"
        )
        # No aiohttp DNS cache and one connection per request: every request looks up.
        connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            first = await get_status(session)
            cloud.set_dns("us-east-1", "empty", service="dynamodb")
            second = await get_status(session)
        return first, second

    first, second = asyncio.run(scenario())
    assert first == second
    stats = cloud.stats("us-east-1")
    assert (stats["requests"], stats["connections"]) == (2, 2)
    assert stats["by_service"] == {"dynamodb": 2}
    # The second connection did look the name up, and got no addresses.
    assert cloud.resolver().lookups() == {"us-east-1": {"dynamodb": {"ok": 1, "empty": 1}}}
    [served] = events.of(rc.hooks.DnsStaleAnswerServed)
    assert (served.service, served.region, served.host) == ("dynamodb", "us-east-1", DDB_HOST)
    assert served.stale_for >= 0.0
    assert "No address associated with hostname" in served.reason


def test_aiohttps_own_resolver_fails_when_dns_goes_empty(cloud: FakeCloud) -> None:
    async def scenario() -> aiohttp.ClientConnectorError:
        # The same connector but aiohttp's resolver (named: an installed aiodns
        # would otherwise take over and leave loopback). use_dns_cache=False
        # stands for aiohttp's own cache entry having expired (10 s by default).
        connector = aiohttp.TCPConnector(
            resolver=aiohttp.ThreadedResolver(), use_dns_cache=False, force_close=True
        )
        async with aiohttp.ClientSession(connector=connector) as session:
            await get_status(session)
            cloud.set_dns("us-east-1", "empty", service="dynamodb")
            with pytest.raises(aiohttp.ClientConnectorError) as caught:
                await get_status(session)
        return caught.value

    error = asyncio.run(scenario())
    assert isinstance(error, aiohttp.ClientConnectorDNSError)
    assert isinstance(error.os_error, socket.gaierror) and error.os_error.errno == EAI_NODATA
    assert cloud.stats("us-east-1")["requests"] == 1  # the second request never left


def test_a_single_hook_is_accepted_and_bad_arguments_are_named() -> None:
    events = Events()
    assert rc.aio.DnsResolver(hooks=events)._requester.hooks == (events,)
    with pytest.raises(TypeError, match=r"invalid DnsResolver: dns must be a DnsCache or None, not int; "
                       r"hooks\[1\] must be callable, not str"):
        rc.aio.DnsResolver(dns=3, hooks=(events, "x"))  # type: ignore[arg-type]
