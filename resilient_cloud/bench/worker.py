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

from resilient_cloud.bench import metrics
from resilient_cloud.bench.load import AttemptCounter, run_load
from resilient_cloud.bench.scenarios import PRIMARY, SCENARIOS, TABLE
from resilient_cloud.bench.subjects import SUBJECTS, ClientSpec, operation
from resilient_cloud.bench.timeline import Timeline, apply
from resilient_cloud.fakecloud import RemoteCloud

KEY = {"pk": {"S": "item-1"}}
BUCKET = "bench-objects"
OBJECT = "object-1"


def _calls(spec: dict[str, Any], scenario: Any, counter: AttemptCounter) -> dict[str, Any]:
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
    )
    ddb = SUBJECTS[subject](client_spec)
    counter.attach(ddb)
    get_item = operation(ddb, subject, "get_item")
    calls = {"main": lambda: get_item(TableName=TABLE, Key=KEY)}
    if scenario.load.slow_share:
        s3 = SUBJECTS[subject](replace(client_spec, service="s3", fallback_regions=()))
        counter.attach(s3)
        get_object = operation(s3, subject, "get_object")
        calls["slow"] = lambda: get_object(Bucket=BUCKET, Key=OBJECT)["Body"].read()
    return calls


def run(spec: dict[str, Any]) -> dict[str, Any]:
    scenario = SCENARIOS[spec["scenario"]].sized(spec["quick"], spec["calls"], spec["cap"])
    cloud = RemoteCloud(spec["cloud"])
    cloud.resolver().install()
    counter = AttemptCounter()
    calls = _calls(spec, scenario, counter)
    for step in scenario.steps:
        if step.at <= 0:
            apply(cloud, step)
    started = time.monotonic()
    timeline = Timeline(cloud, scenario.steps, scenario.regions, started)
    timeline.start()
    result = run_load(scenario.load, calls, counter, scenario.cap, started)
    timeline.stop()
    return {
        **metrics.summarize(result.records, result.submitted, result.planned, scenario.window),
        "elapsed": result.elapsed,
        "timeline": metrics.timeline(result.records, timeline.samples, result.elapsed),
        "dns_lookups": cloud.resolver().lookups(),
        "step_errors": timeline.errors,
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
