"""Log lines under the ``resilient_cloud`` logger: one per state change (a
breaker opened or closed, DNS went stale or recovered, calls switched
region, a retry budget ran dry or recovered), never one per call.

Lines are rate-limited per subject (an endpoint's breaker, a host's DNS),
so a flapping breaker cannot flood a log: past ``burst`` lines in
``period`` seconds they are dropped, and the next line let through says how
many were. Each line carries, as ``extra`` record attributes, the names its
span events use (``resilient_cloud.breaker.state``...), for structured
log handlers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import cachetools

logger = logging.getLogger("resilient_cloud")


class LineLimiter:
    """A token bucket per subject: ``burst`` lines, refilled at ``burst``
    per ``period`` seconds; at most ``maxsize`` subjects are remembered."""

    def __init__(
        self, burst: int = 10, period: float = 60.0, *, maxsize: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or period <= 0:
            raise ValueError("LineLimiter needs burst >= 1 and period > 0")
        self._burst = float(burst)
        self._rate = burst / period
        self._clock = clock
        self._lock = threading.Lock()
        #: subject -> [tokens, refilled at, lines dropped since the last one let through]
        self._buckets: cachetools.LRUCache[Hashable, list[float]] = cachetools.LRUCache(maxsize)

    def admit(self, subject: Hashable) -> int | None:
        """None when this line is dropped; else how many were dropped before it."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(subject)
            if bucket is None:
                bucket = self._buckets[subject] = [self._burst, now, 0]
            tokens = min(self._burst, bucket[0] + (now - bucket[1]) * self._rate)
            bucket[1] = now
            if tokens < 1.0:
                bucket[0] = tokens
                bucket[2] += 1
                return None
            dropped = int(bucket[2])
            bucket[0], bucket[2] = tokens - 1.0, 0
            return dropped

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


LIMITER = LineLimiter()


def state_change(
    level: int, subject: Hashable, message: str, *args: Any, attributes: Mapping[str, Any]
) -> None:
    """Log one state change of ``subject``, unless its lines are over their rate."""
    if not logger.isEnabledFor(level):
        return
    dropped = LIMITER.admit(subject)
    if dropped is None:
        return
    if dropped:
        message += " (%d similar lines dropped)"
        args = (*args, dropped)
    logger.log(level, message, *args, extra=dict(attributes))
