"""Hedged reads: when the second request goes (pure), and the threads that
run both (sync requests cannot be raced from one thread)."""

from __future__ import annotations

import collections
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from resilient_cloud._forking import renew_after_fork
from resilient_cloud._options import Hedge
from resilient_cloud._stats import percentile

#: Latencies kept per endpoint: enough for a stable p99, small to sort.
SAMPLES = 256


@dataclass(frozen=True, slots=True)
class HedgeSnapshot:
    #: Hedges sent, and how many of them gave the answer used.
    fired: int
    won: int
    #: Hedges not sent because the retry budget was empty.
    refused: int
    #: The wait before the next hedge, seconds.
    delay: float


class HedgeState:
    """One endpoint's hedge delay and counts (thread-safe), shared like its
    breaker by every client with the same :class:`Hedge` options."""

    def __init__(self, options: Hedge) -> None:
        self.options = options
        self._latencies: collections.deque[float] = collections.deque(maxlen=SAMPLES)
        self._lock = threading.Lock()
        self.fired = 0
        self.won = 0
        #: Hedges not sent because the retry budget was empty.
        self.refused = 0

    def observe(self, latency: float) -> None:
        """Note how long a first attempt took to answer."""
        with self._lock:
            self._latencies.append(latency)

    def delay(self) -> float:
        options = self.options
        if options.delay is not None:
            return options.delay
        with self._lock:
            if len(self._latencies) < options.min_samples:
                return options.max_delay
            observed = percentile(list(self._latencies), options.percentile)
        assert observed is not None
        return min(options.max_delay, max(options.min_delay, observed))

    def snapshot(self) -> HedgeSnapshot:
        delay = self.delay()
        with self._lock:
            return HedgeSnapshot(self.fired, self.won, self.refused, delay)

    def count(self, *, fired: bool, won: bool = False) -> None:
        with self._lock:
            if fired:
                self.fired += 1
                self.won += won
            else:
                self.refused += 1


class HedgePool:
    """Worker threads for one client's hedged calls: at most
    ``max_concurrent`` calls (two requests each) at once. Renewed in a
    forked child (slots, lock, threads) before any of the child's threads
    runs: the parent's threads, and the slots and locks they held, do not
    exist there."""

    def __init__(self, max_concurrent: int) -> None:
        self._max_concurrent = max_concurrent
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        # Renewed at fork rather than on a child's first use (a pid check): a
        # lazy renewal raced between the child's threads (two of them could
        # each make a new semaphore, and a slot taken from one was given back
        # to the other), and a lock held by a parent thread hung whichever
        # method did not check.
        renew_after_fork(self)

    def try_enter(self) -> bool:
        return self._slots.acquire(blocking=False)

    def leave(self) -> None:
        self._slots.release()

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=2 * self._max_concurrent,
                    thread_name_prefix="resilient-cloud-hedge",
                )
            return self._executor

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self._max_concurrent)
        self._executor = None

