"""Offering load: closed loop (a few callers, as fast as answers come) or open
loop (calls arrive at a fixed rate whatever happens, as real traffic does)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from resilient_cloud.bench.scenarios import Load


@dataclass(frozen=True, slots=True)
class CallRecord:
    kind: str  # "main", or "slow" for the slow dependency
    submitted: float  # seconds since the load started; latency includes queueing
    end: float
    ok: bool
    attempts: int  # requests the client sent for this call


@dataclass
class LoadResult:
    records: list[CallRecord]
    submitted: int
    planned: int
    elapsed: float


class AttemptCounter:
    """Requests each calling thread sends (botocore's before-send event)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def attach(self, client: object) -> None:
        client.meta.events.register("before-send", self._count)  # type: ignore[attr-defined]

    def _count(self, **kwargs: object) -> None:
        self._local.sent = getattr(self._local, "sent", 0) + 1

    def take(self) -> int:
        sent = getattr(self._local, "sent", 0)
        self._local.sent = 0
        return sent


def run_load(
    load: Load,
    calls: Mapping[str, Callable[[], object]],
    counter: AttemptCounter,
    cap: float,
    started: float,
) -> LoadResult:
    """Offer ``load`` from ``started`` (a ``time.monotonic()`` value) until done
    or ``cap`` seconds; calls still running then are left unfinished."""
    lock = threading.Lock()
    records: list[CallRecord] = []
    deadline = started + cap

    def call(kind: str, submitted: float) -> None:
        try:
            calls[kind]()
            ok = True
        except Exception:
            ok = False
        end = time.monotonic() - started
        with lock:
            records.append(CallRecord(kind, submitted, end, ok, counter.take()))

    kinds = _kinds(load)
    if load.rate is None:
        submitted = _closed_loop(load, kinds, call, lock, started, deadline)
    else:
        submitted = _open_loop(load, kinds, call, started, deadline)
    elapsed = time.monotonic() - started
    with lock:
        return LoadResult(list(records), submitted, load.planned_calls, elapsed)


def _kinds(load: Load) -> Callable[[int], str]:
    """Spread slow calls evenly: call i is slow when the running share says so."""
    share = load.slow_share

    def kind(index: int) -> str:
        return "slow" if share and int((index + 1) * share) > int(index * share) else "main"

    return kind


def _closed_loop(load, kinds, call, lock, started, deadline) -> int:  # type: ignore[no-untyped-def]
    next_index = 0

    def caller() -> None:
        nonlocal next_index
        while True:
            with lock:
                if next_index >= load.calls or time.monotonic() >= deadline:
                    return
                index = next_index
                next_index += 1
            call(kinds(index), time.monotonic() - started)

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(load.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return next_index


def _open_loop(load, kinds, call, started, deadline) -> int:  # type: ignore[no-untyped-def]
    pool = ThreadPoolExecutor(load.threads, thread_name_prefix="bench-call")
    submitted = 0
    futures = []
    for index in range(load.planned_calls):
        due = started + index / load.rate
        now = time.monotonic()
        if due >= deadline:
            break
        if due > now:
            time.sleep(due - now)
        futures.append(pool.submit(call, kinds(index), due - started))
        submitted += 1
    for future in futures:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            future.result(timeout=remaining)
        except Exception:  # a timeout: the call is left unfinished
            break
    pool.shutdown(wait=False, cancel_futures=True)
    return submitted
