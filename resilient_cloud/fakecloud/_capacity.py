"""Service capacity as a virtual queue: the arithmetic, on a caller's clock.

A service that serves ``capacity`` requests per second hands out service
slots ``1/capacity`` apart. A request waits for its slot; one whose slot is
further away than ``queue_timeout`` is turned away at once (and takes no
slot). Retries that pile onto a full queue push every later slot further out,
so more requests time out and retry: the shape of congestive collapse.

Pure: the caller passes ``now``, so tests need no sleeping.
"""

from __future__ import annotations

import math

__all__ = ["SlotQueue"]

# Idle time earns at most this much burst credit, in seconds of capacity.
DEFAULT_BURST = 1.0
# Slot times are sums of 1/capacity: rounding must not turn "due now" into a
# wait of 1e-16 s, which queue_timeout=0 would reject.
_EPSILON = 1e-9


class SlotQueue:
    """Slots ``1/capacity`` seconds apart, taken in arrival order.

    After idle time the next free slot may lie in the past, but never more
    than ``burst`` seconds: requests arriving together are then served at once
    until that credit (about ``capacity * burst`` requests) is used up.

    Args:
        capacity: requests per second, > 0.
        queue_timeout: the longest wait a request accepts, in seconds, >= 0.
        burst: seconds of capacity that idle time can bank, >= 0.
    """

    def __init__(
        self, capacity: float, queue_timeout: float, *, burst: float = DEFAULT_BURST
    ) -> None:
        if not (math.isfinite(capacity) and capacity > 0):
            raise ValueError(f"capacity must be a finite number > 0, got {capacity!r}")
        if not (math.isfinite(queue_timeout) and queue_timeout >= 0):
            raise ValueError(f"queue_timeout must be a finite number >= 0, got {queue_timeout!r}")
        if not (math.isfinite(burst) and burst >= 0):
            raise ValueError(f"burst must be a finite number >= 0, got {burst!r}")
        self.capacity = float(capacity)
        self.queue_timeout = float(queue_timeout)
        self.burst = float(burst)
        self._interval = 1.0 / self.capacity
        # A fresh queue is idle: full burst credit.
        self._next_slot = -math.inf

    def take(self, now: float) -> float | None:
        """Claim the next slot for a request arriving at ``now``.

        Returns the seconds to wait until that slot (0 if it is due), or None
        if the wait would exceed ``queue_timeout``: the request is rejected
        and the queue is left as it was.
        """
        slot = max(self._next_slot, now - self.burst)
        wait = slot - now
        if wait <= _EPSILON:
            wait = 0.0
        elif wait > self.queue_timeout + _EPSILON:
            return None
        self._next_slot = slot + self._interval
        return wait

    def backlog(self, now: float) -> float:
        """Seconds until the next free slot as seen at ``now`` (0 if one is due)."""
        return max(0.0, self._next_slot - now)

    def __repr__(self) -> str:
        return (
            f"SlotQueue(capacity={self.capacity}, queue_timeout={self.queue_timeout}, "
            f"burst={self.burst})"
        )
