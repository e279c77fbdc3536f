"""Region choice: which of a client's regions its calls start in.

Pure state, like the breaker: every method takes ``now`` on the policy's
clock, and the regions whose breakers are open come from the caller as a
snapshot (nothing is called back under the router's lock). One
router is shared by every client with the same primary endpoint, fallback
regions and :class:`~resilient_cloud._options.Failover` options.

    on region i --(switch_after sick failures in a row, or its breaker is
                   open)--> on the next region whose breaker is not open
    on a fallback --(stick window over)--> one call at a time probes the
                   primary, at most every probe_interval
    probe succeeds --> back on the primary; a primary that fails again
                   within the last stay doubles the next one (max_stick_for)

Index 0 is the client's own region; the others are its fallback regions in
the order given.
"""

from __future__ import annotations

import threading
from collections.abc import Container
from dataclasses import dataclass

from resilient_cloud._options import Failover

PRIMARY = 0


@dataclass(frozen=True, slots=True)
class Switch:
    """Calls now start in another region, and why."""

    before: str
    after: str
    reason: str


@dataclass(frozen=True, slots=True)
class Start:
    """Where one call starts: a region index, and whether the call is the
    probe of the primary (its outcome decides the failback)."""

    index: int
    probe: bool = False


@dataclass(frozen=True, slots=True)
class RoutingSnapshot:
    """Which region a client's calls start in, since when and why."""

    regions: tuple[str, ...]
    region: str
    reason: str
    #: Seconds since calls started in ``region``.
    since: float
    switches: int
    #: Seconds until the primary may be probed (on a fallback only).
    probe_after: float | None


class RegionRouter:
    """The region choice of one group of clients (thread-safe)."""

    def __init__(self, regions: tuple[str, ...], options: Failover, *, now: float) -> None:
        self.regions = regions
        self.options = options
        self._lock = threading.Lock()
        self._current = PRIMARY
        self._reason = "the client's own region"
        self._since = now
        self._switches = 0
        # Sick failures in a row of the region in use.
        self._consecutive = 0
        self._stick_until = 0.0
        self._next_probe_at = 0.0
        self._probe_in_flight = False
        # Returns to the primary followed by a quick departure, in a row.
        self._quick_returns = 0
        self._stay = options.stick_for
        self._returned_at: float | None = None

    # -- decisions -----------------------------------------------------

    def start(
        self, now: float, open_regions: Container[int], *, may_probe: bool = True
    ) -> tuple[Start, Switch | None]:
        """Where a call that may fail over starts. Only calls that can move
        on after any failure (``may_probe``: reads) are spent as probes: a
        write probing a still-failing primary could not fail over again."""
        with self._lock:
            switch = None
            if may_probe and self._current != PRIMARY and self._may_probe(now):
                self._probe_in_flight = True
                self._next_probe_at = now + self.options.probe_interval
                return Start(PRIMARY, probe=True), None
            if self._current in open_regions:
                switch = self._leave(now, open_regions, f"the breaker of {self.region} is open")
            return Start(self._current), switch

    def record(
        self, now: float, start: Start, index: int, failed: bool | None,
        failure: str | None, open_regions: Container[int],
    ) -> Switch | None:
        """Count one attempt of a call that started at ``start`` and went to
        region ``index``. ``failed`` is True for a sick failure, False when the
        region answered, None when the attempt says nothing about it."""
        with self._lock:
            if start.probe and index == PRIMARY and failed is not None:
                self._probe_in_flight = False
                if not failed:
                    return self._return_to_primary(now)
                return None
            if index != self._current or failed is None:
                return None
            if not failed:
                self._consecutive = 0
                return None
            self._consecutive += 1
            if self._consecutive < self.options.switch_after:
                return None
            return self._leave(
                now, open_regions, f"{self._consecutive} failures in a row in {self.region}: {failure}"
            )

    def release_probe(self, start: Start) -> None:
        """A probe call ended without an answer from the primary."""
        if start.probe:
            with self._lock:
                self._probe_in_flight = False

    @property
    def current(self) -> int:
        """The index of the region calls start in."""
        return self._current

    @property
    def region(self) -> str:
        return self.regions[self._current]

    def snapshot(self, now: float) -> RoutingSnapshot:
        with self._lock:
            on_fallback = self._current != PRIMARY
            return RoutingSnapshot(
                regions=self.regions,
                region=self.region,
                reason=self._reason,
                since=now - self._since,
                switches=self._switches,
                probe_after=(
                    max(0.0, self._stick_until - now, self._next_probe_at - now)
                    if on_fallback else None
                ),
            )

    # -- internals -----------------------------------------------------

    def _may_probe(self, now: float) -> bool:
        # Not gated on the primary's breaker: while calls are away its
        # failed probes keep reopening it for ever longer breaks, which
        # would time the failback. The probe may open it early instead
        # (CircuitBreakerState.admit(probe_now=True)).
        return (
            not self._probe_in_flight
            and now >= self._stick_until
            and now >= self._next_probe_at
        )

    def _leave(self, now: float, open_regions: Container[int], reason: str) -> Switch | None:
        """Move calls to the next region whose breaker is not open."""
        count = len(self.regions)
        for step in range(1, count):
            candidate = (self._current + step) % count
            if candidate not in open_regions:
                break
        else:
            return None  # every other region is down too: stay
        if self._current == PRIMARY:
            self._plan_stay(now)
        return self._move(candidate, now, reason)

    def _plan_stay(self, now: float) -> None:
        """How long to stay away from the primary we are leaving."""
        options = self.options
        returned_at = self._returned_at
        if returned_at is not None and now - returned_at < self._stay:
            self._quick_returns += 1  # it failed again soon after we came back
        else:
            self._quick_returns = 0
        self._stay = min(options.max_stick_for, options.stick_for * 2.0 ** min(self._quick_returns, 32))
        self._stick_until = now + self._stay
        self._next_probe_at = self._stick_until

    def _return_to_primary(self, now: float) -> Switch | None:
        if self._current == PRIMARY:
            return None
        return self._move(PRIMARY, now, f"a probe of {self.regions[PRIMARY]} succeeded")

    def _move(self, index: int, now: float, reason: str) -> Switch:
        switch = Switch(self.region, self.regions[index], reason)
        if index == PRIMARY:
            self._returned_at = now
        self._current = index
        self._reason = reason
        self._since = now
        self._switches += 1
        self._consecutive = 0
        return switch

    def __repr__(self) -> str:
        return f"<RegionRouter on {self.region} of {list(self.regions)}: {self._reason}>"
