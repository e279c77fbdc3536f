"""Publishing what the call core decided: one log line per state change
(rate-limited), every event to the policy's hooks, and the call's events to
its telemetry. Shared by the sync and async drivers."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from resilient_cloud import hooks as _hooks
from resilient_cloud._core.notes import BudgetChanged
from resilient_cloud._telemetry.events import state_change as span_event_of
from resilient_cloud._telemetry.logs import state_change

if TYPE_CHECKING:
    from resilient_cloud._core.machine import CallCore
    from resilient_cloud._telemetry import CallTelemetry

logger = logging.getLogger("resilient_cloud")


class CallReport:
    """Where one call's events go: the log, the policy's hooks, and the
    call's telemetry (None: no OpenTelemetry SDK listens, or it is off).
    Called with a batch of events; may be called from a hedge leg's thread."""

    __slots__ = ("_hooks", "telemetry", "_tokens")

    def __init__(self, hooks: tuple[_hooks.Hook, ...], telemetry: CallTelemetry | None) -> None:
        self._hooks = hooks
        self.telemetry = telemetry
        self._tokens: Any = None

    def __call__(self, events: list[Any] | tuple[Any, ...]) -> None:
        if events:
            publish(self._hooks, events)
            if self.telemetry is not None:
                self.telemetry.record(events)

    def begin(self) -> None:
        """The call starts: its span becomes the current one, in the
        driver's context (legs copy it: threads explicitly, tasks by themselves)."""
        if self.telemetry is not None:
            self._tokens = self.telemetry.attach()

    def finish(self, core: CallCore, result: Any, error: BaseException | None) -> None:
        """The call is over: its last events, and its span ends."""
        self(core.take_events())
        if self.telemetry is not None:
            self.telemetry.end(core.call, result, error)
            self.telemetry.detach(self._tokens)


def publish(hooks: tuple[_hooks.Hook, ...], events: Iterable[Any]) -> None:
    for event in events:
        _log(event)
        if hooks and not isinstance(event, BudgetChanged):
            _hooks.dispatch(hooks, event)


def _log(event: Any) -> None:
    if isinstance(event, _hooks.BreakerStateChanged):
        state_change(
            logging.WARNING if event.after == "open" else logging.INFO,
            ("breaker", event.endpoint),
            "circuit breaker for %s: %s -> %s (%s)",
            event.endpoint, event.before, event.after, event.reason,
            attributes=_attributes(event),
        )
    elif isinstance(event, _hooks.RegionSwitched):
        state_change(
            logging.INFO if event.after == event.region else logging.WARNING,
            ("routing", event.service, event.region),
            "%s calls of %s clients now start in %s (were in %s): %s",
            event.service, event.region, event.after, event.before, event.reason,
            attributes=_attributes(event),
        )
    elif isinstance(event, BudgetChanged):
        state_change(
            logging.INFO if event.granting else logging.WARNING,
            ("budget", event.service, event.region),
            "retry budget for %s.%s recovered: retries allowed again" if event.granting
            else "retry budget for %s.%s is empty: failed calls are no longer retried",
            event.service, event.region, attributes=_attributes(event),
        )
    elif isinstance(event, _hooks.FailedOver):  # one per call: debug only
        logger.debug(
            "%s.%s failed over from %s to %s: %s",
            event.service, event.operation, event.region, event.to_region, event.reason,
        )
    elif isinstance(event, _hooks.RetryScheduled):  # one per retry: debug only
        logger.debug(
            "retrying %s.%s in %s after %s (attempt %d) in %.3fs",
            event.service, event.operation, event.region, event.outcome, event.attempt,
            event.delay,
        )


def _attributes(event: Any) -> dict[str, Any]:
    """A log line's attributes: those of the change's span event."""
    change = span_event_of(event)
    assert change is not None
    return change[1]
