"""Per-endpoint shared state: bounded, keyed, emptied in forked children.

The fork tests really fork (``os.fork``) while other threads of the parent
hold the process-wide locks, the way a prefork server forks while its
threads are busy: a lock copied locked into the child, and not renewed
there, would hang the child's first call for ever. The child does its checks
under an alarm, reports through a pipe and leaves with ``os._exit``; the
parent kills it if it overstays, so a missing renewal fails these tests
instead of hanging them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import resilient_cloud as rc
from resilient_cloud._dns import cache as dns_cache
from resilient_cloud._registry import MAX_ENTRIES, REGISTRY, Endpoint, Registry, StateKey
from resilient_cloud.testing import FakeClock

#: Seconds a child may take before it counts as hung (its alarm), and a margin
#: for the parent to hear about it.
CHILD_TIMEOUT = 5
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
ENDPOINT = Endpoint("aws", "dynamodb", "us-east-1", "dynamodb.us-east-1.amazonaws.com")
OTHER = Endpoint("aws", "dynamodb", "us-west-2", "dynamodb.us-west-2.amazonaws.com")


def key(options: object) -> StateKey:
    return StateKey("budget", ENDPOINT, options)


def test_same_key_same_state_and_bounded_size() -> None:
    registry = Registry(maxsize=3)
    first = registry.get(key(1), object)
    assert registry.get(key(1), object) is first
    for i in range(10):
        registry.get(key(i), object)
    assert len(registry) == 3


def test_the_least_recently_used_state_goes_first() -> None:
    registry = Registry(maxsize=2)
    first = registry.get(key(1), object)
    registry.get(key(2), object)
    assert registry.get(key(1), object) is first  # used again: now the newest
    registry.get(key(3), object)  # evicts 2, the least recently used
    assert [found for found, _ in registry.items()] == [key(1), key(3)]
    assert registry.get(key(1), object) is first
    registry.clear()
    assert len(registry) == 0 and registry.items() == []
    assert MAX_ENTRIES == 4096
    assert repr(Registry(maxsize=5)) == "<Registry 0/5 states>"


def test_factories_run_once_per_key() -> None:
    registry = Registry()
    built: list[int] = []

    def factory() -> list[int]:
        built.append(1)
        return built

    assert registry.get(key("a"), factory) is registry.get(key("a"), factory)
    assert len(built) == 1


def test_keys_compare_by_all_their_fields() -> None:
    assert key(1) == key(1) and hash(key(1)) == hash(key(1))
    assert key(1) != key(2)
    assert key(1) != StateKey("breaker", ENDPOINT, 1)
    assert key(1) != StateKey("budget", OTHER, 1)
    assert key(1) != StateKey("budget", ENDPOINT, 1, clock="another")
    assert key(1) != ("budget", ENDPOINT, 1, None)  # only keys equal keys
    assert repr(key(1)) == f"StateKey(kind='budget', endpoint={ENDPOINT!r}, options=1, clock=None)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        key(1).kind = "breaker"  # type: ignore[misc]


def test_the_states_of_one_endpoint() -> None:
    registry = Registry()
    budget = registry.get(key(1), object)
    breaker = registry.get(StateKey("breaker", ENDPOINT, 1), object)
    registry.get(StateKey("budget", OTHER, 1), object)
    registry.get(("not", "a", "state", "key"), object)
    assert registry.states_of(ENDPOINT) == {key(1): budget, StateKey("breaker", ENDPOINT, 1): breaker}
    assert registry.endpoints() == [ENDPOINT, OTHER]  # sorted by name
    assert registry.states_of(Endpoint("aws", "sqs", "eu-west-1", "sqs.eu-west-1")) == {}


def test_memoized_lookups_hold_until_the_registry_drops_a_state() -> None:
    registry = Registry(maxsize=2)
    memo: dict = {}
    built: list[object] = []

    def build(options: object) -> object:
        built.append(options)
        return object()

    first = registry.get_memoized(key(1), build, memo)
    assert registry.get_memoized(key(1), build, memo) is first and built == [1]
    generation = registry.generation
    registry.get(key(2), object)
    assert registry.generation == generation  # adding drops nothing
    registry.get(key(3), object)  # evicts key(1): every memo is stale
    assert registry.generation == generation + 1
    again = registry.get_memoized(key(1), build, memo)  # rebuilt (and evicts key(2))
    assert again is not first and built == [1, 1]
    generation = registry.generation
    registry.clear()  # cachetools < 5.4 clears by popping each entry: one bump or more
    assert registry.generation > generation
    assert registry.get_memoized(key(1), build, memo) is not again


def test_endpoint_from_url() -> None:
    endpoint = Endpoint.from_url("aws", "dynamodb", "us-east-1", "https://dynamodb.us-east-1.amazonaws.com")
    assert endpoint.host == "dynamodb.us-east-1.amazonaws.com"
    assert str(endpoint) == "dynamodb.us-east-1 (dynamodb.us-east-1.amazonaws.com)"
    assert Endpoint.from_url("aws", "s3", "", "http://localhost:5000").region == ""


# -- forking while other threads hold the locks --------------------------------


@contextlib.contextmanager
def held_by_other_threads(*locks: Any) -> Iterator[None]:
    """Each lock taken by a thread of its own for the duration."""
    taken = [threading.Event() for _ in locks]
    done = threading.Event()

    def hold(lock: Any, event: threading.Event) -> None:
        with lock:
            event.set()
            done.wait(30)

    holders = [
        threading.Thread(target=hold, args=(lock, event), daemon=True)
        for lock, event in zip(locks, taken)
    ]
    for holder in holders:
        holder.start()
    try:
        assert all(event.wait(10) for event in taken), "a lock could not be taken"
        yield
    finally:
        done.set()
        for holder in holders:
            holder.join(10)


def fork_while_held(locks: tuple[Any, ...], check: Callable[[], object]) -> None:
    """Fork while other threads hold ``locks``; run ``check`` in the child
    under an alarm and fail if it raised, returned something falsy or hung."""
    reader, writer = os.pipe()
    with held_by_other_threads(*locks), warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a multi-threaded process.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: nothing of pytest's may run here
        code = 1
        try:
            os.close(reader)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)  # a hung lock kills the child
            signal.alarm(CHILD_TIMEOUT)
            result = check()
            signal.alarm(0)
            message = "ok" if result else f"the check returned {result!r}"
            code = 0
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            message = f"{type(error).__name__}: {error}"
        finally:
            try:
                os.write(writer, message.encode()[:4000])
            finally:
                os._exit(code)
    os.close(writer)
    try:
        ready, _, _ = select.select([reader], [], [], CHILD_TIMEOUT + 10)
        report = os.read(reader, 4096).decode() if ready else ""
    finally:
        os.close(reader)
    status = _reap(pid, timeout=10)
    if status is None:
        pytest.fail("the forked child neither finished nor died: killed")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM:
        pytest.fail(f"the forked child hung for {CHILD_TIMEOUT}s: a lock held at fork was not renewed")
    assert report == "ok", report or f"the child died (status {status})"
    assert os.waitstatus_to_exitcode(status) == 0


def _reap(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@needs_fork
def test_forked_child_starts_with_empty_state() -> None:
    REGISTRY.get(key("parent"), object)
    assert len(REGISTRY) == 1
    fork_while_held((), lambda: len(REGISTRY) == 0)
    assert len(REGISTRY) == 1  # the parent keeps its own


@needs_fork
def test_registry_works_in_a_child_forked_while_another_thread_held_its_lock() -> None:
    parent_state = REGISTRY.get(key("parent"), object)

    def child() -> bool:
        state = REGISTRY.get(key("child"), object)
        return (
            len(REGISTRY) == 1
            and REGISTRY.get(key("child"), object) is state
            and REGISTRY.items() == [(key("child"), state)]
        )

    fork_while_held((REGISTRY._lock,), child)
    assert REGISTRY.get(key("parent"), object) is parent_state
    assert len(REGISTRY) == 1


class _Backend:
    def resolve(self, host: str, port: int, family: int) -> tuple[tuple[Any, ...], float | None]:
        return ((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.9", port)),), None


@needs_fork
def test_dns_caches_work_in_a_child_forked_while_other_threads_held_their_locks() -> None:
    clock = FakeClock()
    cache = dns_cache.DnsAnswerCache(rc.DnsCache(), clock, backend=_Backend())
    requester = dns_cache.Requester((), "dynamodb", "us-east-1")
    kept = cache.lookup("kept.example", 443, socket.AF_INET, requester)

    def child() -> bool:
        other = dns_cache.cache_for(rc.DnsCache(ttl=7.0), clock)  # the process-wide lock
        clock.advance(3600)  # expired: the slow path takes the cache's lock
        return (
            other is dns_cache.cache_for(rc.DnsCache(ttl=7.0), clock)
            and cache.lookup("new.example", 80, socket.AF_INET, requester)[0][4] == ("127.0.0.9", 80)
            and cache.lookup("kept.example", 443, socket.AF_INET, requester) == kept
        )

    fork_while_held((dns_cache._caches_lock, cache._lock), child)
    assert cache.lookup("kept.example", 443, socket.AF_INET, requester) == kept


@needs_fork
def test_a_wrapped_client_calls_in_a_child_forked_while_its_states_were_locked() -> None:
    """Every lock a call takes: the registry's and each shared state's."""
    from resilient_cloud.testing import Reply, ScriptedResponses

    session = rc.Session(region_name="us-east-1", policy=rc.Policy(clock=FakeClock()))
    client = session.client("dynamodb")
    script = ScriptedResponses(client, [], then=Reply(200, b'{"Item": {"pk": {"S": "1"}}}'))
    client.get_item(TableName="t", Key={"pk": {"S": "1"}})
    states = [state for _, state in REGISTRY.items()]
    locks = [getattr(state, "_lock", None) or state._free for state in states]
    assert len(locks) >= 3  # budget, breaker, bulkhead

    def child() -> bool:
        answer = client.get_item(TableName="t", Key={"pk": {"S": "1"}})
        return answer["Item"] == {"pk": {"S": "1"}} and len(script) == 2

    fork_while_held((REGISTRY._lock, *locks), child)


@needs_fork
def test_clients_can_be_wrapped_in_a_child_forked_while_another_thread_wrapped_one() -> None:
    from resilient_cloud._botocore import client as client_module

    def child() -> bool:
        session = rc.Session(region_name="us-east-1")
        return session.client("sqs") is not None

    fork_while_held((client_module.resilient_class._lock,), child)


def test_fallback_clients_are_built_in_a_child_forked_while_another_thread_built_one() -> None:
    session = rc.Session(region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    client = session.client("dynamodb", fallback_regions=["us-west-2"])
    fallback_clients = client._resilient_cloud_runtime._fallback_clients

    def child() -> bool:
        return fallback_clients.get("us-west-2").meta.region_name == "us-west-2"

    fork_while_held((fallback_clients._lock,), child)
