"""The bulkhead: a bound on calls in flight to one endpoint (thread-safe).

Waiting, when the options allow it, blocks on a condition variable with a
real timeout: it is the one place where time passes outside the injected
clock, because a slot is freed by another thread, not by time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from resilient_cloud._options import Bulkhead


@dataclass(frozen=True, slots=True)
class BulkheadSnapshot:
    in_use: int
    waiting: int
    limit: int
    rejected: int


class BulkheadState:
    def __init__(self, options: Bulkhead) -> None:
        self.options = options
        self._in_use = 0
        self._waiting = 0
        self._rejected = 0
        self._free = threading.Condition(threading.Lock())

    def acquire(self, max_wait: float) -> bool:
        """Take a slot, waiting up to ``max_wait`` seconds (and only if the
        queue has room); False when refused. Pair every True with release()."""
        options = self.options
        with self._free:
            if self._in_use < options.max_concurrent:
                self._in_use += 1
                return True
            if max_wait <= 0 or self._waiting >= options.max_queue:
                self._rejected += 1
                return False
            self._waiting += 1
            try:
                granted = self._free.wait_for(
                    lambda: self._in_use < options.max_concurrent, timeout=max_wait
                )
            finally:
                self._waiting -= 1
            if granted:
                self._in_use += 1
            else:
                self._rejected += 1
            return granted

    def release(self) -> None:
        with self._free:
            if self._in_use <= 0:
                raise RuntimeError("bulkhead released more often than acquired")
            self._in_use -= 1
            self._free.notify()

    def snapshot(self) -> BulkheadSnapshot:
        with self._free:
            return BulkheadSnapshot(
                self._in_use, self._waiting, self.options.max_concurrent, self._rejected
            )

    def __repr__(self) -> str:
        return f"<BulkheadState {self._in_use}/{self.options.max_concurrent} in use, {self._waiting} waiting>"
