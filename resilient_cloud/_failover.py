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
from typing import TYPE_CHECKING, Any

from resilient_cloud._outcome import AttemptOutcome
from resilient_cloud._registry import Endpoint, Key
from resilient_cloud._routing import PRIMARY, RegionRouter, Start, Switch

if TYPE_CHECKING:
    from resilient_cloud._breaker import CircuitBreakerState
    from resilient_cloud._call import Call

Send = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Route:
    """One region a client's calls can be served from."""

    index: int
    region: str
    endpoint: Endpoint
    #: None: the wrapped client's own ``_make_api_call``.
    send: Send | None
    budget_key: Key | None
    breaker_key: Key | None

    @property
    def name(self) -> str:
        return str(self.endpoint)


class CallRoutes:
    """The regions one call may use, in order, and which it tried this round.

    Used by one thread (the caller's); the router it reports to is shared.
    """

    __slots__ = (
        "router", "start", "switch", "_order", "_resolve", "_is_open", "_breaker_of", "_tried",
    )

    def __init__(
        self,
        router: RegionRouter,
        start: Start,
        resolve: Callable[[int], Route | None],
        is_open: Callable[[int], bool],
        breaker_of: Callable[[Route], CircuitBreakerState | None],
        switch: Switch | None = None,
    ) -> None:
        self.router = router
        self.start = start
        #: The switch choosing the start made, for the driver to report.
        self.switch = switch
        count = len(router.regions)
        first = router.current if start.probe else start.index
        order = [(first + step) % count for step in range(count)]
        if start.probe:  # the primary, then the region calls are stuck to
            order.remove(start.index)
            order.insert(0, start.index)
        self._order = tuple(order)
        self._resolve = resolve
        self._is_open = is_open
        self._breaker_of = breaker_of
        self._tried: set[int] = set()

    def move(self, call: Call, why: str, *, new_round: bool = False) -> bool:
        """Send ``call``'s next attempt to the next region of this round (or,
        with ``new_round``, of a new round when this one is over); False when
        there is none to move to."""
        assert call.route is not None
        self._tried.add(call.route.index)
        route = self.next_untried()
        if route is None and new_round:
            self._tried.clear()
            route = self.next_untried()
        if route is None or route.index == call.route.index:
            return False
        call.move_to(route, self._breaker_of(route), why)
        return True

    def breaker_of(self, route: Route) -> CircuitBreakerState | None:
        return self._breaker_of(route)

    def record(
        self, now: float, index: int, outcome: AttemptOutcome, failure: str
    ) -> Switch | None:
        """Tell the router what an attempt in region ``index`` saw."""
        sick = outcome.region_sick
        switch = self.router.record(now, self.start, index, sick, failure, self._is_open)
        if self.start.probe and index == PRIMARY and sick is not None:
            self.start = Start(self.start.index)  # the probe is answered
        return switch

    def hedge_route(self, current: Route) -> Route | None:
        """Where a hedge of an attempt in ``current`` goes: the next region
        of the call's order whose breaker is not open."""
        for index in self._order:
            if index != current.index and not self._is_open(index):
                route = self._resolve(index)
                if route is not None:
                    return route
        return None

    def next_untried(self) -> Route | None:
        """The next region of this round, or None when the round is over."""
        for index in self._order:
            if index not in self._tried and not self._is_open(index):
                route = self._resolve(index)
                if route is not None:
                    return route
                self._tried.add(index)  # its client could not be built
        return None

    def release(self) -> None:
        """The call is over: free a probe slot it still holds."""
        self.router.release_probe(self.start)
