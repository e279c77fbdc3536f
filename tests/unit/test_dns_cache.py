"""The DNS answer cache on a fake clock: freshness, stale on error, the
max-stale bound, negative caching, single flight, events."""

from __future__ import annotations

import os
import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

import resilient_cloud as rc
from resilient_cloud._dns import cache as cache_module
from resilient_cloud._dns.cache import DnsAnswerCache, Requester
from resilient_cloud.testing import FakeClock

from ..recording import Events, run_now

HOST = "dynamodb.us-east-1.amazonaws.com"
OLD = ((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", 40001)),)
NEW = ((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.3", 40002)),)


def nxdomain() -> socket.gaierror:
    return socket.gaierror(socket.EAI_NONAME, "Name or service not known")


class ScriptedBackend:
    """Answers (or raises) from a script; the last entry repeats."""

    def __init__(self, *script: Any, gate: threading.Event | None = None) -> None:
        self.script = deque(script)
        self.calls = 0
        self.gate = gate
        self.entered = threading.Event()

    def resolve(self, host: str, port: int, family: int) -> tuple[tuple[Any, ...], float | None]:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        step = self.script[0] if len(self.script) == 1 else self.script.popleft()
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, tuple) and len(step) == 2 and not isinstance(step[1], tuple):
            return step  # (addresses, ttl)
        return step, None




@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=100.0)


@pytest.fixture
def events() -> Events:
    return Events()


def make(
    backend: ScriptedBackend, clock: FakeClock, events: Events,
    spawn: Callable[[Callable[[], None]], None] = run_now, **options: Any,
) -> tuple[DnsAnswerCache, Callable[..., Any]]:
    cache = DnsAnswerCache(rc.DnsCache(**options), clock, backend=backend, spawn=spawn)
    requester = Requester((events,), "dynamodb", "us-east-1")

    def lookup(host: str = HOST) -> Any:
        return cache.lookup(host, 443, socket.AF_UNSPEC, requester)

    return cache, lookup


def test_fresh_answers_are_reused_for_their_ttl_then_replaced(clock, events) -> None:
    backend = ScriptedBackend(OLD, NEW)
    _, lookup = make(backend, clock, events, ttl=30)
    assert lookup() == OLD
    clock.advance(29.9)
    assert lookup() == OLD
    assert backend.calls == 1
    clock.advance(0.2)
    assert lookup() == NEW  # the fresh answer replaces the old one
    assert backend.calls == 2
    assert events == []


def test_backend_ttls_are_clamped(clock, events) -> None:
    backend = ScriptedBackend((OLD, 1.0), (NEW, 10_000.0), (OLD, 60.0))
    _, lookup = make(backend, clock, events, min_ttl=5, max_ttl=300)
    lookup()
    clock.advance(4.9)
    lookup()
    assert backend.calls == 1  # 1 s raised to min_ttl
    clock.advance(0.2)
    assert lookup() == NEW
    clock.advance(299.9)
    lookup()
    assert backend.calls == 2
    clock.advance(0.2)  # 10,000 s lowered to max_ttl
    assert lookup() == OLD
    assert backend.calls == 3


@pytest.mark.parametrize(
    "failure",
    [
        nxdomain(),
        socket.gaierror(socket.EAI_NODATA, "No address associated with hostname"),
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
        TimeoutError("timed out"),
        (),  # an empty answer
    ],
    ids=["nxdomain", "nodata", "eai-again", "timeout", "empty"],
)
def test_a_failed_refresh_serves_the_last_good_answer(clock, events, failure) -> None:
    backend = ScriptedBackend(OLD, failure)
    _, lookup = make(backend, clock, events, ttl=30)
    lookup()
    clock.advance(31)
    assert lookup() == OLD
    [failed] = events.of(rc.hooks.DnsRefreshFailed)
    assert (failed.host, failed.stale_for, failed.background) == (HOST, 0.0, True)
    [served] = events.of(rc.hooks.DnsStaleAnswerServed)
    assert served == rc.hooks.DnsStaleAnswerServed(
        service="dynamodb", region="us-east-1", host=HOST, stale_for=0.0, reason=failed.reason
    )


def test_stale_refreshes_run_in_the_background_at_a_bounded_rate_until_recovery(clock, events) -> None:
    backend = ScriptedBackend(OLD, nxdomain(), nxdomain(), NEW)
    _, lookup = make(backend, clock, events, ttl=30, refresh_interval=5)
    lookup()
    clock.advance(31)
    lookup()  # the first refresh fails: stale from now
    for _ in range(32):  # 32 lookups over 8 s: one more refresh, 5 s later
        clock.advance(0.25)
        assert lookup() == OLD
    assert backend.calls == 3
    assert [e.stale_for for e in events.of(rc.hooks.DnsRefreshFailed)] == pytest.approx([0.0, 5.0])
    assert len(events.of(rc.hooks.DnsStaleAnswerServed)) == 33
    clock.advance(2.0)  # 10 s stale: the next refresh succeeds, and wins at once
    assert lookup() == NEW
    [recovered] = events.of(rc.hooks.DnsRecovered)
    assert recovered.stale_for == pytest.approx(10.0)
    assert backend.calls == 4
    assert len(events.of(rc.hooks.DnsStaleAnswerServed)) == 33


def test_stale_answers_stop_after_max_stale(clock, events) -> None:
    backend = ScriptedBackend(OLD, nxdomain())
    _, lookup = make(backend, clock, events, ttl=30, max_stale=600, negative_ttl=5)
    lookup()
    clock.advance(30 + 600)
    assert lookup() == OLD  # exactly at the bound: still served
    clock.advance(0.1)
    with pytest.raises(socket.gaierror) as caught:
        lookup()
    assert caught.value.errno == socket.EAI_NONAME
    assert HOST in str(caught.value)
    assert events.of(rc.hooks.DnsRefreshFailed)[-1].stale_for is None


def test_max_stale_zero_never_serves_stale(clock, events) -> None:
    backend = ScriptedBackend(OLD, nxdomain())
    _, lookup = make(backend, clock, events, ttl=30, max_stale=0)
    lookup()
    clock.advance(31)
    with pytest.raises(socket.gaierror):
        lookup()
    assert events.of(rc.hooks.DnsStaleAnswerServed) == []


def test_failures_of_names_never_resolved_are_cached_briefly(clock, events) -> None:
    backend = ScriptedBackend(nxdomain(), OLD)
    _, lookup = make(backend, clock, events, negative_ttl=5)
    for _ in range(3):
        with pytest.raises(socket.gaierror, match="Name or service not known"):
            lookup()
        clock.advance(1)
    assert backend.calls == 1
    clock.advance(2)
    assert lookup() == OLD
    assert backend.calls == 2
    [failed] = events.of(rc.hooks.DnsRefreshFailed)
    assert (failed.stale_for, failed.background) == (None, False)


def test_concurrent_lookups_of_one_name_are_merged(clock, events) -> None:
    gate = threading.Event()
    backend = ScriptedBackend(OLD, gate=gate)
    _, lookup = make(backend, clock, events)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(lookup())) for _ in range(16)]
    for thread in threads:
        thread.start()
    assert backend.entered.wait(10)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert results == [OLD] * 16
    assert backend.calls == 1


def test_a_slow_refresh_is_waited_for_at_most_refresh_timeout(clock, events) -> None:
    gate = threading.Event()
    backend = ScriptedBackend(OLD, NEW)
    cache, lookup = make(
        backend, clock, events, spawn=cache_module.start_daemon_thread, ttl=30, refresh_timeout=0.05
    )
    lookup()
    backend.gate = gate
    clock.advance(31)
    assert lookup() == OLD  # gave up after 50 ms: stale
    assert lookup() == OLD  # no second wait, no second refresh
    [failed] = events.of(rc.hooks.DnsRefreshFailed)
    assert "no answer within refresh_timeout (0.05s)" in failed.reason
    gate.set()
    for _ in range(1000):  # the late answer still wins
        if events.of(rc.hooks.DnsRecovered):
            break
        threading.Event().wait(0.01)
    assert lookup() == NEW
    assert backend.calls == 2
    assert len(events.of(rc.hooks.DnsRecovered)) == 1


def test_refresh_of_an_expired_answer_waits_for_a_fast_resolver(clock, events) -> None:
    backend = ScriptedBackend(OLD, NEW)
    _, lookup = make(backend, clock, events, spawn=cache_module.start_daemon_thread, ttl=30)
    lookup()
    clock.advance(31)
    assert lookup() == NEW
    assert events == []


def test_without_a_free_refresh_slot_the_stale_answer_is_served(clock, events, monkeypatch) -> None:
    backend = ScriptedBackend(OLD, NEW)
    _, lookup = make(backend, clock, events, ttl=30)
    lookup()
    monkeypatch.setattr(cache_module, "MAX_BACKGROUND_REFRESHES", 0)
    clock.advance(31)
    assert lookup() == OLD
    assert "every background refresh slot is busy" in events.of(rc.hooks.DnsRefreshFailed)[0].reason
    monkeypatch.setattr(cache_module, "MAX_BACKGROUND_REFRESHES", 1)
    clock.advance(5)
    assert lookup() == NEW  # a slot: the next refresh runs, and its answer wins


def test_a_refresh_that_cannot_start_does_not_block_the_name(clock, events) -> None:
    attempts: list[int] = []

    def refuse_then_run(target: Callable[[], None]) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("can't start new thread")
        target()

    backend = ScriptedBackend(OLD, NEW)
    _, lookup = make(backend, clock, events, spawn=refuse_then_run, ttl=30, refresh_interval=5)
    lookup()
    clock.advance(31)
    assert lookup() == OLD
    assert "could not start a refresh" in events.of(rc.hooks.DnsRefreshFailed)[0].reason
    clock.advance(5)
    assert lookup() == NEW


def test_the_cache_is_bounded(clock, events) -> None:
    backend = ScriptedBackend(OLD)
    cache, lookup = make(backend, clock, events, max_names=2)
    for name in ("a.example", "b.example", "c.example"):
        lookup(name)
    assert len(cache._records) == 2
    assert set(cache._fresh) == {("b.example", 443, 0), ("c.example", 443, 0)}


def test_a_hook_that_raises_never_breaks_a_lookup(clock) -> None:
    def broken(event: Any) -> None:
        raise RuntimeError("hook bug")

    backend = ScriptedBackend(OLD, nxdomain())
    cache = DnsAnswerCache(rc.DnsCache(ttl=30), clock, backend=backend, spawn=run_now)
    requester = Requester((broken,), "dynamodb", "us-east-1")
    cache.lookup(HOST, 443, 0, requester)
    clock.advance(31)
    assert cache.lookup(HOST, 443, 0, requester) == OLD


def test_a_forked_child_keeps_answers_and_refreshes_on_its_own(clock, events) -> None:
    gate = threading.Event()
    backend = ScriptedBackend(OLD, NEW)
    cache, lookup = make(backend, clock, events, spawn=cache_module.start_daemon_thread, ttl=30)
    lookup()
    backend.gate = gate
    clock.advance(31)
    stuck = threading.Thread(target=lookup)  # a refresh in flight when we fork
    stuck.start()
    assert backend.entered.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: the refresh thread did not survive the fork
        code = 1
        try:
            gate.set()
            backend.calls = 0
            code = 0 if lookup() == NEW and backend.calls == 1 else 2
        finally:
            os._exit(code)
    gate.set()
    stuck.join(10)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_reset_forgets_every_answer(clock) -> None:
    cache = cache_module.cache_for(rc.DnsCache(), clock)
    cache._backend = ScriptedBackend(OLD)
    cache.lookup(HOST, 443, 0, Requester((), "dynamodb", "us-east-1"))
    assert cache_module.cache_for(rc.DnsCache(), clock) is cache
    rc.testing.reset()
    assert len(cache._records) == 0
    assert cache_module.cache_for(rc.DnsCache(), clock) is not cache
