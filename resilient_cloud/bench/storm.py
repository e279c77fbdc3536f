"""A cancellation storm: asyncio calls cancelled mid-flight, then what they
left behind.

Both regions of the fake cloud read every request and never answer
(``blackhole``), so no call can end by itself. Calls start in waves of
``Load.threads`` at once; each is cancelled at a moment drawn from the run's
seed within its first ``HOLD`` seconds: while it waits for a bulkhead slot,
while it connects or waits for its answer, or once its hedge is out. After
the last wave, with nothing else running, the measurement counts what is
still held: bulkhead slots in use and callers queued (``rc.health()``),
tasks other than its own (``asyncio.all_tasks()``), hedges the client's
asyncio driver still counts as open, and connections its aiohttp connectors
still hold for requests. Every wave is bounded in time.
"""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import AsyncExitStack
from typing import Any

import resilient_cloud as rc
from resilient_cloud import hooks
from resilient_cloud._botocore.client import runtime_of
from resilient_cloud.bench.scenarios import TABLE, Scenario
from resilient_cloud.bench.subjects import ASYNC_SUBJECTS, ClientSpec
from resilient_cloud.bench.timeline import apply

KEY = {"pk": {"S": "item-1"}}
#: Each call is cancelled within this many seconds of its start.
HOLD = 0.3
#: Seconds a wave may take to unwind after its last cancellation (a
#: cancelled call unwinds in milliseconds).
WAVE_GRACE = 2.0
#: Seconds the client may take to close at the end.
CLOSE_TIMEOUT = 10.0
#: How often the peak of the bulkhead's use is sampled, in seconds.
SAMPLE_EVERY = 0.01


class _Counts:
    """Requests sent (``before-send``) and hedges fired (a hook)."""

    def __init__(self) -> None:
        self.sent = 0
        self.hedges = 0

    def before_send(self, **kwargs: Any) -> None:
        self.sent += 1

    def hook(self, event: hooks.Event) -> None:
        if isinstance(event, hooks.HedgeFired):
            self.hedges += 1


def _bulkhead(region: str) -> Any:
    for entry in rc.health():
        if entry.endpoint.region == region and entry.bulkhead is not None:
            return entry.bulkhead
    return None


def _awaiting(task: asyncio.Future[Any]) -> str:
    """Where a task is suspended: its chain of awaits, innermost last."""
    where: list[str] = []
    awaited: Any = task.get_coro() if isinstance(task, asyncio.Task) else None
    while awaited is not None and len(where) < 30:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is not None:
            where.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return " > ".join(where) or repr(task)


def _acquired_connections(client: Any) -> int | None:
    """Connections the client's aiohttp connectors hold for requests (private
    aiohttp state, read only here: None if it is not where we expect it)."""
    try:
        sessions = client._endpoint.http_session._sessions or {}
        return sum(len(session.connector._acquired) for session in sessions.values())
    except AttributeError:
        return None


async def measure(spec: dict[str, Any], scenario: Scenario, cloud: Any) -> dict[str, Any]:
    counts = _Counts()
    client_spec = ClientSpec(
        service="dynamodb",
        region=scenario.regions[0],
        connect_timeout=scenario.timeouts[0],
        read_timeout=scenario.timeouts[1],
        # Room for every admitted call and its hedge: the bulkhead, not the
        # connection pool, is what bounds calls in flight here.
        pool_size=2 * scenario.load.threads,
        seed=spec["seed"],
        fallback_regions=tuple(scenario.regions[1:]),
        policy=scenario.resilient_policy,
        before_send=counts.before_send,
        hooks=(counts.hook,),
    )
    for step in scenario.steps:
        apply(cloud, step, spec["seed"])
    draw = random.Random(spec["seed"])
    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    stack = AsyncExitStack()
    peak = {"in_use": 0, "waiting": 0}
    outcomes = {"cancelled": 0, "ended": 0}
    calls_total = scenario.load.calls
    started = time.monotonic()
    close_timed_out = False
    started_calls = 0
    stuck: list[tuple[asyncio.Task[Any], str]] = []
    try:
        client = await ASYNC_SUBJECTS[spec["subject"]](client_spec, stack)
        runtime = runtime_of(client)
        driver = getattr(runtime, "_async_driver", None) if runtime is not None else None
        wave = scenario.load.threads
        deadline = started + scenario.cap

        async def sample() -> None:
            while True:
                state = _bulkhead(client_spec.region)
                if state is not None:
                    peak["in_use"] = max(peak["in_use"], state.in_use)
                    peak["waiting"] = max(peak["waiting"], state.waiting)
                await asyncio.sleep(SAMPLE_EVERY)

        sampler = asyncio.ensure_future(sample())
        try:
            while started_calls < calls_total and time.monotonic() < deadline:
                size = min(wave, calls_total - started_calls)
                tasks = [
                    asyncio.ensure_future(client.get_item(TableName=TABLE, Key=KEY))
                    for _ in range(size)
                ]
                started_calls += size
                for task in tasks:
                    loop.call_later(draw.uniform(0.0, HOLD), task.cancel)
                done, pending = await asyncio.wait(tasks, timeout=HOLD + WAVE_GRACE)
                for task in done:
                    if task.cancelled():
                        outcomes["cancelled"] += 1
                    else:
                        task.exception()  # retrieved: a call that ended by itself
                        outcomes["ended"] += 1
                # Calls still running after their cancellation: kept (they hold
                # what they hold) and counted; the storm goes on.
                stuck += [(task, _awaiting(task)) for task in pending]
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
        # What the cancelled calls left behind, with nothing else running.
        state = _bulkhead(client_spec.region)
        left = [task for task in asyncio.all_tasks() if task is not me and not task.done()]
        after = {
            "bulkhead_in_use": None if state is None else state.in_use,
            "bulkhead_waiting": None if state is None else state.waiting,
            "tasks": len(left),
            "where": sorted({_awaiting(task) for task in left})[:5],
            "calls_stuck_where": sorted({where for _, where in stuck})[:5],
            "hedges_open": None if driver is None else driver._hedging,
            "connections_acquired": _acquired_connections(client),
        }
    finally:
        for task, _ in stuck:
            task.cancel()  # once more, so that closing the client is not held up
        try:
            await asyncio.wait_for(stack.aclose(), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            close_timed_out = True
        if stuck:
            await asyncio.wait([task for task, _ in stuck], timeout=CLOSE_TIMEOUT)
        for task, _ in stuck:
            if task.done() and not task.cancelled():
                task.exception()
    elapsed = time.monotonic() - started
    return {
        "storm": True,
        "calls_planned": calls_total,
        "calls_started": started_calls,
        "calls_finished": outcomes["cancelled"] + outcomes["ended"],
        # Cancelled, yet still running WAVE_GRACE seconds later: their cancellation was lost.
        "unfinished": len(stuck),
        "not_started": calls_total - started_calls,
        "cancelled": outcomes["cancelled"],
        "ended_by_themselves": outcomes["ended"],
        "requests_sent": counts.sent,
        "hedges_fired": counts.hedges,
        "peak_bulkhead_in_use": peak["in_use"],
        "peak_bulkhead_waiting": peak["waiting"],
        "after": after,
        "close_timed_out": close_timed_out,
        "elapsed": elapsed,
        "hold": HOLD,
        "grace": WAVE_GRACE,
    }
