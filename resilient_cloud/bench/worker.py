"""One subject on one scenario, in a process of its own.

A fresh process gives every subject fresh library state (and fresh botocore
clients), and leaving it at the time cap stops every thread still retrying,
so no traffic leaks into the next subject's counts. Processes are forked from
a multiprocessing fork server that has already imported boto3 and this
package, which saves most of a second per run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

import resilient_cloud as rc
from resilient_cloud import hooks
from resilient_cloud.bench import metrics
from resilient_cloud.bench.load import LoadResult, Tracer, run_load, run_load_async
from resilient_cloud.bench.observe import Observer
from resilient_cloud.bench.scenarios import PRIMARY, SCENARIOS, TABLE, Scenario
from resilient_cloud.bench.subjects import (
    ASYNC_SUBJECTS,
    HEDGED_SUBJECTS,
    RESILIENT_SUBJECTS,
    SUBJECTS,
    ClientSpec,
    operation,
)
from resilient_cloud.bench.timeline import Timeline, apply
from resilient_cloud.fakecloud import RemoteCloud

KEY = {"pk": {"S": "item-1"}}
BUCKET = "bench-objects"
OBJECT = "object-1"


class Switches:
    """A hook noting when calls moved region (RegionSwitched) and when
    breakers changed state (BreakerStateChanged): what decides failover
    and failback."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.regions: list[dict[str, Any]] = []
        self.breakers: list[dict[str, Any]] = []

    def __call__(self, event: hooks.Event) -> None:
        if isinstance(event, hooks.RegionSwitched):
            self.regions.append({
                "t": self._now(), "before": event.before, "after": event.after,
                "reason": event.reason,
            })
        elif isinstance(event, hooks.BreakerStateChanged):
            self.breakers.append({
                "t": self._now(), "endpoint": event.endpoint, "before": event.before,
                "after": event.after, "reason": event.reason,
            })

    def _now(self) -> float:
        return round(time.monotonic() - self.started, 3)


def client_spec(
    spec: dict[str, Any], scenario: Scenario, tracer: Tracer, switches: Switches,
    observer: Observer | None = None,
) -> ClientSpec:
    """What the subject's clients get: the scenario's timeouts, a pool as
    large as its callers, the run's seed, the fallback regions."""
    return ClientSpec(
        service="dynamodb",
        region=PRIMARY,
        connect_timeout=scenario.timeouts[0],
        read_timeout=scenario.timeouts[1],
        pool_size=scenario.load.threads,
        seed=spec["seed"],
        fallback_regions=tuple(scenario.regions[1:]),
        policy=scenario.resilient_policy,
        before_send=tracer.before_send,
        hooks=(tracer.hook, switches) + ((observer,) if observer is not None else ()),
    )


def _calls(
    spec: dict[str, Any], scenario: Any, tracer: Tracer, switches: Switches,
    observer: Observer | None,
) -> dict[str, Any]:
    subject = spec["subject"]
    specs = client_spec(spec, scenario, tracer, switches, observer)
    ddb = SUBJECTS[subject](specs)
    get_item = operation(ddb, subject, "get_item")
    calls = {"main": lambda: get_item(TableName=TABLE, Key=KEY)}
    if scenario.load.slow_share:
        s3 = SUBJECTS[subject](replace(specs, service="s3", fallback_regions=()))
        get_object = operation(s3, subject, "get_object")
        calls["slow"] = lambda: get_object(Bucket=BUCKET, Key=OBJECT)["Body"].read()
    return calls


async def _calls_async(
    spec: dict[str, Any], scenario: Any, tracer: Tracer, switches: Switches,
    observer: Observer | None, stack: AsyncExitStack,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The asyncio subject's calls (the same operations as :func:`_calls`),
    and what its client says about itself (its retry mode)."""
    make = ASYNC_SUBJECTS[spec["subject"]]
    specs = client_spec(spec, scenario, tracer, switches, observer)
    ddb = await make(specs, stack)

    async def get_item() -> Any:
        return await ddb.get_item(TableName=TABLE, Key=KEY)

    calls: dict[str, Any] = {"main": get_item}
    if scenario.load.slow_share:
        s3 = await make(replace(specs, service="s3", fallback_regions=()), stack)

        async def get_object() -> Any:
            answer = await s3.get_object(Bucket=BUCKET, Key=OBJECT)
            async with answer["Body"] as body:
                await body.read()
            return answer

        calls["slow"] = get_object
    return calls, {"retries": dict(ddb.meta.config.retries or {})}


def _health() -> list[dict[str, Any]]:
    """The library's own view at the end (``rc.health()``): where calls
    start, hedges fired and won, breakers; for cross-checking our counts."""
    entries = []
    for entry in rc.health():
        routing, hedging, breaker = entry.routing, entry.hedging, entry.breaker
        entries.append({
            "endpoint": str(entry.endpoint),
            "breaker": None if breaker is None else breaker.state.value,
            "routing": None if routing is None else {
                "region": routing.region, "switches": routing.switches, "reason": routing.reason,
            },
            "hedging": None if hedging is None else {
                "fired": hedging.fired, "won": hedging.won, "refused": hedging.refused,
                "delay": hedging.delay,
            },
        })
    return entries


def run(
    spec: dict[str, Any], send_sample: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Measure one subject on one scenario; ``send_sample`` gets the
    resilient subjects' health samples as they are taken (the live view)."""
    scenario = SCENARIOS[spec["scenario"]].sized(spec["quick"], spec["calls"], spec["cap"])
    cloud = RemoteCloud(spec["cloud"])
    cloud.resolver().install()
    tracer = Tracer()
    switches = Switches(time.monotonic())
    if scenario.measurement == "cancel-storm":
        from resilient_cloud.bench import storm

        return asyncio.run(storm.measure(spec, scenario, cloud))
    resilient = spec["subject"] in RESILIENT_SUBJECTS
    observer = Observer(send_sample) if resilient else None
    client: dict[str, Any] = {}
    if spec["subject"] in ASYNC_SUBJECTS:
        result, timeline, client = asyncio.run(
            _load_async(spec, scenario, cloud, tracer, switches, observer)
        )
    else:
        calls = _calls(spec, scenario, tracer, switches, observer)
        _apply_initial(cloud, scenario, spec)
        timeline = _timeline(cloud, scenario, spec, switches, observer)
        result = run_load(scenario.load, calls, tracer, scenario.cap, timeline.load_started)
        timeline.stop()
    if observer is not None:
        observer.stop()
    fault = timeline.fault_window(scenario.window)
    return {
        **metrics.summarize(
            result.records, result.submitted, result.planned, fault,
            primary=PRIMARY if len(scenario.regions) > 1 else None,
            hedged=spec["subject"] in HEDGED_SUBJECTS,
        ),
        "window_planned": list(scenario.window) if scenario.window else None,
        "steps_applied": timeline.applied,
        "elapsed": result.elapsed,
        "timeline": metrics.timeline(result.records, timeline.samples, result.elapsed),
        "dns_lookups": cloud.resolver().lookups(),
        "step_errors": timeline.errors,
        "region_switches": switches.regions if resilient else None,
        "breaker_changes": switches.breakers if resilient else None,
        "health": _health() if resilient else None,
        "telemetry": None if observer is None else {
            "samples": observer.samples, "metrics": observer.exported_metrics(),
        },
        **({"client": client} if client else {}),
    }


def _apply_initial(cloud: Any, scenario: Scenario, spec: dict[str, Any]) -> None:
    """The steps in force from the start (an outage, a slow tail)."""
    for step in scenario.steps:
        if step.at <= 0:
            apply(cloud, step, spec["seed"])


def _timeline(
    cloud: Any, scenario: Scenario, spec: dict[str, Any], switches: Switches,
    observer: Observer | None,
) -> Timeline:
    """Start the clock of the load, the thread that applies its steps, and
    the observer's sampling."""
    started = time.monotonic()
    switches.started = started
    timeline = Timeline(cloud, scenario.steps, scenario.regions, started, spec["seed"])
    timeline.start()
    if observer is not None:
        observer.begin(started)
    return timeline


async def _load_async(
    spec: dict[str, Any], scenario: Scenario, cloud: Any, tracer: Tracer, switches: Switches,
    observer: Observer | None,
) -> tuple[LoadResult, Timeline, dict[str, Any]]:
    """The load of an asyncio subject, on this loop: clients entered (and
    exited after the load), then the same timeline and load as a sync run."""
    stack = AsyncExitStack()
    client: dict[str, Any] = {}
    try:
        calls, client = await _calls_async(spec, scenario, tracer, switches, observer, stack)
        _apply_initial(cloud, scenario, spec)
        timeline = _timeline(cloud, scenario, spec, switches, observer)
        try:
            result = await run_load_async(
                scenario.load, calls, tracer, scenario.cap, timeline.load_started
            )
        finally:
            timeline.stop()
    finally:
        # Closing the clients (their fallback clients, connections) is bounded too.
        try:
            await asyncio.wait_for(stack.aclose(), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            client = {**client, "close_timed_out": True}
    return result, timeline, client


#: Seconds an asyncio subject's clients may take to close after the load.
CLOSE_TIMEOUT = 10.0


def child_main(spec: dict[str, Any], environment: dict[str, str], answer: Connection) -> None:
    """Entry point in a process forked for one run: measure, answer, exit."""
    os.environ.clear()
    os.environ.update(environment)
    # The library's warnings (a budget running dry) are part of what is
    # measured, not output: keep them off the benchmark's console.
    logging.getLogger("resilient_cloud").addHandler(logging.NullHandler())
    logging.getLogger("resilient_cloud").propagate = False
    lock = threading.Lock()  # the sampler's thread and this one share the pipe

    def send(message: tuple[str, Any]) -> None:
        with lock:
            answer.send(message)

    try:
        result = run(spec, (lambda sample: send(("sample", sample))) if spec.get("live") else None)
        send(("ok", result))
    except BaseException as error:  # reported to the parent, which raises it
        send(("error", "".join(traceback.format_exception(error))))
    finally:
        answer.close()
        # Threads still inside a retry loop past the cap must not keep sending.
        os._exit(0)
