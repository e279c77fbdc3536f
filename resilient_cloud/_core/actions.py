"""What the call core asks its driver to do next, as plain data.

The core decides; a driver (threads or asyncio) does. Each action is the
whole of one step: the driver performs it and reports back with the
method named in its docstring. Treated as immutable; not frozen, because
several are made per call and frozen dataclasses cost a setattr per field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resilient_cloud._outcome import AttemptOutcome

if TYPE_CHECKING:
    from resilient_cloud._breaker import Admission
    from resilient_cloud._bulkhead import BulkheadState
    from resilient_cloud._failover import Route


@dataclass(slots=True)
class Leg:
    """One request of a call: where it goes, its attempt number, and the
    breaker's admission it holds (handed back when it is judged)."""

    route: Route
    attempt: int
    admission: Admission | None
    hedge: bool = False


@dataclass(slots=True)
class WaitForSlot:
    """Take a slot of ``bulkhead``, waiting up to ``max_wait`` seconds; then
    ``admitted(now)``, or ``refused_by_bulkhead(now)``. The driver releases
    the slot when the call ends, however it ends."""

    bulkhead: BulkheadState
    max_wait: float


@dataclass(slots=True)
class Send:
    """Send ``leg`` (rewinding the streams in the parameters first when
    ``rewind``), judge it with ``judge(...)``, then ``settle(judged, now)``.

    ``hedge_after``: a read that may be hedged. If it has not answered after
    that many seconds, ask ``hedge_due(now)``; if that gives a hedge ``Send``,
    race both legs and report with ``raced(judged, hedge_won, now)``."""

    leg: Leg
    rewind: bool = False
    hedge_after: float | None = None


@dataclass(slots=True)
class Sleep:
    """Back off for ``seconds`` on the policy's clock, then ``slept(now)``."""

    seconds: float


@dataclass(slots=True)
class Build:
    """Build the client of region ``index`` (I/O: awaited by the async
    driver), then ``built(index, ok, now)``, which decides again."""

    index: int


@dataclass(slots=True)
class Stop:
    """The call is over: return ``result``, or raise ``error``."""

    result: Any = None
    error: BaseException | None = None


@dataclass(slots=True)
class Judged:
    """One leg's result, error and classified outcome, with the events it
    caused (for the driver to publish)."""

    leg: Leg
    result: Any
    error: BaseException | None
    outcome: AttemptOutcome
    events: tuple[Any, ...] = ()


Action = WaitForSlot | Send | Sleep | Build | Stop
