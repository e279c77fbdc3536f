"""One subject on one scenario, in a process of its own.

A fresh process gives every subject fresh library state (and fresh botocore
clients), and leaving it at the time cap stops every thread still retrying,
so no traffic leaks into the next subject's counts. Processes are forked from
a multiprocessing fork server that has already imported boto3 and this
package, which saves most of a second per run.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

import resilient_cloud as rc
from resilient_cloud import hooks
from resilient_cloud.bench import metrics
from resilient_cloud.bench.load import Tracer, run_load
from resilient_cloud.bench.scenarios import PRIMARY, SCENARIOS, TABLE
from resilient_cloud.bench.subjects import (
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


def _calls(
    spec: dict[str, Any], scenario: Any, tracer: Tracer, switches: Switches
) -> dict[str, Any]:
    subject = spec["subject"]
    client_spec = ClientSpec(
        service="dynamodb",
        region=PRIMARY,
        connect_timeout=scenario.timeouts[0],
        read_timeout=scenario.timeouts[1],
        pool_size=scenario.load.threads,
        seed=spec["seed"],
        fallback_regions=tuple(scenario.regions[1:]),
        policy=scenario.resilient_policy,
        before_send=tracer.before_send,
        hooks=(tracer.hook, switches),
    )
    ddb = SUBJECTS[subject](client_spec)
    get_item = operation(ddb, subject, "get_item")
    calls = {"main": lambda: get_item(TableName=TABLE, Key=KEY)}
    if scenario.load.slow_share:
        s3 = SUBJECTS[subject](replace(client_spec, service="s3", fallback_regions=()))
        get_object = operation(s3, subject, "get_object")
        calls["slow"] = lambda: get_object(Bucket=BUCKET, Key=OBJECT)["Body"].read()
    return calls


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


def run(spec: dict[str, Any]) -> dict[str, Any]:
    scenario = SCENARIOS[spec["scenario"]].sized(spec["quick"], spec["calls"], spec["cap"])
    cloud = RemoteCloud(spec["cloud"])
    cloud.resolver().install()
    tracer = Tracer()
    switches = Switches(time.monotonic())
    calls = _calls(spec, scenario, tracer, switches)
    for step in scenario.steps:
        if step.at <= 0:
            apply(cloud, step, spec["seed"])
    started = time.monotonic()
    switches.started = started
    timeline = Timeline(cloud, scenario.steps, scenario.regions, started, spec["seed"])
    timeline.start()
    result = run_load(scenario.load, calls, tracer, scenario.cap, started)
    timeline.stop()
    fault = timeline.fault_window(scenario.window)
    resilient = spec["subject"] in RESILIENT_SUBJECTS
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
    }


def child_main(spec: dict[str, Any], environment: dict[str, str], answer: Connection) -> None:
    """Entry point in a process forked for one run: measure, answer, exit."""
    os.environ.clear()
    os.environ.update(environment)
    # The library's warnings (a budget running dry) are part of what is
    # measured, not output: keep them off the benchmark's console.
    logging.getLogger("resilient_cloud").addHandler(logging.NullHandler())
    logging.getLogger("resilient_cloud").propagate = False
    try:
        answer.send(("ok", run(spec)))
    except BaseException as error:  # reported to the parent, which raises it
        answer.send(("error", "".join(traceback.format_exception(error))))
    finally:
        answer.close()
        # Threads still inside a retry loop past the cap must not keep sending.
        os._exit(0)
