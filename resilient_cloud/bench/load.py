"""Offering load: closed loop (a few callers, as fast as answers come) or open
loop (calls arrive at a fixed rate whatever happens, as real traffic does).

:func:`run_load` calls from threads (sync clients); :func:`run_load_async`
offers the same load from tasks on one event loop (asyncio clients): the
same calls in the same order and mix, the same number of concurrent callers
(``Load.threads`` tasks instead of threads), the same cap.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from resilient_cloud import hooks
from resilient_cloud.bench.scenarios import Load
from resilient_cloud.fakecloud import REGION_HEADER


@dataclass(frozen=True, slots=True)
class CallRecord:
    kind: str  # "main", or "slow" for the slow dependency
    submitted: float  # seconds since the load started; latency includes queueing
    end: float
    ok: bool
    attempts: int  # requests the client sent for this call
    #: The region whose server sent the answer used (None: failed, or unknown).
    region: str | None = None
    #: Hedges this call sent, and whether a hedge gave the answer used.
    hedges: int = 0
    hedge_won: bool = False


@dataclass
class LoadResult:
    records: list[CallRecord]
    submitted: int
    planned: int
    elapsed: float


@dataclass
class Trace:
    """What one call did, filled in by botocore events and our hooks."""

    sent: int = 0
    hedges: int = 0
    hedge_won: bool = False


class Tracer:
    """Per-call traces, carried by a context variable.

    The variable follows the call into the threads a hedged read runs its
    requests in (resilient_cloud runs each in a copy of the caller's
    context), so requests sent there are counted for the call that sent
    them. ``before_send`` is registered on each subject's session (so the
    clients of fallback regions are counted too); ``hook`` is a
    resilient_cloud hook.
    """

    def __init__(self) -> None:
        self._current: contextvars.ContextVar[Trace | None] = contextvars.ContextVar(
            "bench_trace", default=None
        )

    def before_send(self, **kwargs: object) -> None:
        trace = self._current.get()
        if trace is not None:
            trace.sent += 1

    def hook(self, event: hooks.Event) -> None:
        trace = self._current.get()
        if trace is None:
            return
        if isinstance(event, hooks.HedgeFired):
            trace.hedges += 1
        elif isinstance(event, hooks.HedgeEnded) and event.hedge_won:
            trace.hedge_won = True

    def begin(self) -> tuple[Trace, contextvars.Token[Trace | None]]:
        trace = Trace()
        return trace, self._current.set(trace)

    def end(self, token: contextvars.Token[Trace | None]) -> None:
        self._current.reset(token)


def served_region(response: Any) -> str | None:
    """The region the fake cloud says answered ``response`` (a botocore result)."""
    if not isinstance(response, dict):
        return None
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    region = headers.get(REGION_HEADER)
    return region if isinstance(region, str) else None


def _record(kind: str, submitted: float, started: float, ok: bool, region: str | None, trace: Any) -> CallRecord:
    """One finished call, timed from the load's start."""
    end = time.monotonic() - started
    return CallRecord(kind, submitted, end, ok, trace.sent, region, trace.hedges, trace.hedge_won)


def run_load(
    load: Load,
    calls: Mapping[str, Callable[[], object]],
    tracer: Tracer,
    cap: float,
    started: float,
) -> LoadResult:
    """Offer ``load`` from ``started`` (a ``time.monotonic()`` value) until done
    or ``cap`` seconds; calls still running then are left unfinished."""
    lock = threading.Lock()
    records: list[CallRecord] = []
    deadline = started + cap

    def call(kind: str, submitted: float) -> None:
        trace, token = tracer.begin()
        region = None
        try:
            region = served_region(calls[kind]())
            ok = True
        except Exception:
            ok = False
        finally:
            tracer.end(token)
        record = _record(kind, submitted, started, ok, region, trace)
        with lock:
            records.append(record)

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


#: ``call(kind, submitted_at)``: one logical call, made by the loops below.
SyncCall = Callable[[str, float], None]
AsyncCall = Callable[[str, float], Awaitable[None]]


def _closed_loop(
    load: Load, kinds: Callable[[int], str], call: SyncCall, lock: threading.Lock,
    started: float, deadline: float,
) -> int:
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


def _open_loop(
    load: Load, kinds: Callable[[int], str], call: SyncCall, started: float, deadline: float
) -> int:
    pool = ThreadPoolExecutor(load.threads, thread_name_prefix="bench-call")
    submitted = 0
    futures = []
    for index, offset in enumerate(load.due_times()):
        due = started + offset
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


#: Seconds to wait for calls cancelled at the cap to unwind (their clients'
#: own cleanup: handing back slots, closing connections).
CANCEL_GRACE = 5.0


async def run_load_async(
    load: Load,
    calls: Mapping[str, Callable[[], Awaitable[object]]],
    tracer: Tracer,
    cap: float,
    started: float,
) -> LoadResult:
    """:func:`run_load` for asyncio clients: ``load.threads`` concurrent
    callers are as many tasks on the running loop.

    Closed loop: each task makes the next call as soon as its previous one
    ends. Open loop: calls are queued at the load's rate (each submitted at
    its due time, whether a caller is free or not: latency counts the wait,
    as a thread pool's queue does) and ``load.threads`` tasks take them in
    order. At the cap the records are taken as they are, and the calls
    still running are cancelled (threads past the cap are left running
    until the worker process exits; a task can be stopped at once), so no
    traffic leaks past the measurement."""
    records: list[CallRecord] = []
    deadline = started + cap

    async def call(kind: str, submitted: float) -> None:
        trace, token = tracer.begin()
        region = None
        try:
            region = served_region(await calls[kind]())
            ok = True
        except Exception:
            ok = False
        finally:
            tracer.end(token)
        records.append(_record(kind, submitted, started, ok, region, trace))

    kinds = _kinds(load)
    tasks: list[asyncio.Task[None]] = []
    try:
        if load.rate is None:
            submitted = await _closed_loop_async(load, kinds, call, started, deadline, tasks)
        else:
            submitted = await _open_loop_async(load, kinds, call, started, deadline, tasks)
        elapsed = time.monotonic() - started
        taken = list(records)  # what finished by the cap; later ends are not counted
    finally:
        await _cancel_all(tasks)
    return LoadResult(taken, submitted, load.planned_calls, elapsed)


async def _closed_loop_async(
    load: Load, kinds: Callable[[int], str], call: AsyncCall, started: float, deadline: float,
    tasks: list[asyncio.Task[None]],
) -> int:
    next_index = 0

    async def caller() -> None:
        nonlocal next_index
        while next_index < load.calls and time.monotonic() < deadline:
            index = next_index
            next_index += 1
            await call(kinds(index), time.monotonic() - started)

    tasks += [asyncio.ensure_future(caller()) for _ in range(load.threads)]
    await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    return next_index


async def _open_loop_async(
    load: Load, kinds: Callable[[int], str], call: AsyncCall, started: float, deadline: float,
    tasks: list[asyncio.Task[None]],
) -> int:
    queue: asyncio.Queue[tuple[str, float] | None] = asyncio.Queue()

    async def caller() -> None:
        while (item := await queue.get()) is not None:
            await call(*item)

    tasks += [asyncio.ensure_future(caller()) for _ in range(load.threads)]
    submitted = 0
    for index, offset in enumerate(load.due_times()):
        due = started + offset
        if due >= deadline:
            break
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        queue.put_nowait((kinds(index), due - started))
        submitted += 1
    for _ in tasks:
        queue.put_nowait(None)  # each caller stops once the queue is drained
    await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    return submitted


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the callers still running and let them unwind, for at most
    ``CANCEL_GRACE`` seconds."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=CANCEL_GRACE)
    for task in tasks:  # retrieve every outcome: no "exception never retrieved"
        if task.done() and not task.cancelled():
            task.exception()
