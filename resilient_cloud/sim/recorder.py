"""What a simulated fleet did, per time bucket, in fixed memory per bucket.

Calls are counted by the bucket they were submitted in (for success and
recovery) and by the bucket they ended in (goodput); attempts by the bucket
they were sent in; the service's useful and wasted work and its queue by
sampling it at each bucket's end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Timeline:
    """Per-bucket counts (per bucket, not per second)."""

    bucket: float
    offered: list[int]
    succeeded_by_submit: list[int]
    refused_by_submit: list[int]
    goodput: list[int]
    attempts: list[int]
    requests: list[int]
    useful: list[int]
    wasted: list[int]
    queue: list[float]
    capacity: list[float]
    #: Seconds callers were held by a client-side rate limiter, by submit bucket.
    held: list[float] = field(default_factory=list)


class Recorder:
    """Counts a fleet's calls and attempts into buckets of ``bucket`` seconds."""

    def __init__(self, horizon: float, bucket: float) -> None:
        n = max(1, math.ceil(horizon / bucket))
        self.bucket = bucket
        self._n = n
        zeros = [0] * n
        self.timeline = Timeline(
            bucket=bucket, offered=list(zeros), succeeded_by_submit=list(zeros),
            refused_by_submit=list(zeros), goodput=list(zeros), attempts=list(zeros),
            requests=list(zeros), useful=list(zeros), wasted=list(zeros),
            queue=[0.0] * n, capacity=[0.0] * n, held=[0.0] * n,
        )
        self.calls = 0
        self.finished = 0
        self.total_attempts = 0
        self.max_held = 0.0
        #: The longest any call took, submission to end.
        self.longest = 0.0

    def index(self, t: float) -> int:
        return min(self._n - 1, int(t / self.bucket))

    def submitted(self, t: float) -> None:
        self.calls += 1
        self.timeline.offered[self.index(t)] += 1

    def attempt(self, t: float) -> None:
        self.total_attempts += 1
        self.timeline.attempts[self.index(t)] += 1

    def ended(self, submitted: float, now: float, ok: bool, attempts: int, held: float = 0.0) -> None:
        """A call ended: ``attempts`` it sent (0: refused without sending),
        ``held`` seconds it waited for a client-side rate limiter."""
        self.finished += 1
        self.longest = max(self.longest, now - submitted)
        timeline = self.timeline
        start = self.index(submitted)
        if ok:
            timeline.succeeded_by_submit[start] += 1
            timeline.goodput[self.index(now)] += 1
        elif attempts == 0:
            timeline.refused_by_submit[start] += 1
        if held:
            timeline.held[start] += held
            self.max_held = max(self.max_held, held)

    def sample(self, t: float, requests: int, useful: int, wasted: int, queue: float,
               capacity: float) -> None:
        """The service's counters over the bucket ending at ``t``."""
        index = self.index(t - self.bucket / 2)
        timeline = self.timeline
        timeline.requests[index] = requests
        timeline.useful[index] = useful
        timeline.wasted[index] = wasted
        timeline.queue[index] = queue
        timeline.capacity[index] = capacity
