"""One subject on one scenario, in a process of its own.

A fresh process gives every subject fresh library state, and killing it at
the time cap stops every thread still retrying, so no traffic leaks into the
next subject's counts. Prints one JSON line with what the client side saw.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from resilient_cloud.bench.scenarios import REGION, SCENARIOS, TABLE
from resilient_cloud.bench.stats import percentile
from resilient_cloud.bench.subjects import SUBJECTS, operation
from resilient_cloud.fakecloud._resolver import Resolver


class AttemptCounter:
    """Counts the requests each calling thread sends (botocore's before-send)."""

    def __init__(self, client: Any) -> None:
        self._local = threading.local()
        client.meta.events.register("before-send", self._count)

    def _count(self, **kwargs: Any) -> None:
        self._local.sent = getattr(self._local, "sent", 0) + 1

    def take(self) -> int:
        sent = getattr(self._local, "sent", 0)
        self._local.sent = 0
        return sent


def run(spec: dict[str, Any]) -> dict[str, Any]:
    scenario = SCENARIOS[spec["scenario"]].sized(False, spec["calls"], spec["cap"])
    addresses = {region: tuple(address) for region, address in spec["addresses"].items()}
    Resolver(addresses).install()
    client = SUBJECTS[spec["subject"]](REGION, scenario.threads, spec["seed"])
    counter = AttemptCounter(client)
    get_item = operation(client, spec["subject"], "get_item")
    key = {"pk": {"S": "item-1"}}

    lock = threading.Lock()
    started = 0
    records: list[tuple[float, float, bool, int]] = []
    began = time.monotonic()
    deadline = began + scenario.cap

    def worker() -> None:
        nonlocal started
        while True:
            with lock:
                if started >= scenario.calls or time.monotonic() >= deadline:
                    return
                started += 1
            t0 = time.monotonic()
            try:
                get_item(TableName=TABLE, Key=key)
                ok = True
            except Exception:
                ok = False
            t1 = time.monotonic()
            with lock:
                records.append((t0 - began, t1 - began, ok, counter.take()))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(scenario.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    elapsed = time.monotonic() - began
    with lock:
        finished = list(records)
        started_calls = started
    latencies = [end - start for start, end, _, _ in finished]
    return {
        "calls_planned": scenario.calls,
        "calls_started": started_calls,
        "calls_finished": len(finished),
        "unfinished": started_calls - len(finished),
        "not_started": scenario.calls - started_calls,
        "successes": sum(ok for _, _, ok, _ in finished),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "attempts_per_finished_call": (
            sum(sent for *_, sent in finished) / len(finished) if finished else None
        ),
        "elapsed": elapsed,
        "timeline": [(round(s, 4), round(e, 4), ok) for s, e, ok, _ in finished],
    }


def main() -> None:
    result = run(json.loads(sys.argv[1]))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    # Threads still inside a retry loop past the cap must not keep sending.
    os._exit(0)


if __name__ == "__main__":
    main()
