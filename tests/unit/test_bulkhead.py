"""The bulkhead's bound holds under many threads."""

from __future__ import annotations

import threading

import pytest

from resilient_cloud import Bulkhead
from resilient_cloud._bulkhead import BulkheadState


def test_refuses_past_the_bound_without_a_queue() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=2))
    assert bulkhead.acquire(0.0) and bulkhead.acquire(0.0)
    assert not bulkhead.acquire(0.0)
    bulkhead.release()
    assert bulkhead.acquire(0.0)
    assert bulkhead.snapshot().rejected == 1


def test_releasing_more_than_acquired_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        BulkheadState(Bulkhead()).release()


def test_a_waiter_gets_the_slot_another_thread_frees() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=1, max_queue=1, max_wait=5.0))
    assert bulkhead.acquire(0.0)
    got = []
    waiter = threading.Thread(target=lambda: got.append(bulkhead.acquire(5.0)))
    waiter.start()
    while bulkhead.snapshot().waiting == 0:
        threading.Event().wait(0.001)
    assert not bulkhead.acquire(5.0)  # the queue (1) is full: refused at once
    bulkhead.release()
    waiter.join(5.0)
    assert got == [True]


def test_never_more_than_the_bound_under_64_threads() -> None:
    bulkhead = BulkheadState(Bulkhead(max_concurrent=5, max_queue=8, max_wait=0.05))
    lock = threading.Lock()
    in_use = 0
    peak = 0
    granted = 0

    def worker() -> None:
        nonlocal in_use, peak, granted
        for _ in range(200):
            if not bulkhead.acquire(0.05):
                continue
            with lock:
                in_use += 1
                granted += 1
                peak = max(peak, in_use)
            with lock:
                in_use -= 1
            bulkhead.release()

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak <= 5
    assert granted > 0
    assert bulkhead.snapshot().in_use == 0
