"""The fleet scenarios: a service, the load a fleet offers it, and triggers.

Sizes are relative, so a scenario means the same at 100 clients and at
100,000: the service's capacity is the fleet's base offered load divided by
``load`` (0.8: the service runs at 80% of its capacity), its queue holds
``queue_seconds`` of that capacity, and triggers speak in shares of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from resilient_cloud._validation import Problems
from resilient_cloud.sim.triggers import Trigger


@dataclass(frozen=True)
class SimScenario:
    name: str
    description: str
    #: Seconds of arrivals; the run then goes on ``drain`` seconds so that
    #: calls in flight can end (those still going are counted unfinished).
    duration: float
    triggers: tuple[Trigger, ...]
    clients: int = 10_000
    #: Calls per second per client (open loop: Poisson arrivals).
    rate: float = 0.1
    #: Base offered load as a share of the service's capacity.
    load: float = 0.8
    #: ``(from_second, multiplier)`` steps of the offered rate.
    rate_steps: tuple[tuple[float, float], ...] = ()
    queue_seconds: float = 5.0
    base_latency: float = 0.01
    #: Every client's read timeout, seconds.
    timeout: float = 1.0
    drain: float = 30.0
    bucket: float = 1.0
    #: The deadline resilient_cloud's machines set (seconds; None: none).
    deadline: float | None = None
    #: Calls each machine runs at once (None: unbounded); the rest queue for
    #: a thread, as the benchmark's pool queues them.
    threads: int | None = None

    def __post_init__(self) -> None:
        problems = Problems("SimScenario")
        for name in ("duration", "rate", "load", "queue_seconds", "timeout", "bucket"):
            if not getattr(self, name) > 0:
                problems.out_of_range(name, "> 0", getattr(self, name))
        if not isinstance(self.clients, int) or self.clients < 1:
            problems.out_of_range("clients", "an integer >= 1", self.clients)
        if self.drain < 0 or self.base_latency < 0:
            problems.out_of_range("drain and base_latency", ">= 0", (self.drain, self.base_latency))
        problems.raise_if_any()

    @property
    def capacity(self) -> float:
        """The service's full capacity, requests per second."""
        return self.clients * self.rate / self.load

    @property
    def window(self) -> tuple[float, float]:
        """When the first trigger is on: the fault window of the figures."""
        first = self.triggers[0]
        return first.start, first.end

    def rate_multiplier(self, now: float) -> float:
        multiplier = 1.0
        for start, value in self.rate_steps:
            if now >= start:
                multiplier = value
        return multiplier

    def sized(self, clients: int | None = None, duration: float | None = None) -> SimScenario:
        """This scenario with ``clients`` and a ``duration`` (triggers keep
        their times; a shorter run must still contain them)."""
        return replace(
            self,
            clients=self.clients if clients is None else clients,
            duration=self.duration if duration is None else duration,
        )


_RECOVERY = {"recover_from": 0.3, "ramp": 30.0}
# The fake cloud answers in about 3 ms on loopback (legacy's failing call
# in the bench's outage: 25.58 s = 25.55 s of backoff + 10 answers).
_LOOPBACK = 0.003

SCENARIOS: dict[str, SimScenario] = {
    s.name: s
    for s in (
        SimScenario(
            "capacity-drop",
            "the service's capacity drops to 30% for 30 s under an 80% load, then is "
            "whole again: a trigger that sustained retries can turn into a lasting collapse",
            duration=300.0,
            triggers=(Trigger("capacity", 60.0, 90.0, level=0.3),),
        ),
        SimScenario(
            "outage-recovery",
            "every request fails (500) for 60 s; the service then comes back at 30% of its "
            "capacity and rises to 100% over 30 s, under a base load of 80%",
            duration=300.0,
            triggers=(Trigger("outage", 60.0, 120.0, **_RECOVERY),),
        ),
        SimScenario(
            "dns-outage",
            "the service's name does not resolve for 60 s (nothing is sent), then "
            "resolves again with the service at 30% rising to 100% over 30 s",
            duration=300.0,
            triggers=(Trigger("dns", 60.0, 120.0, **_RECOVERY),),
        ),
        SimScenario(
            "throttle",
            "30% of requests are throttled at random, whatever the load",
            duration=120.0,
            triggers=(Trigger("throttle", 0.0, 120.0, share=0.3),),
        ),
        SimScenario(
            "throttle-capacity",
            "the service admits R requests per second and throttles the rest; the fleet "
            "offers 1.5 R for 20 s, then 0.5 R",
            duration=60.0,
            load=1.0,
            rate_steps=((0.0, 1.5), (20.0, 0.5)),
            triggers=(Trigger("throttle-capacity", 0.0, 20.0, level=1.0),
                      Trigger("throttle-capacity", 20.0, 60.0, level=1.0)),
            deadline=2.0,
        ),
        # The benchmark's scenarios at its load, for validation against the
        # fake cloud: one machine (whose clients share one state per endpoint).
        SimScenario(
            "bench-outage-recovery",
            "resilient-cloud bench's outage-recovery: 40 calls/s from one machine, 500s "
            "from 8 s to 23 s, a service with room to spare",
            duration=40.0,
            clients=1,
            base_latency=_LOOPBACK,
            rate=40.0,
            load=0.2,
            triggers=(Trigger("outage", 8.0, 23.0),),
            bucket=0.5,
            drain=10.0,
            threads=64,
        ),
        SimScenario(
            "bench-blackhole",
            "resilient-cloud bench's blackhole: 20 calls/s from one machine (128 threads), "
            "no answers from 8 s to 23 s, 1 s timeouts",
            duration=40.0,
            clients=1,
            base_latency=_LOOPBACK,
            rate=20.0,
            load=0.1,
            triggers=(Trigger("blackhole", 8.0, 23.0),),
            bucket=0.5,
            drain=10.0,
            threads=128,
        ),
        SimScenario(
            "bench-outage",
            "resilient-cloud bench's outage: 200 calls from one machine's 16 threads, 500s "
            "all along",
            duration=0.1,
            clients=1,
            base_latency=_LOOPBACK,
            rate=2000.0,
            load=0.5,
            triggers=(Trigger("outage", 0.0, 1e6),),
            drain=360.0,
            threads=16,
        ),
        SimScenario(
            "bench-throttle",
            "resilient-cloud bench's throttle: one machine, 30% of requests throttled",
            duration=60.0,
            clients=1,
            base_latency=_LOOPBACK,
            rate=40.0,
            load=0.2,
            triggers=(Trigger("throttle", 0.0, 60.0, share=0.3),),
            bucket=0.5,
            drain=60.0,
            threads=16,
        ),
    )
}
