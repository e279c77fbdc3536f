"""The bulkhead: a bound on calls in flight to one endpoint (thread-safe).

It never waits itself. :meth:`BulkheadState.try_acquire` answers at once:
a slot (granted), a place in the queue (a :class:`Ticket`), or a refusal.
A released slot goes straight to the oldest ticket, whose ``wake`` callback
the driver supplied: the sync driver sets a ``threading.Event``, the async
one resolves a future on its event loop. So sync and async calls of one
endpoint share one bound and one queue, and each waits in its own way.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass

from resilient_cloud._options import Bulkhead


@dataclass(frozen=True, slots=True)
class BulkheadSnapshot:
    in_use: int
    waiting: int
    limit: int
    rejected: int


class Ticket:
    """A caller's place in the queue. ``wake()`` is called (from whichever
    thread released the slot) when the slot is handed over; without a
    ``wake`` of its own, the ticket can be waited on from a thread
    (:meth:`wait`)."""

    __slots__ = ("wake", "granted", "_bulkhead", "_handed_over")

    def __init__(self, bulkhead: BulkheadState, wake: Callable[[], None] | None) -> None:
        self._handed_over: threading.Event | None = None
        if wake is None:
            self._handed_over = threading.Event()
            wake = self._handed_over.set
        self.wake = wake
        self.granted = False
        self._bulkhead = bulkhead

    def wait(self, timeout: float) -> bool:
        """Block this thread until the slot is handed over (True) or
        ``timeout`` seconds pass (False). Only for tickets without ``wake``."""
        assert self._handed_over is not None, "this ticket has its own wake"
        return self._handed_over.wait(timeout)

    def cancel(self) -> bool:
        """Give up waiting: True when the place was given up (counted as a
        refusal), False when the slot was granted first (the caller holds
        it, and must release it)."""
        return self._bulkhead._cancel(self)


#: ``try_acquire``'s answers that are not a ticket.
GRANTED = "granted"
REFUSED = "refused"


class BulkheadState:
    def __init__(self, options: Bulkhead) -> None:
        self.options = options
        self._in_use = 0
        self._rejected = 0
        self._queue: collections.deque[Ticket] = collections.deque()
        self._lock = threading.Lock()

    def try_acquire(self, may_wait: bool, wake: Callable[[], None] | None = None) -> str | Ticket:
        """:data:`GRANTED` (pair it with :meth:`release`), a :class:`Ticket`
        when ``may_wait`` and the queue has room, else :data:`REFUSED`."""
        options = self.options
        with self._lock:
            if self._in_use < options.max_concurrent and not self._queue:
                self._in_use += 1
                return GRANTED
            if not may_wait or len(self._queue) >= options.max_queue:
                self._rejected += 1
                return REFUSED
            ticket = Ticket(self, wake)
            self._queue.append(ticket)
            return ticket

    def release(self) -> None:
        """Free a slot, or hand it to the oldest ticket."""
        with self._lock:
            if self._in_use <= 0:
                raise RuntimeError("bulkhead released more often than acquired")
            if not self._queue:
                self._in_use -= 1
                return
            ticket = self._queue.popleft()
            ticket.granted = True  # the slot passes on: in_use is unchanged
        ticket.wake()

    def _cancel(self, ticket: Ticket) -> bool:
        with self._lock:
            if ticket.granted:
                return False
            self._queue.remove(ticket)
            self._rejected += 1
            return True

    def snapshot(self) -> BulkheadSnapshot:
        with self._lock:
            return BulkheadSnapshot(
                self._in_use, len(self._queue), self.options.max_concurrent, self._rejected
            )

    def __repr__(self) -> str:
        return (
            f"<BulkheadState {self._in_use}/{self.options.max_concurrent} in use, "
            f"{len(self._queue)} waiting>"
        )


def acquire_blocking(bulkhead: BulkheadState, max_wait: float) -> bool:
    """Take a slot from a thread, waiting up to ``max_wait`` seconds (real
    time: a slot is freed by another call, not by time); False when refused."""
    answer = bulkhead.try_acquire(max_wait > 0)  # nothing to make on the way in: hot path
    if isinstance(answer, str):
        return answer == GRANTED
    if answer.wait(max_wait):
        return True
    return not answer.cancel()
