"""The sync driver: runs one logical call as attempts under tenacity.

It only starts attempts, records outcomes, sleeps through the injected clock
and tells the hooks; every decision lives in the strategies and the state
objects they consult.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from tenacity import RetryCallState, Retrying

from resilient_cloud import hooks as _hooks
from resilient_cloud._call import Call, call_of
from resilient_cloud._clock import Clock
from resilient_cloud._outcome import Exchange, classify
from resilient_cloud.errors import (
    DeadlineExceededError,
    ResilienceError,
    StopReason,
    annotate,
)

logger = logging.getLogger("resilient_cloud")

# The exchange botocore's needs-retry event reports for the attempt running
# in this thread or task (see _botocore.events.record_exchange).
CURRENT_EXCHANGE: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar(
    "resilient_cloud_exchange", default=None
)

Send = Callable[[str, dict[str, Any]], Any]


class CallDriver:
    """Runs calls for one client with its resolved settings."""

    def __init__(
        self,
        *,
        clock: Clock,
        strategies: Mapping[str, Any],
        hooks: tuple[_hooks.Hook, ...],
    ) -> None:
        self._clock = clock
        self._strategies = strategies
        self._hooks = hooks

    def run(self, call: Call, send: Send, api_params: Mapping[str, Any]) -> Any:
        params = _params_for_every_attempt(call, api_params)
        try:
            # Most calls succeed at once: the first attempt runs outside
            # tenacity, whose per-call set-up would cost as much as a tenth
            # of botocore's own work. Only a failed call enters the loop.
            first_error: Exception | None = None
            try:
                result = self._attempt(call, send, params)
            except Exception as error:
                first_error = error
            if first_error is not None:
                result = self._retry_after(first_error, call, send, params)
        except BaseException as error:
            self._finish(call, succeeded=False, error=error)
            raise
        self._finish(call, succeeded=True, error=None)
        metadata = result.get("ResponseMetadata") if isinstance(result, dict) else None
        if isinstance(metadata, dict):
            metadata["RetryAttempts"] = call.attempts - 1
        return result

    def _retry_after(
        self, first_error: Exception, call: Call, send: Send, params: dict[str, Any]
    ) -> Any:
        """Hand a failed first attempt to tenacity, which decides what follows."""
        replayed = False

        def attempt(call: Call, send: Send, params: dict[str, Any]) -> Any:
            nonlocal replayed
            if not replayed:  # tenacity's attempt 1 is the one already made
                replayed = True
                raise first_error
            return self._attempt(call, send, params)

        retrying = Retrying(
            sleep=self._clock.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
            **self._strategies,
        )
        return retrying(attempt, call, send, params)

    def _attempt(self, call: Call, send: Send, params: dict[str, Any]) -> Any:
        now = self._clock.monotonic()
        if call.attempts == 0:
            if call.deadline_at is not None and now >= call.deadline_at:
                call.stop_reason = StopReason.DEADLINE
                raise DeadlineExceededError(
                    service=call.service,
                    operation=call.operation.name,
                    region=call.region,
                    cause="the deadline passed before any request was sent",
                )
            if call.budget is not None:
                call.budget.record_first_attempt(now)
        else:
            _rewind(call)
        call.attempts += 1
        if self._hooks:
            self._emit(_hooks.AttemptStarted, call, attempt=call.attempts)
        exchange_token = CURRENT_EXCHANGE.set(None)
        error: BaseException | None = None
        try:
            return send(call.operation.name, dict(params))
        except BaseException as caught:
            error = caught
            raise
        finally:
            call.outcome = classify(error, CURRENT_EXCHANGE.get(), call.operation.model)
            CURRENT_EXCHANGE.reset(exchange_token)
            if self._hooks:
                self._emit(
                    _hooks.AttemptEnded,
                    call,
                    attempt=call.attempts,
                    outcome=call.outcome.kind,
                    error=call.outcome.error,
                    duration=self._clock.monotonic() - now,
                )

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        call = call_of(retry_state)
        delay = retry_state.upcoming_sleep
        outcome = call.outcome.kind if call.outcome else "unknown"
        logger.debug(
            "retrying %s.%s in %s after %s (attempt %d of %d)",
            call.service,
            call.operation.name,
            call.region,
            outcome,
            call.attempts,
            call.max_attempts,
        )
        if self._hooks:
            self._emit(
                _hooks.RetryScheduled,
                call,
                attempt=call.attempts + 1,
                delay=delay,
                outcome=outcome,
                budget_cost=call.last_budget_cost,
            )

    def _finish(self, call: Call, *, succeeded: bool, error: BaseException | None) -> None:
        now = self._clock.monotonic()
        if succeeded:
            call.stop_reason = None
        elif isinstance(error, Exception) and not isinstance(error, ResilienceError):
            annotate(error, call.details(now))
        if self._hooks:
            self._emit(
                _hooks.CallEnded,
                call,
                attempts=call.attempts,
                succeeded=succeeded,
                reason=call.stop_reason if not succeeded else None,
                elapsed=now - call.started_at,
            )

    def _emit(self, event_type: type, call: Call, **fields: Any) -> None:
        event = event_type(
            service=call.service, operation=call.operation.name, region=call.region, **fields
        )
        _hooks.dispatch(self._hooks, event)


def _params_for_every_attempt(call: Call, api_params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters every attempt starts from.

    Each attempt gets a fresh shallow copy, because botocore's parameter
    handlers rewrite some values in place (S3 CopySource quoting would be
    applied twice). Idempotency tokens are filled here, once, so every
    attempt sends the same token; stream positions are noted for rewinding.
    """
    params = dict(api_params)
    for member in call.operation.idempotency_token_members:
        if params.get(member) is None:
            params[member] = str(uuid.uuid4())
    for value in params.values():
        if hasattr(value, "read"):
            position = _start_position(value)
            if position is None:
                call.body_positions = None
                break
            assert call.body_positions is not None
            call.body_positions.append((value, position))
    return params


def _start_position(stream: Any) -> int | None:
    seekable = getattr(stream, "seekable", None)
    try:
        if seekable is not None and not seekable():
            return None
        return stream.tell()
    except (AttributeError, OSError, ValueError):
        return None


def _rewind(call: Call) -> None:
    for stream, position in call.body_positions or ():
        stream.seek(position)
