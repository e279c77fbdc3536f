"""The simulated service: a capacity, a bounded queue, server-side work and
the triggers that change them.

The server works through a FIFO backlog at ``capacity(t)`` requests per
second. A request joins the backlog (or is shed at once when it holds
``queue_limit``), waits for the requests before it at the capacity of the
moment, and is answered ``base_latency`` after its turn. Nothing tells the
server that a client gave up: a request whose client timed out while it
queued is still worked on when its turn comes. That work is **wasted**, and
it is how congestive collapse sustains itself (Bronson et al., HotOS 2021):
retries of timed-out requests fill the queue, every answer comes too late,
and goodput stays near zero after the trigger is gone.

Kept analytic (a backlog drained at each arrival, not a process per
request), so a request costs O(1) and a fleet's millions of attempts fit
in minutes. The service's own randomness (which requests are throttled)
comes from its own seeded generator, so every policy meets the same faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from resilient_cloud.sim.triggers import Trigger

# What an attempt meets, as the client sees it.
OK = "ok"
SERVER_ERROR = "server-error"  # 500 InternalServerError, answered at once
SHED = "shed"  # 503: the queue is full, answered at once
THROTTLED = "throttled"  # 400 ProvisionedThroughputExceededException
TIMEOUT = "timeout"  # no answer within the client's read timeout
DNS_FAILED = "dns-failed"  # the name did not resolve: nothing was sent


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt gets and after how long (seconds from sending)."""

    kind: str
    after: float


class Service:
    """The server every simulated client sends to, with its counters."""

    def __init__(
        self, *, capacity: float, queue_limit: int, base_latency: float, timeout: float,
        triggers: tuple[Trigger, ...], seed: int,
    ) -> None:
        self.capacity = capacity
        self.queue_limit = queue_limit
        self.base_latency = base_latency
        self.timeout = timeout
        self.triggers = triggers
        self._rng = random.Random(seed)
        #: Requests waiting or in service, as of ``_drained_at``.
        self._backlog = 0.0
        self._drained_at = 0.0
        # Throttling by capacity: a token bucket of one second of the rate.
        self._tokens = 0.0
        self._tokens_at = 0.0
        #: Counters a recorder samples: requests that arrived, requests
        #: served in time (useful work) and too late (wasted work).
        self.arrived = 0
        self.useful = 0
        self.wasted = 0
        self.throttled = 0

    def capacity_at(self, now: float) -> float:
        """Requests per second the server does at ``now``."""
        capacity = self.capacity
        for trigger in self.triggers:
            capacity *= trigger.capacity_factor(now)
        return capacity

    def queue_length(self, now: float) -> float:
        """Requests waiting for the server at ``now``."""
        self._drain(now, self.capacity_at(now))
        return self._backlog

    def _drain(self, now: float, capacity: float) -> None:
        """Work off the backlog since the last look, at ``capacity`` (arrivals
        come every few milliseconds, so the capacity of the moment will do)."""
        if now > self._drained_at:
            self._backlog = max(0.0, self._backlog - (now - self._drained_at) * capacity)
            self._drained_at = now

    def request(self, now: float) -> Answer:
        """An attempt sent at ``now``: what it gets and when."""
        for trigger in self.triggers:
            if not trigger.active(now):
                continue
            if trigger.kind == "dns":
                return Answer(DNS_FAILED, 0.0)
            self.arrived += 1
            if trigger.kind == "outage":
                return Answer(SERVER_ERROR, self.base_latency)
            if trigger.kind == "blackhole":
                return Answer(TIMEOUT, self.timeout)
            if (trigger.kind == "throttle" and self._rng.random() < trigger.share) or (
                trigger.kind == "throttle-capacity"
                and not self._admit(now, trigger.level * self.capacity)
            ):
                self.throttled += 1
                return Answer(THROTTLED, self.base_latency)
            return self._serve(now)
        self.arrived += 1
        return self._serve(now)

    def _serve(self, now: float) -> Answer:
        capacity = self.capacity_at(now)
        self._drain(now, capacity)
        if capacity <= 0.0 or self._backlog >= self.queue_limit:
            return Answer(SHED, self.base_latency)
        self._backlog += 1.0
        answered = self._backlog / capacity + self.base_latency
        if answered > self.timeout:
            self.wasted += 1
            return Answer(TIMEOUT, self.timeout)
        self.useful += 1
        return Answer(OK, answered)

    def _admit(self, now: float, rate: float) -> bool:
        """A token bucket of ``rate`` per second, one second deep."""
        self._tokens = min(rate, self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
