"""Runs several policies' fleets, one process per policy, with progress."""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from resilient_cloud.sim import engine
from resilient_cloud.sim.figures import figures, timeline_per_second
from resilient_cloud.sim.scenarios import SimScenario

#: Relative simulation cost of each policy in a collapse (attempts per call).
_COST = {"tenacity-naive": 50, "legacy": 10, "adaptive": 3, "standard": 3, "resilient": 1}


def run_one(scenario: SimScenario, policy: str, seed: int, updates: Any = None) -> dict[str, Any]:
    """One policy's fleet, as a JSON-ready result (in a worker process)."""

    def progress(done: float) -> None:
        if updates is not None:
            updates.put((policy, done))

    fleet = engine.run(scenario, policy, seed=seed, progress=progress)
    return {"figures": figures(fleet), "timeline": timeline_per_second(fleet)}


def run_all(
    scenario: SimScenario, policies: Sequence[str], *, seed: int, processes: int | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Every policy's result, by policy, run side by side in processes
    (one per policy, at most one per core unless ``processes`` says)."""
    workers = processes or min(len(policies), os.cpu_count() or 1)
    if workers <= 1:
        return {p: run_one(scenario, p, seed, _Direct(progress)) for p in policies}
    context = multiprocessing.get_context("spawn")  # no threads or locks inherited
    with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
        updates = manager.Queue()
        # The policies that amplify most take longest: start them first.
        heaviest_first = sorted(policies, key=lambda p: _COST.get(p, 0), reverse=True)
        pending = {pool.submit(run_one, scenario, p, seed, updates): p for p in heaviest_first}
        results: dict[str, dict[str, Any]] = {}
        while len(results) < len(pending):
            try:
                policy, done = updates.get(timeout=0.2)
                if progress is not None:
                    progress(policy, done)
            except queue.Empty:
                pass
            for future, policy in pending.items():
                if policy not in results and future.done():
                    results[policy] = future.result()
        return {p: results[p] for p in policies}


class _Direct:
    """A progress queue that calls back at once (no worker processes)."""

    def __init__(self, progress: Callable[[str, float], None] | None) -> None:
        self._progress = progress

    def put(self, item: tuple[str, float]) -> None:
        if self._progress is not None:
            self._progress(*item)
