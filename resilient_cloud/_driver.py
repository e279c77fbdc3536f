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
from resilient_cloud._breaker import Admission, BreakerState, Transition
from resilient_cloud._call import Call, call_of
from resilient_cloud._clock import Clock
from resilient_cloud._outcome import Exchange, classify
from resilient_cloud.errors import (
    BulkheadFullError,
    CircuitOpenError,
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
            self._admit_call(call)
            try:
                result = self._attempts(call, send, params)
            finally:
                if call.bulkhead is not None:
                    call.bulkhead.release()
        except BaseException as error:
            self._finish(call, succeeded=False, error=error)
            raise
        self._finish(call, succeeded=True, error=None)
        metadata = result.get("ResponseMetadata") if isinstance(result, dict) else None
        if isinstance(metadata, dict):
            metadata["RetryAttempts"] = call.attempts - 1
        return result

    def _admit_call(self, call: Call) -> None:
        """Deadline, then bulkhead: refuse the call before any request."""
        now = self._clock.monotonic()
        if call.deadline_at is not None and now >= call.deadline_at:
            self._reject(call, StopReason.DEADLINE)
            raise DeadlineExceededError(
                **_where(call), cause="the deadline passed before any request was sent"
            )
        if call.bulkhead is None:
            return
        max_wait = call.bulkhead.options.max_wait
        if call.deadline_at is not None:
            max_wait = min(max_wait, call.deadline_at - now)
        if not call.bulkhead.acquire(max_wait):
            limit = call.bulkhead.options.max_concurrent
            call.bulkhead = None  # nothing to release
            self._reject(call, StopReason.BULKHEAD_FULL)
            raise BulkheadFullError(
                **_where(call), limit=limit,
                cause=f"{limit} calls already in flight to {call.endpoint}",
            )

    def _attempts(self, call: Call, send: Send, params: dict[str, Any]) -> Any:
        # Most calls succeed at once: the first attempt runs outside
        # tenacity, whose per-call set-up would cost as much as a tenth of
        # botocore's own work. Only a failed call enters the loop.
        first_error: Exception | None = None
        try:
            return self._attempt(call, send, params)
        except ResilienceError:
            raise  # refused before sending: nothing to retry
        except Exception as error:
            first_error = error
        return self._retry_after(first_error, call, send, params)

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
        admission = self._admit_attempt(call, now)
        if call.attempts == 0:
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
            call.last_error = caught
            raise
        finally:
            outcome = call.outcome = classify(error, CURRENT_EXCHANGE.get(), call.operation.model)
            CURRENT_EXCHANGE.reset(exchange_token)
            ended = self._clock.monotonic()
            if admission is not None:
                assert call.breaker is not None
                failure = f"{outcome.kind} ({outcome.error})" if outcome.error else outcome.kind
                self._report(
                    call, call.breaker.record(ended, admission, outcome.endpoint_failed, failure)
                )
            if self._hooks:
                self._emit(
                    _hooks.AttemptEnded,
                    call,
                    attempt=call.attempts,
                    outcome=outcome.kind,
                    error=outcome.error,
                    duration=ended - now,
                )

    def _admit_attempt(self, call: Call, now: float) -> Admission | None:
        """Ask the breaker; refuse the attempt (and so the call) when open."""
        breaker = call.breaker
        if breaker is None:
            return None
        admission, transition = breaker.admit(now)
        self._report(call, transition)
        if admission.allowed:
            return admission
        call.stop_reason = StopReason.CIRCUIT_OPEN
        if call.attempts and call.last_error is not None:
            # Opened during our backoff: end with the last real error.
            raise call.last_error
        retry_after = breaker.retry_after(now)
        self._reject(call, StopReason.CIRCUIT_OPEN, retry_after)
        snapshot = breaker.snapshot(now)
        raise CircuitOpenError(
            **_where(call),
            cause=(
                f"circuit breaker for {call.endpoint} is open"
                + (f"; next probe in {retry_after:.2f}s" if retry_after is not None else "")
            ),
            retry_after=retry_after,
            last_failure=snapshot.last_failure,
        )

    def _report(self, call: Call, transition: Transition | None) -> None:
        if transition is None:
            return
        level = logging.WARNING if transition.after is BreakerState.OPEN else logging.INFO
        logger.log(
            level,
            "circuit breaker for %s: %s -> %s (%s)",
            call.endpoint,
            transition.before.value,
            transition.after.value,
            transition.reason,
        )
        if self._hooks:
            self._emit(
                _hooks.BreakerStateChanged,
                call,
                endpoint=call.endpoint,
                before=transition.before.value,
                after=transition.after.value,
                reason=transition.reason,
            )

    def _reject(self, call: Call, reason: StopReason, retry_after: float | None = None) -> None:
        call.stop_reason = reason
        if self._hooks:
            self._emit(_hooks.CallRejected, call, reason=reason, retry_after=retry_after)

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


def _where(call: Call) -> dict[str, str]:
    return {"service": call.service, "operation": call.operation.name, "region": call.region}


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
