"""The per-process DNS answer cache: fresh hits, single flight, stale on error.

A hit on a fresh answer reads one dict without the lock (it runs on every new
connection). Everything else takes the lock, asks :class:`NameRecord` what to
do, and resolves outside it:

- MISSING: one caller resolves (in its own thread), the others wait for it;
- EXPIRED: a background thread refreshes and callers wait for it at most
  ``refresh_timeout``, then take the stale answer;
- STALE: the stale answer at once, and a background refresh at most every
  ``refresh_interval``;
- NEGATIVE: the cached failure at once.

Background refreshes are daemon threads, one per name at most and
:data:`MAX_BACKGROUND_REFRESHES` per cache; a forked child keeps the answers
and starts its own threads.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cachetools

from resilient_cloud import hooks as _hooks
from resilient_cloud._clock import Clock
from resilient_cloud._dns.backends import Backend, backend_for
from resilient_cloud._dns.record import (
    EMPTY_ANSWER,
    AddrInfo,
    Answer,
    Failure,
    NameRecord,
    Verdict,
)
from resilient_cloud._options import DnsCache
from resilient_cloud._telemetry import names as n
from resilient_cloud._telemetry import on_dns_event
from resilient_cloud._telemetry.logs import state_change

#: Background refreshes in flight per cache; more names wait for a later lookup.
MAX_BACKGROUND_REFRESHES = 32
#: Distinct (options, clock) caches per process.
MAX_CACHES = 64

Key = tuple[str, int, int]  # (host, port, family)
Spawn = Callable[[Callable[[], None]], None]


@dataclass(frozen=True, slots=True)
class Requester:
    """Who looked the name up: events about the lookup go to its hooks, and
    to telemetry when its policy reports (``Policy(telemetry=)``)."""

    hooks: tuple[_hooks.Hook, ...]
    service: str
    region: str
    telemetry: bool = False


class _Flight:
    """One lookup in progress; callers of the same name wait on it."""

    __slots__ = ("done", "addresses", "failure")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.addresses: tuple[AddrInfo, ...] | None = None
        self.failure: Failure | None = None


def start_daemon_thread(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="resilient-cloud-dns-refresh", daemon=True).start()


class _Records(cachetools.LRUCache):  # type: ignore[type-arg]
    """The bounded records; evicting one also drops its lock-free fresh entry."""

    def __init__(self, maxsize: int, fresh: dict[Key, Answer]) -> None:
        super().__init__(maxsize)
        self._fresh = fresh

    def popitem(self) -> tuple[Key, NameRecord]:
        key, record = super().popitem()
        self._fresh.pop(key, None)
        return key, record


class DnsAnswerCache:
    """Answers for every managed client of one :class:`~resilient_cloud.DnsCache`."""

    def __init__(
        self,
        options: DnsCache,
        clock: Clock,
        backend: Backend | None = None,
        spawn: Spawn = start_daemon_thread,
    ) -> None:
        self.options = options
        self._monotonic = clock.monotonic
        self._backend = backend if backend is not None else backend_for(options)
        self._spawn = spawn
        self._lock = threading.Lock()
        # Fresh answers, read without the lock; always a subset of _records.
        # Never replaced (cleared in place): fresh_reader hands out its get.
        self._fresh: dict[Key, Answer] = {}
        self._records = _Records(options.max_names, self._fresh)
        self._flights: dict[Key, _Flight] = {}
        self._background = 0
        _live_caches.add(self)

    def lookup(self, host: str, port: int, family: int, requester: Requester) -> tuple[AddrInfo, ...]:
        """The addresses to connect to; raises ``socket.gaierror``. May block
        (resolving, or waiting up to ``refresh_timeout`` for a refresh)."""
        key = (host, port, family)
        # The hit on every new connection: one dict read, no lock.
        answer = self._fresh.get(key)
        if answer is not None and self._monotonic() < answer.fresh_until:
            return answer.addresses
        return self._lookup_slow(key, requester)

    def fresh_reader(self) -> tuple[Callable[[Key], Answer | None], Callable[[], float]]:
        """The lock-free table's ``get`` and the clock, for a caller that
        inlines the fresh hit (the connection seam: a call less per new
        connection). An answer ``a`` from ``get((host, port, family))`` is a
        hit while ``clock() < a.fresh_until``; anything else goes through
        :meth:`lookup`. Both stay valid for the cache's life, across
        :meth:`clear` and ``fork``."""
        return self._fresh.get, self._monotonic

    def fresh(self, host: str, port: int, family: int) -> tuple[AddrInfo, ...] | None:
        """A fresh answer if there is one, never blocking (for event loops)."""
        answer = self._fresh.get((host, port, family))
        if answer is not None and self._monotonic() < answer.fresh_until:
            return answer.addresses
        return None

    def _lookup_slow(self, key: Key, requester: Requester) -> tuple[AddrInfo, ...]:
        now = self._monotonic()
        with self._lock:
            record = self._record(key)
            verdict = record.verdict(now)
            if verdict is Verdict.FRESH:
                assert record.answer is not None
                self._fresh[key] = record.answer
                return record.answer.addresses
            if verdict is Verdict.NEGATIVE:
                assert record.last_failure is not None
                raise record.last_failure.error(key[0])
            flight = self._flights.get(key)
            started = None
            if flight is None:
                if verdict is Verdict.MISSING:
                    flight = started = self._start_flight(key)
                elif verdict is Verdict.EXPIRED or record.refresh_due(now):
                    if self._reserve_background():
                        flight = started = self._start_flight(key)
                        record.refresh_started(now, self.options.refresh_interval)
        if verdict is Verdict.MISSING:
            assert flight is not None
            if started is not None:
                self._resolve(key, started, requester, background=False)
            else:
                flight.done.wait()
            if flight.addresses is not None:
                return flight.addresses
            assert flight.failure is not None
            raise flight.failure.error(key[0])
        if started is not None:
            self._start_background(key, started, requester)
        if verdict is Verdict.EXPIRED:
            if flight is None:
                self._give_up_waiting(key, requester, "every background refresh slot is busy")
            elif not flight.done.wait(self.options.refresh_timeout):
                timeout = self.options.refresh_timeout
                self._give_up_waiting(key, requester, f"no answer within refresh_timeout ({timeout:g}s)")
            elif flight.addresses is not None:
                return flight.addresses
        return self._serve_stale(key, requester)

    def _start_background(self, key: Key, flight: _Flight, requester: Requester) -> None:
        try:
            self._spawn(lambda: self._resolve(key, flight, requester, background=True))
        except Exception as error:  # no thread to be had: nobody may wait on it
            reason = f"could not start a refresh: {error}"
            self._finish(key, flight, None, Failure(socket.EAI_AGAIN, reason), background=True)
            self._give_up_waiting(key, requester, reason)

    def _record(self, key: Key) -> NameRecord:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = NameRecord()
        return record

    def _start_flight(self, key: Key) -> _Flight:
        flight = self._flights[key] = _Flight()
        return flight

    def _reserve_background(self) -> bool:
        if self._background >= MAX_BACKGROUND_REFRESHES:
            return False
        self._background += 1
        return True

    def _resolve(self, key: Key, flight: _Flight, requester: Requester, background: bool) -> None:
        """Ask the backend, update the record, release the waiters, report."""
        host, port, family = key
        addresses: tuple[AddrInfo, ...] = ()
        ttl: float | None = None
        failure: Failure | None = None
        try:
            addresses, ttl = self._backend.resolve(host, port, family)
            if not addresses:
                failure = EMPTY_ANSWER
        except OSError as error:
            failure = Failure.from_error(error)
        except BaseException as error:
            # A bug or an interrupt: release the waiters, cache nothing.
            failure = Failure(socket.EAI_FAIL, f"resolver raised {type(error).__name__}")
            self._finish(key, flight, None, failure, background)
            raise
        options = self.options
        now = self._monotonic()
        with self._lock:
            record = self._record(key)
            if failure is None:
                ttl = options.ttl if ttl is None else min(max(ttl, options.min_ttl), options.max_ttl)
                recovered_after = record.succeeded(now, addresses, ttl, options.max_stale)
                self._fresh[key] = record.answer  # type: ignore[assignment]
            else:
                stale_for = self._record_failure(key, record, now, failure)
        self._finish(key, flight, addresses if failure is None else None, failure, background)
        if failure is None:
            if recovered_after is not None:
                state_change(
                    logging.INFO, ("dns", host),
                    "DNS for %s answers again after %.1fs on a stale answer", host, recovered_after,
                    attributes={n.DNS_HOST: host, n.DNS_STALE: False, n.DNS_STALE_FOR: recovered_after},
                )
                _report(requester, _hooks.DnsRecovered, host=host, stale_for=recovered_after)
        else:
            _report(
                requester, _hooks.DnsRefreshFailed, host=host, reason=failure.reason,
                stale_for=stale_for, background=background,
            )

    def _finish(
        self,
        key: Key,
        flight: _Flight,
        addresses: tuple[AddrInfo, ...] | None,
        failure: Failure | None,
        background: bool,
    ) -> None:
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
            if background:
                self._background -= 1
        flight.addresses = addresses
        flight.failure = failure
        flight.done.set()

    def _record_failure(self, key: Key, record: NameRecord, now: float, failure: Failure) -> float | None:
        """Note a failed lookup (lock held): how long the answer has been
        stale, or None when there is no answer left to serve."""
        options = self.options
        self._fresh.pop(key, None)
        was_stale = record.stale_since is not None
        if not record.failed(now, failure, options.negative_ttl, options.refresh_interval):
            return None
        if not was_stale:
            state_change(
                logging.WARNING, ("dns", key[0]),
                "DNS lookup of %s failed (%s); serving its last good answer for up to %gs more",
                key[0], failure.reason, record.usable_until - now,
                attributes={n.DNS_HOST: key[0], n.DNS_STALE: True, n.REASON: failure.reason},
            )
        return record.stale_for(now)

    def _give_up_waiting(self, key: Key, requester: Requester, reason: str) -> None:
        """No fresh answer in time: go stale now. A refresh still running
        finishes in the background, and its answer wins if it comes."""
        failure = Failure(socket.EAI_AGAIN, reason)
        now = self._monotonic()
        with self._lock:
            record = self._record(key)
            if record.verdict(now) is not Verdict.EXPIRED:
                return  # the refresh finished meanwhile, or someone else gave up
            stale_for = self._record_failure(key, record, now, failure)
        _report(
            requester, _hooks.DnsRefreshFailed, host=key[0], reason=reason,
            stale_for=stale_for, background=False,
        )

    def _serve_stale(self, key: Key, requester: Requester) -> tuple[AddrInfo, ...]:
        now = self._monotonic()
        with self._lock:
            record = self._record(key)
            answer = record.answer
            if answer is not None and now < answer.fresh_until:
                return answer.addresses  # a refresh won meanwhile
            if answer is None or now > record.usable_until:
                raise (record.last_failure or EMPTY_ANSWER).error(key[0])
            stale_for = record.stale_for(now)
            reason = record.last_failure.reason if record.last_failure else "refresh in flight"
        _report(requester, _hooks.DnsStaleAnswerServed, host=key[0], stale_for=stale_for, reason=reason)
        return answer.addresses

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._fresh.clear()

    def _after_fork_in_child(self) -> None:
        # The parent's refresh threads do not exist here; its answers are still good.
        self._lock = threading.Lock()
        self._flights = {}
        self._background = 0

    def __repr__(self) -> str:
        return f"<DnsAnswerCache {len(self._records)}/{self.options.max_names} names {self._backend!r}>"


def _report(requester: Requester, event_type: Any, **fields: Any) -> None:
    if not (requester.hooks or requester.telemetry):
        return
    event = event_type(service=requester.service, region=requester.region, **fields)
    if requester.hooks:
        _hooks.dispatch(requester.hooks, event)
    if requester.telemetry:
        on_dns_event(event)


# -- one cache per (options, clock) in the process ----------------------------

_live_caches: weakref.WeakSet[DnsAnswerCache] = weakref.WeakSet()
_caches_lock = threading.Lock()
_caches: cachetools.LRUCache[tuple[DnsCache, Clock], DnsAnswerCache] = cachetools.LRUCache(MAX_CACHES)


def cache_for(options: DnsCache, clock: Clock) -> DnsAnswerCache:
    """The process's cache for ``options`` on ``clock``, built on first use."""
    key = (options, clock)
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = DnsAnswerCache(options, clock)
        return cache


def clear_caches() -> None:
    """Forget every answer, including those of caches clients still hold."""
    with _caches_lock:
        for cache in _caches.values():
            cache.clear()
        _caches.clear()


def _after_fork_in_child() -> None:
    global _caches_lock
    _caches_lock = threading.Lock()
    for cache in list(_live_caches):
        cache._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
