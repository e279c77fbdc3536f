"""Carrying out a scenario's steps on time, and sampling what the servers saw."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from resilient_cloud.bench.scenarios import Step
from resilient_cloud.fakecloud import Faults

SAMPLE_EVERY = 0.25  # seconds


def apply(cloud: Any, step: Step, seed: int | None = None) -> None:
    """Carry out ``step``; faults a step does not seed draw from ``seed``
    (the run's), so a run's server-side faults are reproducible."""
    if step.kind == "faults":
        if step.settings:
            settings = {"seed": seed, **step.settings}
            cloud.set_faults(step.region, Faults(**settings), service=step.service)
        else:
            cloud.clear_faults(step.region)
    elif step.kind == "dns":
        cloud.set_dns(step.region, step.settings["mode"], service=step.service)
    elif step.kind == "tcp":
        cloud.set_tcp(step.region, step.settings["mode"])
    else:  # pragma: no cover - Step's type forbids it
        raise ValueError(f"unknown step kind {step.kind!r}")


class Timeline(threading.Thread):
    """Applies the steps due after the load started, each on time (it wakes
    for a step's due time, not only every sample), notes when each one took
    effect, and samples, every ``SAMPLE_EVERY`` seconds, the total requests
    every region has received."""

    def __init__(
        self, cloud: Any, steps: Sequence[Step], regions: Sequence[str], started: float,
        seed: int | None = None,
    ) -> None:
        super().__init__(daemon=True, name="bench-timeline")
        self._cloud = cloud
        self._steps = sorted((s for s in steps if s.at > 0), key=lambda s: s.at)
        self._regions = tuple(regions)
        self._load_started = started
        self._seed = seed
        self._stop_event = threading.Event()
        self.samples: list[tuple[float, int]] = []
        #: (due, done): seconds into the load when each step was due, and
        #: when the change had been made (the control request answered).
        self.applied: list[tuple[float, float]] = []
        self.errors: list[str] = []

    @property
    def load_started(self) -> float:
        """The ``time.monotonic()`` at which the load started."""
        return self._load_started

    def requests_seen(self) -> int:
        return sum(self._cloud.stats(region)["requests"] for region in self._regions)

    def run(self) -> None:
        pending = list(self._steps)
        next_sample = 0.0
        while not self._stop_event.is_set():
            now = self._now()
            while pending and pending[0].at <= now:
                step = pending.pop(0)
                try:
                    apply(self._cloud, step, self._seed)
                    self.applied.append((step.at, self._now()))
                except Exception as error:  # reported, never silently lost
                    self.errors.append(repr(error))
            now = self._now()
            if now >= next_sample:
                self.samples.append((now, self.requests_seen()))
                next_sample = now + SAMPLE_EVERY
            wake = next_sample if not pending else min(next_sample, pending[0].at)
            self._stop_event.wait(max(0.0, wake - self._now()))

    def fault_window(self, window: tuple[float, float] | None) -> tuple[float, float] | None:
        """``window`` as the steps that open and close it actually took
        effect (the nominal times where a step did not apply)."""
        if window is None:
            return None
        done = dict(self.applied)
        return done.get(window[0], window[0]), done.get(window[1], window[1])

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5.0)
        self.samples.append((self._now(), self.requests_seen()))

    def _now(self) -> float:
        return time.monotonic() - self._load_started
