"""What pushes the simulated service past its limit, from ``start`` to ``end``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from resilient_cloud._validation import Problems

Kind = Literal["capacity", "outage", "blackhole", "dns", "throttle", "throttle-capacity"]
KINDS: tuple[str, ...] = ("capacity", "outage", "blackhole", "dns", "throttle", "throttle-capacity")


@dataclass(frozen=True, slots=True)
class Trigger:
    """A fault on the service from ``start`` to ``end`` seconds.

    kinds:
        ``capacity``: the server does ``level`` of its capacity.
        ``outage``: every request is answered 500 at once.
        ``blackhole``: requests are taken and never answered (clients time out).
        ``dns``: the service's name does not resolve (nothing is sent).
        ``throttle``: ``share`` of the requests are throttled at random.
        ``throttle-capacity``: the service admits ``level`` of its capacity
        per second and throttles the rest.

    ``recover_from`` and ``ramp``: after ``end`` the capacity comes back at
    ``recover_from`` of itself and rises linearly to all of it over
    ``ramp`` seconds (a service warming up; 0 seconds: all at once).
    """

    kind: Kind
    start: float
    end: float
    level: float = 0.0
    share: float = 0.0
    recover_from: float = 1.0
    ramp: float = 0.0

    def __post_init__(self) -> None:
        problems = Problems("Trigger")
        if self.kind not in KINDS:
            problems.out_of_range("kind", f"one of {', '.join(KINDS)}", self.kind)
        if not 0.0 <= self.start < self.end:
            problems.out_of_range("end", f"after start ({self.start}) and start >= 0", self.end)
        for name in ("level", "share", "recover_from"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.out_of_range(name, "between 0 and 1", value)
        if self.ramp < 0:
            problems.out_of_range("ramp", ">= 0", self.ramp)
        problems.raise_if_any()

    def active(self, now: float) -> bool:
        return self.start <= now < self.end

    def capacity_factor(self, now: float) -> float:
        """The share of the server's capacity left at ``now``."""
        if now < self.start:
            return 1.0
        if now < self.end:
            return self.level if self.kind == "capacity" else 1.0
        if self.ramp <= 0.0 or now >= self.end + self.ramp:
            return 1.0
        return self.recover_from + (1.0 - self.recover_from) * (now - self.end) / self.ramp
