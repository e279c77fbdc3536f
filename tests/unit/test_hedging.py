"""The hedge delay estimator, its counters, and the pool bounding hedged calls."""

from __future__ import annotations

import os
import random
import threading

import pytest

from resilient_cloud import Hedge
from resilient_cloud._hedging import SAMPLES, HedgePool, HedgeSnapshot, HedgeState

from .test_registry import fork_while_held


def test_a_fixed_delay_ignores_observed_latencies() -> None:
    state = HedgeState(Hedge(delay=0.2, min_samples=1))
    assert state.delay() == 0.2
    for _ in range(100):
        state.observe(5.0)
    assert state.delay() == 0.2


def test_max_delay_until_min_samples_are_known() -> None:
    state = HedgeState(Hedge(min_samples=5, min_delay=0.01, max_delay=1.0))
    assert state.delay() == 1.0
    for _ in range(4):
        state.observe(0.05)
        assert state.delay() == 1.0
    state.observe(0.05)
    assert state.delay() == 0.05


def test_the_delay_is_the_percentile_of_observed_latencies() -> None:
    state = HedgeState(Hedge(percentile=95.0, min_samples=20, min_delay=0.001, max_delay=10.0))
    latencies = [i / 100 for i in range(1, 101)]  # 0.01 .. 1.00
    random.Random(3).shuffle(latencies)
    for latency in latencies:
        state.observe(latency)
    assert state.delay() == pytest.approx(0.95)  # nearest rank
    state = HedgeState(Hedge(percentile=50.0, min_samples=20, min_delay=0.001, max_delay=10.0))
    for latency in latencies:
        state.observe(latency)
    assert state.delay() == pytest.approx(0.50)


def test_the_delay_is_clamped_to_min_and_max_delay() -> None:
    fast = HedgeState(Hedge(min_samples=3, min_delay=0.02, max_delay=0.5))
    for _ in range(3):
        fast.observe(0.001)
    assert fast.delay() == 0.02
    slow = HedgeState(Hedge(min_samples=3, min_delay=0.02, max_delay=0.5))
    for _ in range(3):
        slow.observe(30.0)
    assert slow.delay() == 0.5


def test_only_the_last_256_latencies_count() -> None:
    assert SAMPLES == 256
    state = HedgeState(Hedge(percentile=99.9, min_samples=20, min_delay=0.001, max_delay=10.0))
    for _ in range(1000):
        state.observe(5.0)  # an old slow period
    for _ in range(SAMPLES - 1):
        state.observe(0.1)
    assert state.delay() == 5.0  # one slow sample is still in the window
    state.observe(0.1)
    assert state.delay() == 0.1  # every slow one has left it


def test_counters_and_snapshot() -> None:
    state = HedgeState(Hedge(delay=0.3))
    assert state.snapshot() == HedgeSnapshot(fired=0, won=0, refused=0, delay=0.3)
    state.count(fired=True, won=True)
    state.count(fired=True, won=False)
    state.count(fired=True)
    state.count(fired=False)
    state.count(fired=False, won=True)  # a refused hedge cannot win
    assert state.snapshot() == HedgeSnapshot(fired=3, won=1, refused=2, delay=0.3)


def test_snapshot_reports_the_current_estimate() -> None:
    state = HedgeState(Hedge(min_samples=2, min_delay=0.01, max_delay=1.0))
    assert state.snapshot().delay == 1.0
    state.observe(0.2)
    state.observe(0.2)
    assert state.snapshot().delay == 0.2


def test_the_pool_admits_at_most_max_concurrent_hedged_calls() -> None:
    pool = HedgePool(2)
    assert pool.try_enter() and pool.try_enter()
    assert not pool.try_enter()  # the third call goes unhedged
    pool.leave()
    assert pool.try_enter()
    pool.leave()
    pool.leave()
    with pytest.raises(ValueError):
        pool.leave()  # more leaves than entries is a bug, not a silent slot


def test_the_pool_runs_legs_in_named_threads() -> None:
    pool = HedgePool(1)
    executor = pool.executor()
    assert pool.executor() is executor
    name = executor.submit(lambda: threading.current_thread().name).result(timeout=10)
    assert name.startswith("resilient-cloud-hedge")
    executor.shutdown(wait=True)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_the_pool_was_busy_gets_a_fresh_pool() -> None:
    """Forked while the parent's threads held the pool's locks and its only
    slot: the child's pool has its own slot, lock and threads."""
    pool = HedgePool(1)
    assert pool.try_enter()
    parent_executor = pool.executor()

    def child() -> bool:
        executor = pool.executor()  # the parent's lock was held at fork
        name = executor.submit(lambda: threading.current_thread().name).result(timeout=5)
        fresh = executor is not parent_executor and name.startswith("resilient-cloud-hedge")
        entered = pool.try_enter()  # the parent's slot holder does not run here
        full = not pool.try_enter()
        pool.leave()
        return fresh and entered and full

    fork_while_held((pool._lock, pool._slots._cond), child)
    assert not pool.try_enter()  # the parent's slot is still taken
    pool.leave()
    parent_executor.shutdown(wait=True)
