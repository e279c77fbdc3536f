"""The fake cloud's harder faults: capacity (the queue retries collapse into),
DNS faults in the client's resolver, TCP faults on real sockets, and control
of the same servers from another process."""

from __future__ import annotations

import http.client
import json
import random
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from resilient_cloud.fakecloud import (
    DELAY_HEADER,
    DNS_MODES,
    REGION_HEADER,
    TCP_MODES,
    FakeCloud,
    Faults,
    RemoteCloud,
)
from resilient_cloud.fakecloud._capacity import SlotQueue
from resilient_cloud.fakecloud._dns import EAI_NODATA
from resilient_cloud.fakecloud._faults import FaultTable
from resilient_cloud.fakecloud._resolver import Resolver
from resilient_cloud.fakecloud._tcp import BLACKHOLE_LIMIT, hold_connection
from tests.integration.conftest import REGIONS
from tests.integration.helpers import ClientFactory, closing_clients, create_table

FAST = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=1
)
TABLE = "items"
DDB_HOST = "dynamodb.us-east-1.amazonaws.com"


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    with closing_clients(FAST) as make:
        yield make


def _put(ddb: Any, value: str, pk: str = "1") -> None:
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "v": {"S": value}})


def _get(ddb: Any, pk: str = "1") -> dict[str, Any] | None:
    item: dict[str, Any] | None = ddb.get_item(TableName=TABLE, Key={"pk": {"S": pk}}).get("Item")
    return item


def _cause(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it was raised from or wraps, outermost first."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend([current.__cause__, current.__context__, *current.args])
        todo.append(getattr(current, "kwargs", {}).get("error"))
    return seen


# --------------------------------------------------------------------------
# The capacity model: pure slot arithmetic (no servers, no sleeping)
# --------------------------------------------------------------------------


def test_slot_queue_serves_the_burst_then_queues_then_sheds() -> None:
    # 4/s: slots 0.25 s apart (exact in binary); one second of burst credit.
    queue = SlotQueue(capacity=4, queue_timeout=0.5)
    now = 100.0
    assert [queue.take(now) for _ in range(5)] == [0.0] * 5  # slots 99.0 .. 100.0
    assert queue.take(now) == 0.25
    assert queue.take(now) == 0.5
    assert queue.take(now) is None  # 0.75 s away: rejected ...
    assert queue.take(now) is None  # ... and took no slot
    assert queue.backlog(now) == 0.75
    assert queue.take(now + 0.25) == 0.5  # time moved on: within reach again


def test_slot_queue_idle_time_banks_at_most_the_burst() -> None:
    queue = SlotQueue(capacity=4, queue_timeout=0.0)
    assert [queue.take(0.0) for _ in range(6)] == [0.0] * 5 + [None]
    # A long idle spell earns one second of credit, not more.
    assert [queue.take(1000.0) for _ in range(6)] == [0.0] * 5 + [None]
    assert queue.backlog(1000.0) == 0.25


def test_slot_queue_at_its_rate_never_waits_and_above_it_sheds() -> None:
    queue = SlotQueue(capacity=10, queue_timeout=0.0, burst=0.0)
    assert all(queue.take(t / 10) == 0.0 for t in range(100))
    # Twice the rate: every other request is shed when nothing may wait.
    queue = SlotQueue(capacity=10, queue_timeout=0.0, burst=0.0)
    taken = [queue.take(t / 20) for t in range(200)]
    assert taken.count(None) == 100


def test_slot_queue_never_serves_more_than_capacity_allows() -> None:
    rng = random.Random(3)
    capacity, timeout = 20.0, 0.5
    queue = SlotQueue(capacity, timeout)
    now, served_at = 0.0, []
    for _ in range(5000):
        now += rng.expovariate(60.0)  # three times the capacity
        wait = queue.take(now)
        if wait is not None:
            assert 0.0 <= wait <= timeout
            served_at.append(now + wait)
    # Over any span, at most capacity * (span + burst) + 1 are served.
    assert served_at == sorted(served_at)
    for i in range(0, len(served_at), 97):
        for j in range(i, len(served_at), 89):
            span = served_at[j] - served_at[i]
            assert j - i + 1 <= capacity * (span + 1.0) + 1 + 1e-6
    assert len(served_at) <= capacity * (now + 1.0 + timeout) + 1
    assert len(served_at) >= capacity * now * 0.95  # and it does serve at capacity


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity": 0, "queue_timeout": 1}, "capacity must be a finite number > 0, got 0"),
        ({"capacity": -1, "queue_timeout": 1}, "capacity must be a finite number > 0"),
        ({"capacity": 1, "queue_timeout": -0.1}, "queue_timeout must be a finite number >= 0"),
        ({"capacity": 1, "queue_timeout": 1, "burst": -1}, "burst must be"),
    ],
)
def test_slot_queue_rejects_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SlotQueue(**kwargs)


def test_fault_table_sheds_without_drawing_errors() -> None:
    table = FaultTable()
    table.set("dynamodb", Faults(capacity=1, queue_timeout=0, error_rate=0.5, seed=1))
    decisions = [table.decide("dynamodb", now=10.0) for _ in range(4)]
    # Slots 9.0 and 10.0 are due; 11.0 is a second away with no waiting allowed.
    assert [d.overloaded for d in decisions] == [False, False, True, True]
    assert all(d.wait == 0.0 for d in decisions)
    assert table.decide("s3", now=10.0).overloaded is False  # no rule, no limit
    # Re-setting the rule starts an idle queue.
    table.set("dynamodb", Faults(capacity=1, queue_timeout=2))
    assert [table.decide("dynamodb", now=10.0).wait for _ in range(4)] == [0.0, 0.0, 1.0, 2.0]


_PER_SECOND = r"requests per second \(or None\)"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"capacity": 0}, ValueError, f"capacity must be > 0 {_PER_SECOND}, got 0"),
        ({"capacity": -5.0}, ValueError, "capacity must be > 0"),
        ({"capacity": float("inf")}, ValueError, "capacity must be finite"),
        ({"capacity": "10"}, TypeError, "capacity must be a number"),
        ({"queue_timeout": -1}, ValueError, "queue_timeout must be >= 0 seconds, got -1"),
        ({"queue_timeout": None}, TypeError, "queue_timeout must be a number"),
    ],
)
def test_faults_reject_bad_capacity(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Faults(**kwargs)


def test_faults_capacity_round_trips_as_json() -> None:
    faults = Faults(capacity=20, queue_timeout=0)
    assert faults.capacity == 20.0 and faults.queue_timeout == 0.0
    assert Faults(**json.loads(json.dumps(faults.to_json()))) == faults
    assert Faults().capacity is None


# --------------------------------------------------------------------------
# A slow tail: latency for a seeded share of requests (no servers)
# --------------------------------------------------------------------------


def test_latency_rate_delays_a_seeded_share_of_requests() -> None:
    table = FaultTable()
    table.set("dynamodb", Faults(latency=1.0, latency_rate=0.05, seed=3))
    first = [table.decide("dynamodb", now=0.0).latency for _ in range(4000)]
    assert set(first) == {0.0, 1.0}
    assert 150 <= first.count(1.0) <= 250  # 5% of 4000, give or take
    # The same seed replays the same tail; another seed gives another one.
    table.set("dynamodb", Faults(latency=1.0, latency_rate=0.05, seed=3))
    assert [table.decide("dynamodb", now=0.0).latency for _ in range(4000)] == first
    table.set("dynamodb", Faults(latency=1.0, latency_rate=0.05, seed=4))
    assert [table.decide("dynamodb", now=0.0).latency for _ in range(4000)] != first


def test_latency_rate_one_is_every_request_and_draws_nothing() -> None:
    table = FaultTable()
    # At rate 1 no draw is made, so the error sequence of a seed is unchanged.
    table.set("dynamodb", Faults(latency=0.5, error_rate=0.5, seed=7))
    with_latency = [table.decide("dynamodb", now=0.0) for _ in range(100)]
    table.set("dynamodb", Faults(error_rate=0.5, seed=7))
    without = [table.decide("dynamodb", now=0.0) for _ in range(100)]
    assert all(d.latency == 0.5 for d in with_latency)
    assert [d.error_kind for d in with_latency] == [d.error_kind for d in without]
    table.set("dynamodb", Faults(latency=0.5, latency_rate=0.0, seed=7))
    assert all(table.decide("dynamodb", now=0.0).latency == 0.0 for _ in range(100))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"latency_rate": 1.5}, ValueError, "latency_rate must be between 0 and 1, got 1.5"),
        ({"latency_rate": -0.1}, ValueError, "latency_rate must be between 0 and 1"),
        ({"latency_rate": float("nan")}, ValueError, "latency_rate must be finite"),
        ({"latency_rate": "0.5"}, TypeError, "latency_rate must be a number"),
        ({"latency_rate": None}, TypeError, "latency_rate must be a number"),
    ],
)
def test_faults_reject_bad_latency_rate(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Faults(**kwargs)


def test_faults_latency_rate_round_trips_as_json() -> None:
    faults = Faults(latency=1, latency_rate=0.05, seed=2)
    assert faults.latency_rate == 0.05 and Faults().latency_rate == 1.0
    assert Faults(latency_rate=1) == Faults(latency_rate=1.0)
    assert faults.to_json()["latency_rate"] == 0.05
    assert Faults(**json.loads(json.dumps(faults.to_json()))) == faults


# --------------------------------------------------------------------------
# DNS faults in the resolver (no servers)
# --------------------------------------------------------------------------

_ADDRESSES = {"us-east-1": ("127.0.0.2", 4567), "us-west-2": ("127.0.0.3", 4568)}


def _lookup(resolver: Resolver, host: str = DDB_HOST) -> Any:
    with resolver:
        return socket.getaddrinfo(host, 80)[0][4]


@pytest.mark.parametrize(
    ("mode", "code", "message"),
    [
        ("nxdomain", socket.EAI_NONAME, "Name or service not known"),
        ("empty", EAI_NODATA, "No address associated with hostname"),
        ("timeout", socket.EAI_AGAIN, "Temporary failure in name resolution"),
    ],
)
def test_dns_failure_modes_raise_what_glibc_raises(mode: str, code: int, message: str) -> None:
    resolver = Resolver(_ADDRESSES)
    resolver.set_dns("us-east-1", mode, delay=0.05)
    started = time.monotonic()
    with pytest.raises(socket.gaierror) as excinfo:
        _lookup(resolver)
    assert excinfo.value.args == (code, message)
    if mode == "timeout":
        assert time.monotonic() - started >= 0.05
    assert resolver.lookups() == {"us-east-1": {"dynamodb": {mode: 1}}}


def test_dns_service_setting_wins_and_clear_restores() -> None:
    resolver = Resolver(_ADDRESSES)
    resolver.set_dns("us-east-1", "nxdomain")
    resolver.set_dns("us-east-1", "ok", service="s3")
    resolver.set_dns("us-east-1", "address", service="DynamoDB", address=("127.0.0.9", 99))
    assert _lookup(resolver) == ("127.0.0.9", 99)
    assert _lookup(resolver, "my-bucket.s3.amazonaws.com") == ("127.0.0.2", 4567)
    with pytest.raises(socket.gaierror):
        _lookup(resolver, "sqs.us-east-1.amazonaws.com")
    assert _lookup(resolver, "dynamodb.us-west-2.amazonaws.com") == ("127.0.0.3", 4568)
    assert resolver.dns() == {
        "us-east-1": {
            "*": {"mode": "nxdomain"},
            "s3": {"mode": "ok"},
            "dynamodb": {"mode": "address", "address": ["127.0.0.9", 99]},
        }
    }
    resolver.clear_dns("us-west-2")
    assert resolver.dns() != {}
    resolver.clear_dns("us-east-1")
    assert _lookup(resolver) == ("127.0.0.2", 4567)
    assert resolver.lookups() == {
        "us-east-1": {
            "dynamodb": {"address": 1, "ok": 1},
            "s3": {"ok": 1},
            "sqs": {"nxdomain": 1},
        },
        "us-west-2": {"dynamodb": {"ok": 1}},
    }
    resolver.reset_lookups()
    assert resolver.lookups() == {}


def test_dns_lookups_are_counted_exactly_across_threads() -> None:
    resolver = Resolver(_ADDRESSES)
    resolver.set_dns("us-west-2", "nxdomain")

    def work(n: int) -> None:
        for i in range(200):
            host = DDB_HOST if (n + i) % 2 else "dynamodb.us-west-2.amazonaws.com"
            try:
                socket.getaddrinfo(host, 80)
            except socket.gaierror:
                pass

    with resolver, ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert resolver.lookups() == {
        "us-east-1": {"dynamodb": {"ok": 800}},
        "us-west-2": {"dynamodb": {"nxdomain": 800}},
    }


def test_unserved_regions_are_counted_as_such() -> None:
    resolver = Resolver(_ADDRESSES)
    with pytest.raises(socket.gaierror):
        _lookup(resolver, "dynamodb.eu-west-1.amazonaws.com")
    assert resolver.lookups() == {"eu-west-1": {"dynamodb": {"unserved": 1}}}


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (("us-east-1", "down"), {}, ValueError, "mode must be one of ok, nxdomain, empty, "),
        (("us-east-1", "timeout"), {"delay": 0}, ValueError,
         "delay must be > 0 and <= 30 seconds, got 0"),
        (("us-east-1", "timeout"), {"delay": 30.5}, ValueError, "delay must be > 0 and <= 30"),
        (("us-east-1", "timeout"), {"delay": "1"}, TypeError, "delay must be a number"),
        (("us-east-1", "address"), {}, ValueError, r"mode 'address' needs address=\(ip, port\)"),
        (("us-east-1", "nxdomain"), {"address": ("127.0.0.3", 1)}, ValueError,
         "address is only used with mode 'address', not 'nxdomain'"),
        (("us-east-1", "address"), {"address": ("localhost", 80)}, ValueError,
         "address must hold an IPv4 address, got 'localhost'"),
        (("us-east-1", "address"), {"address": ("127.0.0.3", 0)}, ValueError,
         "address must hold a port in 1-65535, got 0"),
        (("us-east-1", "address"), {"address": "127.0.0.3:80"}, TypeError,
         "address must be an \\(ip, port\\) pair"),
        (("eu-west-9", "nxdomain"), {}, ValueError,
         "unknown region 'eu-west-9'; this fake cloud serves us-east-1, us-west-2"),
        (("us-east-1", "nxdomain"), {"service": ""}, TypeError, "service must be a non-empty str"),
    ],
)
def test_set_dns_rejects_bad_input(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    resolver = Resolver(_ADDRESSES)
    with pytest.raises(error, match=message):
        resolver.set_dns(*args, **kwargs)
    with pytest.raises(ValueError, match="unknown region 'eu-west-9'"):
        resolver.clear_dns("eu-west-9")
    assert resolver.dns() == {}


def test_mode_tables_are_exported() -> None:
    assert DNS_MODES == ("ok", "nxdomain", "empty", "timeout", "address")
    assert TCP_MODES == ("ok", "refuse", "reset", "blackhole")


# --------------------------------------------------------------------------
# DNS faults as a real botocore client sees them
# --------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    ("mode", "code"),
    [("nxdomain", socket.EAI_NONAME), ("empty", EAI_NODATA), ("timeout", socket.EAI_AGAIN)],
)
def test_dns_failures_are_endpoint_connection_errors(
    cloud: FakeCloud, make_client: ClientFactory, mode: str, code: int
) -> None:
    cloud.set_dns("us-east-1", mode, service="dynamodb", delay=0.3)
    ddb = make_client("dynamodb")
    started = time.monotonic()
    with pytest.raises(EndpointConnectionError) as excinfo:
        ddb.list_tables()
    elapsed = time.monotonic() - started
    gaierrors = [e for e in _cause(excinfo.value) if isinstance(e, socket.gaierror)]
    assert gaierrors and gaierrors[0].errno == code
    if mode == "timeout":
        assert 0.3 <= elapsed < 1.5
    assert cloud.resolver().lookups() == {"us-east-1": {"dynamodb": {mode: 1}}}
    assert cloud.stats("us-east-1")["requests"] == 0  # nothing reached the server
    # Only DynamoDB's name is broken; S3 in the same region resolves.
    make_client("s3").list_buckets()


@pytest.mark.integration
def test_dns_faults_hit_new_connections_only(cloud: FakeCloud, make_client: ClientFactory) -> None:
    pooled = make_client("dynamodb")
    for _ in range(3):
        pooled.list_tables()
    # Keep-alive: one lookup for three calls.
    assert cloud.resolver().lookups() == {"us-east-1": {"dynamodb": {"ok": 1}}}
    cloud.set_dns("us-east-1", "nxdomain")
    pooled.list_tables()  # its connection is still open: no lookup
    with pytest.raises(EndpointConnectionError):
        make_client("dynamodb").list_tables()
    cloud.set_dns("us-east-1", "ok")
    make_client("dynamodb").list_tables()
    assert cloud.resolver().lookups() == {"us-east-1": {"dynamodb": {"ok": 2, "nxdomain": 1}}}
    assert cloud.stats("us-east-1")["requests"] == 5


@pytest.mark.integration
def test_dns_address_mode_sends_a_region_to_another_server(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    east = make_client("dynamodb", "us-east-1")
    create_table(east, TABLE)
    cloud.reset_stats()
    cloud.resolver().reset_lookups()

    # The record for us-east-1's DynamoDB now points at the us-west-2 server.
    cloud.set_dns("us-east-1", "address", service="dynamodb", address=cloud.address("us-west-2"))
    moved = make_client("dynamodb", "us-east-1")
    assert moved.list_tables()["TableNames"] == []  # another server: not our table
    assert cloud.stats("us-west-2")["requests"] == 1
    assert cloud.stats("us-east-1")["requests"] == 0
    assert cloud.resolver().lookups() == {"us-east-1": {"dynamodb": {"address": 1}}}

    cloud.clear_dns("us-east-1")
    assert make_client("dynamodb", "us-east-1").list_tables()["TableNames"] == [TABLE]


# --------------------------------------------------------------------------
# TCP faults as a real botocore client sees them
# --------------------------------------------------------------------------


def test_a_held_connection_is_let_go_by_limit_mode_change_or_client() -> None:
    assert BLACKHOLE_LIMIT <= 60
    left, right = socket.socketpair()
    with left, right:
        started = time.monotonic()
        hold_connection(left, lambda: True, limit=0.1)  # the bound
        assert 0.1 <= time.monotonic() - started < 1.0
        flips = iter([True, True, False])
        hold_connection(left, lambda: next(flips))  # the mode changed
        right.sendall(b"more bytes are read and dropped")
        right.close()  # the client gave up
        started = time.monotonic()
        hold_connection(left, lambda: True)
        assert time.monotonic() - started < 1.0


@pytest.mark.integration
def test_refuse_closes_the_port_and_pooled_connections_then_ok_reopens_it(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    ddb = make_client("dynamodb")
    create_table(ddb, TABLE)
    _put(ddb, "before")  # ddb now holds a kept-alive connection
    address = cloud.address("us-east-1")

    cloud.set_tcp("us-east-1", "refuse")
    assert cloud.tcp_mode("us-east-1") == "refuse"
    with pytest.raises(ConnectionRefusedError), socket.create_connection(address, timeout=1):
        pass
    with pytest.raises(EndpointConnectionError):  # the pooled connection is gone
        _get(ddb)
    with pytest.raises(EndpointConnectionError):
        make_client("dynamodb").list_tables()
    stats = cloud.stats("us-east-1")  # the control port still answers
    assert stats["dropped_connections"] == 1
    cloud.reset_state("us-west-2")  # and moto's admin API too

    cloud.set_tcp("us-east-1", "ok")
    assert cloud.address("us-east-1") == address
    with socket.create_connection(address, timeout=1):
        pass  # the same port listens again
    assert _get(ddb) == {"pk": {"S": "1"}, "v": {"S": "before"}}  # state intact
    assert cloud.stats("us-east-1")["connections"] == 2


@pytest.mark.integration
def test_reset_reads_each_request_then_resets_mid_response(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    ddb = make_client("dynamodb")
    create_table(ddb, TABLE)
    cloud.reset_stats()
    cloud.set_tcp("us-east-1", "reset")
    for _ in range(2):
        with pytest.raises(ConnectionClosedError) as excinfo:
            _put(ddb, "during")
        assert any(isinstance(e, ConnectionResetError) for e in _cause(excinfo.value))
    stats = cloud.stats("us-east-1")
    assert stats["outcomes"] == {"reset": 2}
    assert stats["requests"] == 2 and stats["by_status"] == {}

    # The raw bytes: a response that starts, then an RST.
    with socket.create_connection(cloud.address("us-east-1"), timeout=1) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: " + DDB_HOST.encode() + b"\r\n\r\n")
        received = b""
        with pytest.raises(ConnectionResetError):
            while chunk := sock.recv(4096):
                received += chunk
        assert b"\r\n\r\n" not in received

    cloud.set_tcp("us-east-1", "ok")
    assert _get(ddb) is None  # the reset requests never reached moto


@pytest.mark.integration
def test_blackhole_answers_nothing_until_the_client_gives_up(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    ddb = make_client("dynamodb", config=FAST.merge(Config(read_timeout=0.5)))
    ddb.list_tables()
    cloud.set_tcp("us-east-1", "blackhole")
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        ddb.list_tables()
    assert 0.5 <= time.monotonic() - started < 1.5
    assert cloud.stats("us-east-1")["outcomes"] == {"ok": 1, "blackholed": 1}

    # A held connection is let go when the mode changes: closed, never answered.
    with socket.create_connection(cloud.address("us-east-1"), timeout=3) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: " + DDB_HOST.encode() + b"\r\n\r\n")
        deadline = time.monotonic() + 3
        while cloud.stats("us-east-1")["outcomes"].get("blackholed") != 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        cloud.set_tcp("us-east-1", "ok")
        assert sock.recv(4096) == b""
    ddb.list_tables()


@pytest.mark.integration
def test_tcp_faults_are_region_wide_and_cleared_with_the_faults(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    cloud.set_tcp("us-east-1", "reset")
    with pytest.raises(ConnectionClosedError):
        make_client("s3").list_buckets()
    make_client("s3", "us-west-2").list_buckets()
    cloud.clear_faults("us-east-1")
    assert cloud.tcp_mode("us-east-1") == "ok"
    make_client("s3").list_buckets()


# --------------------------------------------------------------------------
# The capacity model on a real server
# --------------------------------------------------------------------------


@pytest.mark.integration
def test_capacity_sheds_a_burst_with_service_unavailable(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    calls, capacity = 60, 20.0
    ddb = make_client("dynamodb", config=FAST.merge(Config(max_pool_connections=calls)))
    create_table(ddb, TABLE)
    _put(ddb, "x")
    cloud.reset_stats()
    cloud.set_faults(
        "us-east-1", Faults(capacity=capacity, queue_timeout=0.5), service="dynamodb"
    )
    barrier = threading.Barrier(calls, timeout=30)

    def call(_: int) -> str:
        barrier.wait()
        try:
            _get(ddb)
            return "ok"
        except ClientError as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            return str(exc.response["Error"]["Code"])

    started = time.monotonic()
    with ThreadPoolExecutor(calls) as pool:
        outcomes = list(pool.map(call, range(calls)))
    elapsed = time.monotonic() - started

    served, shed = outcomes.count("ok"), outcomes.count("ServiceUnavailable")
    assert served + shed == calls
    assert shed >= 1
    assert served <= capacity * (elapsed + 1.0) + 1
    stats = cloud.stats("us-east-1")
    assert stats["outcomes"] == {"ok": served, "overloaded": shed}
    assert stats["by_status"] == {200: served, 503: shed}
    assert stats["queued"] >= 1
    assert 0 < stats["max_queue_wait"] <= 0.5


@pytest.mark.integration
def test_s3_over_capacity_says_slow_down(cloud: FakeCloud, make_client: ClientFactory) -> None:
    s3 = make_client("s3")
    s3.create_bucket(Bucket="busy")
    # One second of credit at 1/s: two requests due at once, the third sheds.
    cloud.set_faults("us-east-1", Faults(capacity=1, queue_timeout=0), service="s3")
    s3.list_objects_v2(Bucket="busy")
    s3.list_objects_v2(Bucket="busy")
    with pytest.raises(ClientError) as excinfo:
        s3.list_objects_v2(Bucket="busy")
    assert excinfo.value.response["Error"]["Code"] == "SlowDown"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    make_client("dynamodb").list_tables()  # DynamoDB has no limit
    assert cloud.stats("us-east-1")["outcomes"] == {"ok": 4, "overloaded": 1}


# --------------------------------------------------------------------------
# A slow tail on a real server, and which region answered
# --------------------------------------------------------------------------


@pytest.mark.integration
def test_slow_tail_on_a_real_server_is_seeded_and_counted(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    ddb = make_client("dynamodb")
    create_table(ddb, TABLE)
    ddb.list_tables()  # connection and backend warm
    cloud.reset_stats()

    def timings(n: int) -> list[bool]:
        """Which of ``n`` requests the server delayed (by its header, not by
        a wall-clock threshold a loaded machine could cross)."""
        slow = []
        for _ in range(n):
            started = time.monotonic()
            headers = ddb.list_tables()["ResponseMetadata"]["HTTPHeaders"]
            delayed = DELAY_HEADER in headers
            if delayed:
                assert headers[DELAY_HEADER] == "0.2"
                assert time.monotonic() - started >= 0.2  # a lower bound: load only adds
            slow.append(delayed)
        return slow

    cloud.set_faults("us-east-1", Faults(latency=0.2, latency_rate=0.25, seed=5), service="dynamodb")
    first = timings(40)
    assert 3 <= sum(first) <= 20
    assert cloud.stats("us-east-1")["requests"] == 40
    # The server applies the same seeded tail again: the same requests are slow.
    cloud.set_faults("us-east-1", Faults(latency=0.2, latency_rate=0.25, seed=5), service="dynamodb")
    assert timings(40) == first


@pytest.mark.integration
def test_every_response_names_the_region_that_answered(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    for region in REGIONS:
        ddb = make_client("dynamodb", region)
        headers = ddb.list_tables()["ResponseMetadata"]["HTTPHeaders"]
        assert headers[REGION_HEADER] == region
    # Injected errors say it too, in the service's own error format.
    cloud.set_faults("us-west-2", Faults(error_rate=1.0), service="dynamodb")
    with pytest.raises(ClientError) as excinfo:
        make_client("dynamodb", "us-west-2").list_tables()
    assert excinfo.value.response["ResponseMetadata"]["HTTPHeaders"][REGION_HEADER] == "us-west-2"
    s3 = make_client("s3")
    assert s3.list_buckets()["ResponseMetadata"]["HTTPHeaders"][REGION_HEADER] == "us-east-1"


# --------------------------------------------------------------------------
# RemoteCloud: the same servers from a description
# --------------------------------------------------------------------------


@pytest.mark.integration
def test_describe_is_json_and_names_both_ports(cloud: FakeCloud) -> None:
    description = json.loads(json.dumps(cloud.describe()))
    assert description["regions"] == list(REGIONS)
    assert description["connection"] == "keep-alive"
    for index, region in enumerate(REGIONS):
        ip, port = description["addresses"][region]
        control_ip, control_port = description["control"][region]
        assert ip == control_ip == f"127.0.0.{index + 2}"
        assert (ip, port) == cloud.address(region)
        assert control_port != port


@pytest.mark.integration
def test_remote_cloud_controls_the_same_servers(
    cloud: FakeCloud, make_client: ClientFactory
) -> None:
    remote = RemoteCloud(json.loads(json.dumps(cloud.describe())))
    assert remote.regions == cloud.regions
    assert remote.address("us-west-2") == cloud.address("us-west-2")

    remote.set_faults("us-east-1", Faults(error_rate=1.0, error_kind="ThrottlingException"))
    with pytest.raises(ClientError, match="ThrottlingException"):
        make_client("dynamodb").list_tables()
    assert remote.stats("us-east-1") == cloud.stats("us-east-1")
    assert remote.stats("us-east-1")["outcomes"] == {"ThrottlingException": 1}
    remote.clear_faults("us-east-1")
    make_client("dynamodb").list_tables()

    remote.set_tcp("us-west-2", "refuse")
    assert cloud.tcp_mode("us-west-2") == "refuse"
    with pytest.raises(EndpointConnectionError):
        make_client("dynamodb", "us-west-2").list_tables()
    remote.set_tcp("us-west-2", "ok")

    # DNS faults belong to a resolver: the remote's own, not the cloud's.
    remote.set_dns("us-east-1", "nxdomain")
    make_client("dynamodb").list_tables()
    with remote.resolver():
        with pytest.raises(EndpointConnectionError):
            make_client("dynamodb").list_tables()
    assert remote.resolver().lookups() == {"us-east-1": {"dynamodb": {"nxdomain": 1}}}
    remote.reset_stats()
    assert cloud.stats("us-east-1")["requests"] == 0


@pytest.mark.integration
def test_remote_cloud_in_another_process(cloud: FakeCloud) -> None:
    script = textwrap.dedent(
        """
        import json, sys
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ClientError
        from resilient_cloud.fakecloud import Faults, RemoteCloud

        remote = RemoteCloud(json.loads(sys.argv[1]))
        remote.set_faults("us-west-2", Faults(error_rate=1.0, error_kind="ServiceUnavailable"))
        no_retry = Config(retries={"total_max_attempts": 1, "mode": "standard"})
        with remote.resolver():
            ddb = boto3.client("dynamodb", region_name="us-west-2", use_ssl=False,
                               aws_access_key_id="testing", aws_secret_access_key="testing",
                               config=no_retry)
            try:
                ddb.list_tables()
                code = "ok"
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
            ddb.close()
        print(json.dumps({"code": code, "stats": remote.stats("us-west-2")["outcomes"],
                          "lookups": remote.resolver().lookups()}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script, json.dumps(cloud.describe())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {
        "code": "ServiceUnavailable",
        "stats": {"ServiceUnavailable": 1},
        "lookups": {"us-west-2": {"dynamodb": {"ok": 1}}},
    }
    # The faults it set are the servers' own: this process sees them too.
    assert cloud.stats("us-west-2")["outcomes"] == {"ServiceUnavailable": 1}
    assert "us-west-2" not in cloud.resolver().lookups()  # its lookups were its own


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda d: d.pop("control"), ValueError, "description lacks 'control'"),
        (lambda d: d.update(connection="sometimes"), ValueError, "connection must be one of"),
        (lambda d: d.update(regions="us-east-1"), TypeError,
         r"description\['regions'\] must be a list"),
        (lambda d: d["addresses"].pop("us-west-2"), ValueError,
         r"description\['addresses'\] must cover exactly the regions \['us-east-1', 'us-west-2'\]"),
        (lambda d: d["control"].update({"us-east-1": ["127.0.0.2"]}), TypeError,
         r"description\['control'\]\['us-east-1'\] must be an \(ip, port\) pair"),
        (lambda d: d["control"].update({"us-east-1": ["127.0.0.2", 70000]}), ValueError,
         "must hold a port in 1-65535, got 70000"),
    ],
)
def test_remote_cloud_rejects_a_bad_description(
    change: Callable[[dict[str, Any]], Any], error: type[Exception], message: str
) -> None:
    description: dict[str, Any] = {
        "regions": ["us-east-1", "us-west-2"],
        "connection": "keep-alive",
        "addresses": {"us-east-1": ["127.0.0.2", 4000], "us-west-2": ["127.0.0.3", 4000]},
        "control": {"us-east-1": ["127.0.0.2", 4001], "us-west-2": ["127.0.0.3", 4001]},
    }
    RemoteCloud(json.loads(json.dumps(description)))  # the unchanged one is fine
    change(description)
    with pytest.raises(error, match=message):
        RemoteCloud(description)


@pytest.mark.integration
def test_bad_fault_input_raises_clear_errors(cloud: FakeCloud) -> None:
    tcp_modes = "mode must be one of ok, refuse, reset, blackhole; got 'down'"
    with pytest.raises(ValueError, match=tcp_modes):
        cloud.set_tcp("us-east-1", "down")
    with pytest.raises(ValueError, match="unknown region 'eu-west-9'"):
        cloud.set_tcp("eu-west-9", "ok")
    with pytest.raises(ValueError, match="mode must be one of ok, nxdomain"):
        cloud.set_dns("us-east-1", "bogus")
    with pytest.raises(ValueError, match="delay must be > 0 and <= 30 seconds, got 31"):
        cloud.set_dns("us-east-1", "timeout", delay=31)
    with pytest.raises(ValueError, match="mode 'address' needs address"):
        cloud.set_dns("us-east-1", "address")
    with pytest.raises(ValueError, match="capacity must be > 0"):
        cloud.set_faults("us-east-1", Faults(capacity=0))
    # The server validates too (for other clients of the control API).
    with pytest.raises(ValueError, match="mode must be one of ok, refuse"):
        cloud._control("us-east-1", "POST", "/_fakecloud/tcp", {"mode": "down"})
    with pytest.raises(ValueError, match='tcp request must be a JSON object {"mode": ...}'):
        cloud._control("us-east-1", "POST", "/_fakecloud/tcp", {"mode": "ok", "extra": 1})
    with pytest.raises(ValueError, match="capacity must be > 0"):
        cloud._control("us-east-1", "POST", "/_fakecloud/faults", {"capacity": 0})
    with pytest.raises(ValueError, match="queue_timeout must be >= 0"):
        cloud._control("us-east-1", "POST", "/_fakecloud/faults", {"queue_timeout": -1})
    with pytest.raises(RuntimeError, match="HTTP 404"):
        cloud._control("us-east-1", "GET", "/not-control")
    assert cloud.tcp_mode("us-east-1") == "ok"
    assert cloud.stats("us-east-1")["requests"] == 0


@pytest.mark.integration
def test_control_port_serves_no_aws_traffic_and_data_port_serves_no_control(
    cloud: FakeCloud,
) -> None:
    ip, control_port = cloud.control_address("us-east-1")
    _, data_port = cloud.address("us-east-1")
    conn = http.client.HTTPConnection(ip, control_port, timeout=5)
    try:  # AWS traffic on the control port: refused, not counted
        conn.request("GET", "/", headers={"Host": DDB_HOST})
        assert conn.getresponse().status == 404
    finally:
        conn.close()
    assert cloud.stats("us-east-1")["requests"] == 0
    conn = http.client.HTTPConnection(ip, data_port, timeout=5)
    try:  # a control path on the data port is AWS traffic: it goes to moto
        conn.request("GET", "/_fakecloud/health", headers={"Host": ip})
        response = conn.getresponse()
        assert b'"ok"' not in response.read()
    finally:
        conn.close()
    assert cloud.stats("us-east-1")["requests"] == 1

