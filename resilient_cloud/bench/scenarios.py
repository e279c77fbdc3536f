"""What each benchmark scenario does to the fake cloud, and the load it offers.

A scenario is a load (closed loop: a number of calls from a few threads; or
open loop: calls arriving at a fixed rate whatever happens, as real traffic
does) and a timeline of steps that change the fake cloud while it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

TABLE = "bench"
PRIMARY = "us-east-1"
FALLBACK = "us-west-2"


@dataclass(frozen=True)
class Step:
    """At ``at`` seconds into the load, change the fake cloud.

    ``kind`` "faults" takes ``Faults`` fields (an empty mapping clears them),
    "dns" takes ``mode`` (and ``address_of``: a region whose server the name
    should point at), "tcp" takes ``mode``.
    """

    at: float
    kind: Literal["faults", "dns", "tcp"]
    settings: Mapping[str, Any] = field(default_factory=dict)
    region: str = PRIMARY
    service: str | None = "dynamodb"


@dataclass(frozen=True)
class Load:
    """Closed loop (``rate`` None: ``threads`` callers, ``calls`` in all) or
    open loop (``rate`` calls per second for ``duration`` seconds, run by a
    pool of ``threads``)."""

    calls: int = 200
    threads: int = 16
    rate: float | None = None
    duration: float | None = None
    #: Fraction of calls that go to the slow dependency (bulkhead scenario).
    slow_share: float = 0.0
    #: Open loop: ``(from_second, multiplier)`` steps of the rate.
    rate_steps: tuple[tuple[float, float], ...] = ()

    @property
    def planned_calls(self) -> int:
        if self.rate is None:
            return self.calls
        return len(self.due_times())

    def rate_at(self, t: float) -> float:
        """Open loop: calls per second at ``t`` seconds into the load."""
        assert self.rate is not None
        multiplier = 1.0
        for start, value in self.rate_steps:
            if t >= start:
                multiplier = value
        return self.rate * multiplier

    def due_times(self) -> list[float]:
        """Open loop: when each call is due, in seconds from the start."""
        assert self.rate is not None and self.duration is not None
        if not self.rate_steps:  # exact multiples: no drift from summing
            return [index / self.rate for index in range(int(self.rate * self.duration))]
        times, t = [], 0.0
        while t < self.duration - 1e-9:
            times.append(t)
            t += 1.0 / self.rate_at(t)
        return times


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    load: Load
    quick_load: Load
    #: Seconds after the load starts when unfinished calls are abandoned.
    cap: float
    quick_cap: float
    steps: tuple[Step, ...] = ()
    regions: tuple[str, ...] = (PRIMARY,)
    connection: Literal["keep-alive", "close"] = "keep-alive"
    #: When the fault is on, for success-in-window and time-to-recover.
    window: tuple[float, float] | None = None
    quick_window: tuple[float, float] | None = None
    #: Connect and read timeouts every subject's client gets.
    timeouts: tuple[float, float] = (2.0, 10.0)
    #: Measured in-process with canned answers instead of against the cloud.
    offline: bool = False
    #: A dedicated measurement instead of the load: for offline scenarios
    #: "overhead" (plain botocore vs resilient) or "overhead-aio" (plain
    #: aiobotocore vs rc.aio); against the cloud "cancel-storm" (calls
    #: cancelled mid-flight, then what they left behind).
    measurement: str | None = None
    #: Policy fields the resilient subjects set for this scenario, as a
    #: user would (e.g. a bulkhead sized for their thread pool); None
    #: switches a field off. The description says so.
    resilient_policy: Mapping[str, Any] = field(default_factory=dict)  # a field name: its value
    #: In-process measurements made once after the subjects ran (``"dns-hit-cost"``).
    probes: tuple[str, ...] = ()
    #: The subjects this scenario runs when none are named (None: the
    #: default subjects): where plain botocore's retry modes all behave
    #: alike and hedging is the point, standard and the resilient variants.
    subjects: tuple[str, ...] | None = None

    def sized(self, quick: bool, calls: int | None = None, cap: float | None = None) -> Scenario:
        """This scenario at the size of a quick or full run, or as overridden."""
        load = self.quick_load if quick else self.load
        if calls is not None and load.rate is None:
            load = replace(load, calls=calls)
        elif calls is not None:  # open loop: the same duration, at the rate that makes `calls`
            load = replace(load, rate=calls / (load.duration or 1.0))
        window = self.quick_window if quick and self.quick_window else self.window
        steps = self._scaled_steps(window) if window != self.window else self.steps
        return replace(
            self,
            load=load,
            cap=cap if cap is not None else (self.quick_cap if quick else self.cap),
            window=window,
            steps=steps,
        )

    def with_window(self, window: tuple[float, float]) -> Scenario:
        """This scenario with its fault window moved to ``window`` (the steps
        that open and close it move too): for runs of another length, such
        as a Locust run bounded by ``-t``."""
        return replace(self, window=window, steps=self._scaled_steps(window))

    def _scaled_steps(self, window: tuple[float, float] | None) -> tuple[Step, ...]:
        """Move the steps that open and close the fault window onto ``window``."""
        if window is None or self.window is None:
            return self.steps
        moved = {self.window[0]: window[0], self.window[1]: window[1]}
        return tuple(replace(step, at=moved.get(step.at, step.at)) for step in self.steps)


def _fault_window(
    start: float, end: float, kind: Literal["faults", "dns", "tcp"], on: Mapping[str, Any],
    off: Mapping[str, Any], region: str = PRIMARY, service: str | None = "dynamodb",
) -> tuple[Step, ...]:
    return (
        Step(start, kind, on, region, service),
        Step(end, kind, off, region, service),
    )


_OUTAGE = {"error_rate": 1.0, "error_kind": "InternalServerError"}
# 5% of requests 1 s late, drawn from the run's seed on the server.
_SLOW_TAIL = {"latency": 1.0, "latency_rate": 0.05}
# The cancellation storm: calls started together per wave, each cancelled
# within its first _STORM_HOLD seconds; the bulkhead admits fewer than a
# wave, so some calls are cancelled while queued for a slot.
_STORM_WAVE = 100
_STORM_HOLD = 0.3
_STORM_BULKHEAD = 32

# throttle-capacity: the admitted rate (R), and the deadline resilient
# callers set (a user who cares how long a throttled caller waits says so).
_ADMITTED = 40.0
_THROTTLE_DEADLINE = 2.0

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "outage",
            "the region answers 500 InternalServerError to every request",
            load=Load(calls=200, threads=16),
            # 200 calls in quick runs too: the retry budget's floor (10 retries
            # per 10 s) is spread over as many calls as in a full run, so the
            # budget-alone target (< 1.3 requests per call) means the same.
            quick_load=Load(calls=200, threads=16),
            cap=360.0,  # legacy DynamoDB waits ~25 s per failed call
            quick_cap=2.0,
            steps=(Step(0.0, "faults", _OUTAGE),),
        ),
        Scenario(
            "outage-recovery",
            "the region answers 500 to everything for 15 s, then recovers",
            load=Load(rate=40.0, duration=40.0, threads=64),
            quick_load=Load(rate=40.0, duration=2.0, threads=64),
            cap=50.0,
            quick_cap=2.2,
            steps=_fault_window(8.0, 23.0, "faults", _OUTAGE, {}),
            window=(8.0, 23.0),
            quick_window=(0.5, 1.4),
        ),
        Scenario(
            "transient",
            "10% of requests fail with 500 InternalServerError",
            load=Load(calls=3000, threads=16),
            quick_load=Load(calls=400, threads=16),
            cap=240.0,
            quick_cap=2.0,
            steps=(Step(0.0, "faults", {"error_rate": 0.1, "error_kind": "InternalServerError"}),),
        ),
        Scenario(
            "throttle",
            "30% of requests are throttled (ProvisionedThroughputExceededException)",
            load=Load(calls=2000, threads=16),
            quick_load=Load(calls=300, threads=16),
            cap=240.0,
            quick_cap=2.0,
            steps=(
                Step(0.0, "faults", {
                    "error_rate": 0.3, "error_kind": "ProvisionedThroughputExceededException",
                }),
            ),
        ),
        Scenario(
            "throttle-capacity",
            f"the table admits {_ADMITTED:g} requests per second and throttles the rest "
            f"(ProvisionedThroughputExceededException); calls arrive at 1.5x that for 20 s, "
            f"then at 0.5x; resilient sets deadline={_THROTTLE_DEADLINE:g} s",
            load=Load(rate=_ADMITTED, duration=30.0, threads=128, rate_steps=((0.0, 1.5), (20.0, 0.5))),
            quick_load=Load(
                rate=_ADMITTED, duration=3.0, threads=128, rate_steps=((0.0, 1.5), (2.0, 0.5))
            ),
            cap=60.0,
            quick_cap=4.0,
            steps=(Step(0.0, "faults", {"throttle_above": _ADMITTED}),),
            window=(0.0, 20.0),
            quick_window=(0.0, 2.0),
            resilient_policy={"deadline": _THROTTLE_DEADLINE},
        ),
        Scenario(
            "overload",
            "capacity drops below the offered load for a while, then recovers",
            load=Load(rate=60.0, duration=40.0, threads=128),
            quick_load=Load(rate=60.0, duration=2.2, threads=128),
            cap=60.0,
            quick_cap=2.5,
            # Normal capacity 90/s for 60/s offered; a dip to 20/s; back to 90/s.
            # Queued requests outwait the 1 s client timeout, so retries pile up.
            steps=(
                Step(0.0, "faults", {"capacity": 90.0, "queue_timeout": 2.0}),
                *_fault_window(
                    10.0, 25.0, "faults",
                    {"capacity": 20.0, "queue_timeout": 2.0},
                    {"capacity": 90.0, "queue_timeout": 2.0},
                ),
            ),
            window=(10.0, 25.0),
            quick_window=(0.5, 1.8),
            timeouts=(1.0, 1.0),
        ),
        Scenario(
            "dns-empty",
            "the DynamoDB record goes empty for a while; the server stays healthy "
            "and every request opens a new connection",
            load=Load(rate=40.0, duration=48.0, threads=64),
            quick_load=Load(rate=40.0, duration=2.0, threads=64),
            cap=55.0,
            quick_cap=2.2,
            connection="close",
            # 30 s: longer than legacy DynamoDB's ~25 s of retries per call.
            steps=_fault_window(8.0, 38.0, "dns", {"mode": "empty"}, {"mode": "ok"}),
            window=(8.0, 38.0),
            quick_window=(0.5, 1.4),
            probes=("dns-hit-cost",),
        ),
        *(
            Scenario(
                f"region-outage-{how}",
                f"the primary region fails ({description}); {FALLBACK} "
                f"holds the same data and resilient_cloud clients name it in "
                f"fallback_regions{note}",
                load=Load(rate=40.0, duration=48.0, threads=64),
                quick_load=Load(rate=40.0, duration=2.0, threads=64),
                cap=55.0,
                quick_cap=2.2,
                regions=(PRIMARY, FALLBACK),
                # (connection and kind: literals of the table below, inferred as str.)
                connection=connection,  # type: ignore[arg-type]
                steps=_fault_window(8.0, 38.0, kind, on, off),  # type: ignore[arg-type]
                window=(8.0, 38.0),
                quick_window=(0.5, 1.4),
                timeouts=(1.0, 2.0),
                resilient_policy=policy,
            )
            for how, description, kind, on, off, connection, policy, note in (
                ("500", "500s to everything", "faults", _OUTAGE, {}, "keep-alive", {}, ""),
                # Empty DNS only hurts clients that open new connections. With
                # its DNS cache on, resilient_cloud rides out the empty record
                # on the primary with the last good answer (dns-empty measures
                # that); switched off here so the record fails and the client
                # must fail over, which is what this scenario measures.
                (
                    "dns", "its DNS record is empty", "dns", {"mode": "empty"}, {"mode": "ok"},
                    "close", {"dns": None},
                    "; resilient clients turn their DNS cache off (dns=None), which would "
                    "otherwise keep them on the primary with stale answers",
                ),
                ("down", "its server refuses connections", "tcp", {"mode": "refuse"}, {"mode": "ok"},
                 "keep-alive", {}, ""),
            )
        ),
        Scenario(
            "slow-tail",
            f"the primary region answers 5% of requests (seeded) 1 s late; {FALLBACK} is "
            "healthy and holds the same data; a hedged read that has not answered goes "
            f"to {FALLBACK} too: resilient-hedged after a fixed 100 ms, resilient-hedged-p90 "
            "after the p90 of recent latencies (rc.Hedge() defaults), resilient-hedged-p95 "
            "after their p95",
            load=Load(rate=40.0, duration=45.0, threads=64),
            quick_load=Load(rate=40.0, duration=2.5, threads=64),
            cap=50.0,
            quick_cap=4.0,
            regions=(PRIMARY, FALLBACK),
            steps=(Step(0.0, "faults", _SLOW_TAIL),),
            # No errors or timeouts: legacy, adaptive and tenacity-naive send
            # exactly what standard sends.
            subjects=("standard", "resilient", "resilient-hedged", "resilient-hedged-p90"),
        ),
        Scenario(
            "blackhole",
            "the region accepts connections but never answers for 15 s (a gray "
            "failure only timeouts reveal); every subject gets 1 s connect/read timeouts",
            load=Load(rate=20.0, duration=40.0, threads=128),
            quick_load=Load(rate=20.0, duration=2.0, threads=64),
            cap=50.0,
            quick_cap=2.2,
            steps=_fault_window(8.0, 23.0, "tcp", {"mode": "blackhole"}, {"mode": "ok"}),
            window=(8.0, 23.0),
            quick_window=(0.5, 1.4),
            timeouts=(1.0, 1.0),
        ),
        Scenario(
            "bulkhead",
            "half the calls go to S3, which turns slow (+1 s per request) halfway, "
            "sharing one 16-thread pool with DynamoDB; latency counts time queued; "
            "resilient sets Bulkhead(max_concurrent=4)",
            load=Load(rate=40.0, duration=30.0, threads=16, slow_share=0.5),
            quick_load=Load(rate=40.0, duration=2.2, threads=16, slow_share=0.5),
            cap=40.0,
            quick_cap=2.5,
            steps=_fault_window(15.0, 30.0, "faults", {"latency": 1.0}, {}, service="s3"),
            window=(15.0, 30.0),
            quick_window=(0.9, 2.2),
            resilient_policy={"bulkhead": {"max_concurrent": 4}},
        ),
        Scenario(
            "overhead",
            "no network: canned answers; per-call cost against plain botocore",
            load=Load(calls=3000, threads=1),
            quick_load=Load(calls=1000, threads=1),
            cap=300.0,
            quick_cap=60.0,
            offline=True,
            measurement="overhead",
        ),
        Scenario(
            "overhead-aio",
            "no network: canned answers; per-call cost of rc.aio against plain aiobotocore",
            load=Load(calls=3000, threads=1),
            quick_load=Load(calls=1000, threads=1),
            cap=300.0,
            quick_cap=60.0,
            offline=True,
            measurement="overhead-aio",
        ),
        Scenario(
            "overhead-telemetry",
            "no network: canned answers; per-call cost of telemetry with no OpenTelemetry SDK "
            "(on vs Policy(telemetry=False)), and with the SDK and in-memory exporters against "
            "plain botocore with opentelemetry-instrumentation-botocore",
            load=Load(calls=3000, threads=1),
            quick_load=Load(calls=1000, threads=1),
            cap=300.0,
            quick_cap=60.0,
            offline=True,
            measurement="overhead-telemetry",
        ),
        Scenario(
            "cancel-storm",
            f"both regions accept connections and never answer; waves of {_STORM_WAVE} concurrent "
            "reads are each cancelled at a seeded random moment in their first "
            f"{_STORM_HOLD * 1000:.0f} ms (queued for the bulkhead, in flight, or hedged); then "
            "the bulkhead slots, tasks and hedges left are counted; resilient-aio sets "
            f"Bulkhead(max_concurrent={_STORM_BULKHEAD}, max_queue=1000, max_wait=30), "
            f"Hedge(delay=0.02, max_concurrent=16) and budget=None (every hedge may go)",
            load=Load(calls=1000, threads=_STORM_WAVE),
            quick_load=Load(calls=200, threads=_STORM_WAVE),
            cap=60.0,
            quick_cap=30.0,
            regions=(PRIMARY, FALLBACK),
            steps=tuple(
                Step(0.0, "tcp", {"mode": "blackhole"}, region=region)
                for region in (PRIMARY, FALLBACK)
            ),
            # Nothing may end by itself while the storm lasts.
            timeouts=(30.0, 30.0),
            resilient_policy={
                "bulkhead": {"max_concurrent": _STORM_BULKHEAD, "max_queue": 1000, "max_wait": 30.0},
                "hedge": {"delay": 0.02, "max_concurrent": 16},
                "budget": None,
            },
            measurement="cancel-storm",
            subjects=("resilient-aio",),
        ),
    )
}

#: Names accepted on the command line that stand for several scenarios.
GROUPS: dict[str, tuple[str, ...]] = {
    "region-outage": tuple(name for name in SCENARIOS if name.startswith("region-outage-")),
}


def expand(names: list[str]) -> list[str]:
    """Scenario names with groups expanded, in the order given."""
    expanded: list[str] = []
    for name in names:
        for member in GROUPS.get(name, (name,)):
            if member not in expanded:
                expanded.append(member)
    return expanded
