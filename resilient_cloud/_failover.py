"""Where one call's attempts go among its client's regions.

The interleaving rule (docs/configuration.md, "Failover"):

* a call starts where the shared :class:`~resilient_cloud._routing.RegionRouter`
  says (the primary, the sticky fallback, or the primary as a probe);
* after a sick failure (see ``AttemptOutcome.region_sick``) the next attempt
  goes to the next region of the call's order not tried in this round and
  whose breaker is not open, at once, without backoff;
* when every region was tried, a new round starts at the first region whose
  breaker is not open, after the normal backoff;
* a region whose breaker is open is skipped without sending anything.

Every attempt after the first, in any region, is a retry: it counts
against ``max_attempts``, the deadline and the call's retry budget (the
budget of the region the call started in).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resilient_cloud._outcome import AttemptOutcome
from resilient_cloud._registry import Endpoint, StateKey
from resilient_cloud._routing import PRIMARY, RegionRouter, Start, Switch


@dataclass(frozen=True, slots=True)
class Route:
    """One region a client's calls can be served from."""

    index: int
    region: str
    endpoint: Endpoint
    #: None: the wrapped client's own ``_make_api_call``.
    send: Any
    budget_key: StateKey | None
    breaker_key: StateKey | None
    limiter_key: StateKey | None = None

    @property
    def name(self) -> str:
        return str(self.endpoint)


class NeedRoute(Exception):
    """A decision needs region ``index``'s route, whose client is not built
    yet: building it is I/O, so the driver does it and asks again."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


@dataclass(frozen=True, slots=True)
class Move:
    """Where a call's next attempt would go, and the regions it will then
    have tried this round; nothing changes until the call commits it."""

    route: Route | None
    tried: frozenset[int]


class CallRoutes:
    """The regions one call may use, in order, and which it tried this round.

    Decides without I/O: ``resolve(index)`` returns a built route, or None
    while its client is not built, which raises :class:`NeedRoute`; a
    region whose client failed to build (``build_failed``) is skipped for
    the rest of the call. Used by the call's own driver; the router it
    reports to is shared.
    """

    __slots__ = (
        "router", "start", "switch", "tried", "_order", "_resolve", "_is_open", "_unbuildable",
    )

    def __init__(
        self,
        router: RegionRouter,
        start: Start,
        resolve: Callable[[int], Any],
        is_open: Callable[[int], bool],
        switch: Switch | None = None,
    ) -> None:
        self.router = router
        self.start = start
        #: The switch choosing the start made, for the call to report.
        self.switch = switch
        #: Regions tried in this round.
        self.tried: frozenset[int] = frozenset()
        self._order = _order_from(router, start)
        self._resolve = resolve
        self._is_open = is_open
        #: Regions whose client failed to build during this call.
        self._unbuildable: set[int] = set()

    def start_route(self) -> Route:
        """The route the call starts on; the primary when the start's
        client cannot be built."""
        route = self._route(self.start.index)
        if route is None:
            self.router.release_probe(self.start)
            self.start = Start(PRIMARY)
            self._order = _order_from(self.router, self.start)
            route = self._route(PRIMARY)
        assert route is not None, "the primary is the client itself"
        return route

    def build_failed(self, index: int) -> None:
        """Region ``index``'s client could not be built: skip it this call."""
        self._unbuildable.add(index)

    def plan_move(self, current: int, *, new_round: bool = False) -> Move:
        """The next region of this round after ``current`` (or, with
        ``new_round``, of a new round when this one is over). ``route`` is
        None when there is none to move to, or it is ``current`` itself."""
        tried = self.tried | {current}
        route = self._first_untried(tried)
        if route is None and new_round:
            tried = frozenset()
            route = self._first_untried(tried)
        if route is not None and route.index == current:
            route = None
        return Move(route, tried)

    def record(
        self, now: float, index: int, outcome: AttemptOutcome, failure: str
    ) -> Switch | None:
        """Tell the router what an attempt in region ``index`` saw."""
        sick = outcome.region_sick
        switch = self.router.record(now, self.start, index, sick, failure, self.open_regions())
        if self.start.probe and index == PRIMARY and sick is not None:
            self.start = Start(self.start.index)  # the probe is answered
        return switch

    def open_regions(self) -> frozenset[int]:
        """The regions whose breakers are open now (a snapshot for the router)."""
        return frozenset(index for index in self._order if self._is_open(index))

    def hedge_route(self, current: Route) -> Route | None:
        """Where a hedge of an attempt in ``current`` goes: the next region
        of the call's order whose breaker is not open."""
        for index in self._order:
            if index != current.index and not self._is_open(index):
                route = self._route(index)
                if route is not None:
                    return route
        return None

    def release(self) -> None:
        """The call is over: free a probe slot it still holds."""
        self.router.release_probe(self.start)

    def _first_untried(self, tried: frozenset[int]) -> Route | None:
        for index in self._order:
            if index not in tried and not self._is_open(index):
                route = self._route(index)
                if route is not None:  # None: its client could not be built
                    return route
        return None

    def _route(self, index: int) -> Route | None:
        if index in self._unbuildable:
            return None
        route: Route | None = self._resolve(index)
        if route is None:
            raise NeedRoute(index)
        return route


def _order_from(router: RegionRouter, start: Start) -> tuple[int, ...]:
    count = len(router.regions)
    first = router.current if start.probe else start.index
    order = [(first + step) % count for step in range(count)]
    if start.probe:  # the primary, then the region calls are stuck to
        order.remove(start.index)
        order.insert(0, start.index)
    return tuple(order)
