"""Instrumentation: every decision resilient_cloud makes, as a frozen event.

A hook is any callable taking one event::

    def print_retries(event: rc.hooks.Event) -> None:
        if isinstance(event, rc.hooks.RetryScheduled):
            print(f"{event.service}.{event.operation}: retry in {event.delay:.2f}s")

    rc.Policy(hooks=(print_retries,))

Events carry service, operation, region, attempt numbers, outcomes and
timings; never parameters, bodies or credentials. A hook that raises is
logged and skipped: instrumentation never breaks a call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from resilient_cloud.errors import StopReason

__all__ = [
    "AttemptEnded",
    "AttemptStarted",
    "BreakerStateChanged",
    "CallEnded",
    "CallRejected",
    "DnsRecovered",
    "DnsRefreshFailed",
    "DnsStaleAnswerServed",
    "Event",
    "FailedOver",
    "HedgeEnded",
    "HedgeFired",
    "Hook",
    "RegionSwitched",
    "RetryScheduled",
]

logger = logging.getLogger("resilient_cloud")


@dataclass(frozen=True, slots=True)
class AttemptStarted:
    """An attempt is about to be sent."""

    service: str
    operation: str
    region: str
    attempt: int


@dataclass(frozen=True, slots=True)
class AttemptEnded:
    """An attempt finished. ``outcome`` is ``"success"`` or the kind of failure
    (``"throttled"``, ``"server-error"``, ``"connection-failed"``, ``"timeout"``,
    ``"client-error"``...), or ``"cancelled"`` for an asyncio attempt cancelled
    mid-request (a hedge's loser, a cancelled call); ``error`` is the error
    code or exception name. Every ``AttemptStarted`` is followed by one."""

    service: str
    operation: str
    region: str
    attempt: int
    outcome: str
    error: str | None
    duration: float


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    """Another attempt will follow after ``delay`` seconds."""

    service: str
    operation: str
    region: str
    attempt: int
    delay: float
    outcome: str
    budget_cost: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over. ``reason`` says why a failed call was not retried
    further (budget empty, deadline, attempts spent...); None on success."""

    service: str
    operation: str
    region: str
    attempts: int
    succeeded: bool
    reason: StopReason | None
    elapsed: float


@dataclass(frozen=True, slots=True)
class CallRejected:
    """A call was refused before any request was sent: ``reason`` is
    ``CIRCUIT_OPEN``, ``BULKHEAD_FULL`` or ``DEADLINE``; ``retry_after`` says
    when an open breaker lets a probe through."""

    service: str
    operation: str
    region: str
    reason: StopReason
    retry_after: float | None


@dataclass(frozen=True, slots=True)
class BreakerStateChanged:
    """An endpoint's circuit breaker changed state (``"closed"``, ``"open"``,
    ``"half-open"``), and why."""

    service: str
    operation: str  # the call whose attempt caused the change
    region: str
    endpoint: str
    before: str
    after: str
    reason: str


@dataclass(frozen=True, slots=True)
class DnsStaleAnswerServed:
    """A new connection to ``host`` uses the last good DNS answer, which has
    expired, because lookups fail (``reason``). ``stale_for``: seconds since
    the first failed refresh (``time.time() - stale_for`` is the wall time it
    started)."""

    service: str
    region: str
    host: str
    stale_for: float
    reason: str


@dataclass(frozen=True, slots=True)
class DnsRefreshFailed:
    """A lookup of ``host`` failed: resolver error, timeout, NXDOMAIN or an
    empty answer. ``stale_for`` is None when no good answer is left to serve
    (the failure is then cached briefly and raised); ``background`` says the
    lookup was a refresh no caller waited for."""

    service: str
    region: str
    host: str
    reason: str
    stale_for: float | None
    background: bool


@dataclass(frozen=True, slots=True)
class DnsRecovered:
    """``host`` resolves again after ``stale_for`` seconds on a stale answer;
    the fresh answer replaced it."""

    service: str
    region: str
    host: str
    stale_for: float


@dataclass(frozen=True, slots=True)
class FailedOver:
    """One call's next attempt goes to ``to_region`` instead of ``region``,
    and why (the failure seen there, or its open breaker)."""

    service: str
    operation: str
    region: str
    to_region: str
    reason: str


@dataclass(frozen=True, slots=True)
class RegionSwitched:
    """The calls of the clients whose own region is ``region`` now start in
    ``after`` instead of ``before`` (sticky failover, or failback after a
    successful probe of ``region``), and why."""

    service: str
    operation: str  # the call whose attempt caused the switch
    region: str
    before: str
    after: str
    reason: str


@dataclass(frozen=True, slots=True)
class HedgeFired:
    """A read had not answered after ``delay`` seconds: the same read went
    to ``to_region`` (``region`` itself: over a second connection)."""

    service: str
    operation: str
    region: str
    to_region: str
    delay: float


@dataclass(frozen=True, slots=True)
class HedgeEnded:
    """A hedged read is answered; ``hedge_won`` says whether the hedge's
    answer was the one used."""

    service: str
    operation: str
    region: str
    hedge_won: bool


Event = (
    AttemptStarted | AttemptEnded | RetryScheduled | CallEnded | CallRejected | BreakerStateChanged
    | DnsStaleAnswerServed | DnsRefreshFailed | DnsRecovered | FailedOver | RegionSwitched
    | HedgeFired | HedgeEnded
)


class Hook(Protocol):
    """Receives every :data:`Event`; must be quick and must not block."""

    def __call__(self, event: Event) -> None: ...


def dispatch(hooks: tuple[Hook, ...], event: Event) -> None:
    """Give ``event`` to every hook; a failing hook is logged, never raised."""
    for hook in hooks:
        try:
            hook(event)
        except Exception:
            logger.warning("resilient_cloud hook %r failed on %r", hook, event, exc_info=True)
