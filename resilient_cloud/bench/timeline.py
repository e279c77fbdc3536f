"""Carrying out a scenario's steps on time, and sampling what the servers saw."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from resilient_cloud.bench.scenarios import Step
from resilient_cloud.fakecloud import Faults

SAMPLE_EVERY = 0.25  # seconds


def apply(cloud: Any, step: Step) -> None:
    if step.kind == "faults":
        if step.settings:
            cloud.set_faults(step.region, Faults(**step.settings), service=step.service)
        else:
            cloud.clear_faults(step.region)
    elif step.kind == "dns":
        cloud.set_dns(step.region, step.settings["mode"], service=step.service)
    elif step.kind == "tcp":
        cloud.set_tcp(step.region, step.settings["mode"])
    else:  # pragma: no cover - Step's type forbids it
        raise ValueError(f"unknown step kind {step.kind!r}")


class Timeline(threading.Thread):
    """Applies the steps due after the load started and samples, every
    ``SAMPLE_EVERY`` seconds, the total requests every region has received."""

    def __init__(self, cloud: Any, steps: Sequence[Step], regions: Sequence[str], started: float) -> None:
        super().__init__(daemon=True, name="bench-timeline")
        self._cloud = cloud
        self._steps = sorted((s for s in steps if s.at > 0), key=lambda s: s.at)
        self._regions = tuple(regions)
        self._load_started = started
        self._stop_event = threading.Event()
        self.samples: list[tuple[float, int]] = []
        self.errors: list[str] = []

    def requests_seen(self) -> int:
        return sum(self._cloud.stats(region)["requests"] for region in self._regions)

    def run(self) -> None:
        pending = list(self._steps)
        while not self._stop_event.is_set():
            now = time.monotonic() - self._load_started
            while pending and pending[0].at <= now:
                try:
                    apply(self._cloud, pending.pop(0))
                except Exception as error:  # reported, never silently lost
                    self.errors.append(repr(error))
            self.samples.append((now, self.requests_seen()))
            self._stop_event.wait(SAMPLE_EVERY)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5.0)
        self.samples.append((time.monotonic() - self._load_started, self.requests_seen()))
