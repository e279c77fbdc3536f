"""Publishing what the call core decided: one log line per state change
(rate-limited), every event to the policy's hooks, and the call's events to
its telemetry. Shared by the sync and async drivers."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from resilient_cloud import hooks as _hooks
from resilient_cloud._core.notes import BudgetChanged
from resilient_cloud._telemetry import names as n
from resilient_cloud._telemetry.logs import state_change

if TYPE_CHECKING:
    from resilient_cloud._telemetry import CallTelemetry

logger = logging.getLogger("resilient_cloud")


class CallReport:
    """Where one call's events go: the log, the policy's hooks, and the
    call's telemetry (None: no OpenTelemetry SDK listens, or it is off).
    Called with a batch of events; may be called from a hedge leg's thread."""

    __slots__ = ("_hooks", "telemetry")

    def __init__(self, hooks: tuple[_hooks.Hook, ...], telemetry: CallTelemetry | None) -> None:
        self._hooks = hooks
        self.telemetry = telemetry

    def __call__(self, events: list[Any] | tuple[Any, ...]) -> None:
        if events:
            publish(self._hooks, events)
            if self.telemetry is not None:
                self.telemetry.record(events)


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
            attributes={
                n.RPC_SERVICE: event.service, n.CLOUD_REGION: event.region,
                n.ENDPOINT: event.endpoint, n.BREAKER_BEFORE: event.before,
                n.BREAKER_STATE: event.after, n.REASON: event.reason,
            },
        )
    elif isinstance(event, _hooks.RegionSwitched):
        state_change(
            logging.INFO if event.after == event.region else logging.WARNING,
            ("routing", event.service, event.region),
            "%s calls of %s clients now start in %s (were in %s): %s",
            event.service, event.region, event.after, event.before, event.reason,
            attributes={
                n.RPC_SERVICE: event.service, n.CLOUD_REGION: event.before,
                n.TO_REGION: event.after, n.REASON: event.reason,
            },
        )
    elif isinstance(event, BudgetChanged):
        attributes = {
            n.RPC_SERVICE: event.service, n.CLOUD_REGION: event.region,
            n.BUDGET_GRANTING: event.granting,
        }
        if event.granting:
            state_change(
                logging.INFO, ("budget", event.service, event.region),
                "retry budget for %s.%s recovered: retries allowed again",
                event.service, event.region, attributes=attributes,
            )
        else:
            state_change(
                logging.WARNING, ("budget", event.service, event.region),
                "retry budget for %s.%s is empty: failed calls are no longer retried",
                event.service, event.region, attributes=attributes,
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
