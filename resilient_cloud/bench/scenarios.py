"""What each benchmark scenario does to the fake cloud, and the load it offers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

TABLE = "bench"
REGION = "us-east-1"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    #: Fault settings for the primary region (resilient_cloud.fakecloud.Faults fields).
    faults: dict[str, Any] = field(default_factory=dict)
    calls: int = 200
    threads: int = 16
    #: Seconds after which unfinished calls are abandoned and reported as such.
    cap: float = 60.0
    quick_calls: int | None = None
    quick_cap: float | None = None
    #: True when the scenario needs no network (canned answers in-process).
    offline: bool = False

    def sized(
        self, quick: bool, calls: int | None = None, cap: float | None = None
    ) -> Scenario:
        """This scenario at the size of a quick or full run, or as overridden."""
        if calls is None:
            calls = (self.quick_calls or self.calls) if quick else self.calls
        if cap is None:
            cap = (self.quick_cap or self.cap) if quick else self.cap
        return replace(self, calls=calls, cap=cap)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "outage",
            "the region answers 500 InternalServerError to every request",
            faults={"error_rate": 1.0, "error_kind": "InternalServerError"},
            calls=200,
            cap=360.0,  # legacy DynamoDB waits ~25 s per failed call
            quick_cap=30.0,
        ),
        Scenario(
            "transient",
            "10% of requests fail with 500 InternalServerError",
            faults={"error_rate": 0.1, "error_kind": "InternalServerError"},
            calls=3000,
            cap=240.0,
            quick_calls=1000,
            quick_cap=60.0,
        ),
        Scenario(
            "overhead",
            "no network: canned answers; per-call cost against plain botocore",
            calls=3000,
            quick_calls=1000,
            threads=1,
            offline=True,
        ),
    )
}
