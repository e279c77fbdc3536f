"""The bulkhead's bound holds under many threads.

Slots are really held at once here (threads keep them until an event), so
the peak measured is the bound itself, not 1; and every wait in these tests
has a timeout, so a bulkhead that never hands a slot over fails the test
instead of hanging it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import pytest

from resilient_cloud import Bulkhead
from resilient_cloud._bulkhead import GRANTED, REFUSED, BulkheadState, Ticket, acquire_blocking

#: Seconds any wait in these tests may take before it counts as a failure.
PATIENCE = 10.0


def eventually(condition: Callable[[], bool], what: str, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:g}s: {what}")
        time.sleep(0.001)


def join_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(PATIENCE)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck in the bulkhead"


class Holders:
    """Threads that take a slot (waiting up to ``max_wait``) and hold it until
    told to go; they count how many hold one at once."""

    def __init__(self, bulkhead: BulkheadState, max_wait: float) -> None:
        self.bulkhead = bulkhead
        self.max_wait = max_wait
        self.lock = threading.Lock()
        self.holding = 0
        self.peak = 0
        self.granted = 0
        self.refused = 0
        self.go = threading.Semaphore(0)
        self.threads: list[threading.Thread] = []

    def start(self, count: int) -> None:
        for _ in range(count):
            thread = threading.Thread(target=self._run, daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self) -> None:
        if not acquire_blocking(self.bulkhead, self.max_wait):
            with self.lock:
                self.refused += 1
            return
        with self.lock:
            self.holding += 1
            self.granted += 1
            self.peak = max(self.peak, self.holding)
        try:
            self.go.acquire(timeout=PATIENCE)
        finally:
            with self.lock:
                self.holding -= 1
            self.bulkhead.release()

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return self.granted, self.refused


def test_refuses_past_the_bound_without_a_queue() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=2))
    assert acquire_blocking(bulkhead, 0.0) and acquire_blocking(bulkhead, 0.0)
    assert not acquire_blocking(bulkhead, 0.0)
    bulkhead.release()
    assert acquire_blocking(bulkhead, 0.0)
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.waiting, snapshot.limit, snapshot.rejected) == (2, 0, 2, 1)


def test_releasing_more_than_acquired_is_a_bug() -> None:
    with pytest.raises(RuntimeError, match="^bulkhead released more often than acquired$"):
        BulkheadState(Bulkhead()).release()
    bulkhead = BulkheadState(Bulkhead(max_concurrent=1))
    assert acquire_blocking(bulkhead, 0.0)
    bulkhead.release()
    with pytest.raises(RuntimeError):
        bulkhead.release()
    assert bulkhead.snapshot().in_use == 0


def test_repr_and_snapshot() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=3))
    assert acquire_blocking(bulkhead, 0.0)
    assert repr(bulkhead) == "<BulkheadState 1/3 in use, 0 waiting>"
    snapshot = bulkhead.snapshot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.in_use = 0  # type: ignore[misc]
    assert not hasattr(snapshot, "__dict__")


def test_a_full_queue_refuses_at_once_even_with_time_to_wait() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=1, max_queue=0, max_wait=5.0))
    assert acquire_blocking(bulkhead, 5.0)
    started = time.monotonic()
    assert not acquire_blocking(bulkhead, 5.0)  # no queue: no waiting
    assert time.monotonic() - started < 4.0
    assert bulkhead.snapshot().rejected == 1


def test_no_wait_when_max_wait_is_zero_even_with_a_queue() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=1, max_queue=4, max_wait=5.0))
    assert acquire_blocking(bulkhead, 0.0)
    assert not acquire_blocking(bulkhead, 0.0)
    assert not acquire_blocking(bulkhead, -1.0)
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.waiting, snapshot.rejected) == (1, 0, 2)


def test_a_waiter_gives_up_after_max_wait() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=1, max_queue=1, max_wait=1.0))
    assert acquire_blocking(bulkhead, 0.0)
    started = time.monotonic()
    assert not acquire_blocking(bulkhead, 0.05)
    assert time.monotonic() - started >= 0.04  # it did wait (a lower bound: load only adds)
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.waiting, snapshot.rejected) == (1, 0, 1)
    assert not acquire_blocking(bulkhead, 0.05)  # every refusal counts
    assert bulkhead.snapshot().rejected == 2
    bulkhead.release()
    assert acquire_blocking(bulkhead, 0.05)  # the queue place it held was given back


def test_a_waiter_gets_the_slot_another_thread_frees() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=1, max_queue=1, max_wait=5.0))
    assert acquire_blocking(bulkhead, 0.0)
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(acquire_blocking(bulkhead, PATIENCE)), daemon=True)
    waiter.start()
    eventually(lambda: bulkhead.snapshot().waiting == 1, "the waiter queues")
    assert not acquire_blocking(bulkhead, 5.0)  # the queue (1) is full: refused at once
    assert got == []  # still waiting: the slot is taken
    bulkhead.release()
    join_all([waiter])
    assert got == [True]
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.waiting, snapshot.rejected) == (1, 0, 1)


def test_held_slots_reach_the_bound_and_never_pass_it() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=5))
    holders = Holders(bulkhead, max_wait=0.0)
    holders.start(12)
    eventually(lambda: sum(holders.counts()) == 12, "every caller was answered")
    assert holders.counts() == (5, 7)
    assert holders.peak == 5  # five held at once, not one after another
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.rejected) == (5, 7)
    for _ in range(5):
        holders.go.release()
    join_all(holders.threads)
    assert bulkhead.snapshot().in_use == 0


def test_waiters_take_freed_slots_one_at_a_time_and_never_past_the_bound() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=2, max_queue=3, max_wait=PATIENCE))
    holders = Holders(bulkhead, max_wait=PATIENCE)
    holders.start(2)
    eventually(lambda: holders.counts()[0] == 2, "two holders")
    holders.start(3)
    eventually(lambda: bulkhead.snapshot().waiting == 3, "three waiters queue")
    assert not acquire_blocking(bulkhead, PATIENCE)  # the queue is full: refused at once
    assert holders.counts() == (2, 0)  # nobody got past the bound while it was full
    assert bulkhead.snapshot().in_use == 2
    for released in range(1, 4):
        holders.go.release()  # one holder leaves: exactly one waiter comes in
        eventually(lambda n=released: holders.counts()[0] == 2 + n, f"waiter {released} gets a slot")
        snapshot = bulkhead.snapshot()
        assert (snapshot.in_use, snapshot.waiting) == (2, 3 - released)
    assert holders.peak == 2
    for _ in range(2):
        holders.go.release()
    join_all(holders.threads)
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.waiting, snapshot.rejected) == (0, 0, 1)


def test_never_more_than_the_bound_under_64_threads() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=5, max_queue=64, max_wait=PATIENCE))
    lock = threading.Lock()
    in_use = peak = granted = 0
    full = threading.Event()  # set once five slots were held at the same time

    def worker() -> None:
        nonlocal in_use, peak, granted
        for _ in range(20):
            if not acquire_blocking(bulkhead, PATIENCE):
                continue
            with lock:
                in_use += 1
                granted += 1
                peak = max(peak, in_use)
                if in_use == 5:
                    full.set()
            full.wait(PATIENCE)  # the first holders keep their slots until the bound is reached
            time.sleep(0)  # hold it across a thread switch
            with lock:
                in_use -= 1
            bulkhead.release()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(64)]
    for thread in threads:
        thread.start()
    join_all(threads)
    assert full.is_set() and peak == 5
    assert granted == 64 * 20  # every caller waited its turn: the queue holds them all
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_use, snapshot.waiting, snapshot.rejected) == (0, 0, 0)


# -- the non-blocking interface both drivers wait through ------------------------


def test_try_acquire_grants_queues_or_refuses_and_never_waits() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=1, max_queue=1, max_wait=5.0))
    woken: list[str] = []
    assert bulkhead.try_acquire(True, lambda: woken.append("first")) == GRANTED
    ticket = bulkhead.try_acquire(True, lambda: woken.append("second"))
    assert isinstance(ticket, Ticket) and not ticket.granted
    assert bulkhead.try_acquire(True, lambda: woken.append("third")) == REFUSED  # queue full
    assert bulkhead.try_acquire(False, lambda: None) == REFUSED
    assert woken == []
    bulkhead.release()  # handed to the ticket: woken, and still one slot in use
    assert woken == ["second"] and ticket.granted
    assert (bulkhead.snapshot().in_use, bulkhead.snapshot().waiting) == (1, 0)
    assert ticket.cancel() is False  # granted first: the caller holds the slot
    bulkhead.release()
    assert bulkhead.snapshot().in_use == 0 and bulkhead.snapshot().rejected == 2


def test_tickets_are_served_oldest_first_and_a_cancelled_one_is_skipped() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=1, max_queue=3, max_wait=5.0))
    woken: list[int] = []
    assert bulkhead.try_acquire(True, lambda: None) == GRANTED
    tickets = [bulkhead.try_acquire(True, lambda i=i: woken.append(i)) for i in range(3)]
    assert all(isinstance(ticket, Ticket) for ticket in tickets)
    assert tickets[0].cancel() is True  # gave up before its turn: a refusal
    assert bulkhead.snapshot().waiting == 2 and bulkhead.snapshot().rejected == 1
    bulkhead.release()
    assert woken == [1]
    bulkhead.release()
    assert woken == [1, 2]
    bulkhead.release()
    assert bulkhead.snapshot().in_use == 0


def test_a_queued_ticket_keeps_a_free_slot_from_a_newcomer() -> None:
    # The freed slot went to the ticket, so a newcomer cannot jump the queue.
    bulkhead = BulkheadState(Bulkhead(max_concurrent=1, max_queue=2, max_wait=5.0))
    assert bulkhead.try_acquire(True, lambda: None) == GRANTED
    ticket = bulkhead.try_acquire(True, lambda: None)
    bulkhead.release()
    assert isinstance(ticket, Ticket) and ticket.granted
    assert bulkhead.try_acquire(False, lambda: None) == REFUSED
