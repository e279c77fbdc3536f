"""Offering load: closed loop (a few callers, as fast as answers come) or open
loop (calls arrive at a fixed rate whatever happens, as real traffic does)."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Mapping
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
        end = time.monotonic() - started
        record = CallRecord(
            kind, submitted, end, ok, trace.sent, region, trace.hedges, trace.hedge_won
        )
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
