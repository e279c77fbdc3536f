"""Publishing what the call core decided: one log line per state change,
and every event to the policy's hooks. Shared by the sync and async drivers."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from resilient_cloud import hooks as _hooks
from resilient_cloud._core.notes import BudgetChanged

logger = logging.getLogger("resilient_cloud")


def publish(hooks: tuple[_hooks.Hook, ...], events: Iterable[Any]) -> None:
    for event in events:
        _log(event)
        if hooks and not isinstance(event, BudgetChanged):
            _hooks.dispatch(hooks, event)


def _log(event: Any) -> None:
    if isinstance(event, _hooks.BreakerStateChanged):
        level = logging.WARNING if event.after == "open" else logging.INFO
        logger.log(
            level, "circuit breaker for %s: %s -> %s (%s)",
            event.endpoint, event.before, event.after, event.reason,
        )
    elif isinstance(event, _hooks.RegionSwitched):
        level = logging.INFO if event.after == event.region else logging.WARNING
        logger.log(
            level, "%s calls of %s clients now start in %s (were in %s): %s",
            event.service, event.region, event.after, event.before, event.reason,
        )
    elif isinstance(event, _hooks.FailedOver):
        logger.info(
            "%s.%s failed over from %s to %s: %s",
            event.service, event.operation, event.region, event.to_region, event.reason,
        )
    elif isinstance(event, _hooks.RetryScheduled):
        logger.debug(
            "retrying %s.%s in %s after %s (attempt %d) in %.3fs",
            event.service, event.operation, event.region, event.outcome, event.attempt,
            event.delay,
        )
    elif isinstance(event, BudgetChanged):
        if event.granting:
            logger.info(
                "retry budget for %s.%s recovered: retries allowed again",
                event.service, event.region,
            )
        else:
            logger.warning(
                "retry budget for %s.%s is empty: failed calls are no longer retried",
                event.service, event.region,
            )
