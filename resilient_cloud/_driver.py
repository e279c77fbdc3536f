"""The sync driver: runs one logical call as attempts under tenacity.

It only starts attempts, records outcomes, sleeps through the injected clock
and tells the hooks; every decision lives in the strategies and the state
objects they consult.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent import futures
from typing import Any

from tenacity import RetryCallState, Retrying

from resilient_cloud import hooks as _hooks
from resilient_cloud._breaker import Admission, BreakerState, CircuitBreakerState, Transition
from resilient_cloud._call import Call, call_of
from resilient_cloud._clock import Clock
from resilient_cloud._failover import Route
from resilient_cloud._hedging import HedgePool
from resilient_cloud._integrity import check_response
from resilient_cloud._outcome import CURRENT_TRACE, AttemptOutcome, AttemptTrace, classify
from resilient_cloud._routing import PRIMARY, Switch
from resilient_cloud.errors import (
    BulkheadFullError,
    CircuitOpenError,
    DeadlineExceededError,
    ResilienceError,
    StopReason,
    annotate,
)

logger = logging.getLogger("resilient_cloud")

Send = Callable[[str, dict[str, Any]], Any]


class CallDriver:
    """Runs calls for one client with its resolved settings."""

    def __init__(
        self,
        *,
        clock: Clock,
        strategies: Mapping[str, Any],
        hooks: tuple[_hooks.Hook, ...],
        hedge_pool: HedgePool | None = None,
    ) -> None:
        self._clock = clock
        self._strategies = strategies
        self._hooks = hooks
        self._hedge_pool = hedge_pool or HedgePool(1)

    def run(self, call: Call, send: Send, api_params: Mapping[str, Any]) -> Any:
        params = _params_for_every_attempt(call, api_params)
        if call.routes is not None and call.routes.switch is not None:
            self._report_switch(call, call.routes.switch)
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
        _report_attempts(result if isinstance(result, dict) else None, call)
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
            if call.hedge is not None and call.body_positions == [] and self._hedge_pool.try_enter():
                return self._hedged_first_attempt(call, send, params)
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
        self._start_attempt(call, now)
        return self._settle(
            call, *self._leg(call, call.route, send, params, call.attempts, admission)
        )

    def _hedged_first_attempt(self, call: Call, send: Send, params: dict[str, Any]) -> Any:
        """The first attempt of a read, raced against a hedge if it has not
        answered after the hedge delay. Both requests run in worker threads;
        the first success wins and the other answer is ignored."""
        assert call.hedge is not None
        legs = _Legs(self._hedge_pool)
        try:
            now = self._clock.monotonic()
            admission = self._admit_attempt(call, now)
            self._start_attempt(call, now)
            primary = legs.submit(
                self._leg, call, call.route, send, params, call.attempts, admission
            )
            delay = call.hedge.delay()
            if futures.wait([primary], timeout=delay).not_done:
                hedge = self._start_hedge(call, legs, send, params, delay)
                if hedge is not None:
                    return self._settle(call, *self._race(call, primary, hedge))
        finally:
            legs.close()
        return self._settle(call, *primary.result())

    def _start_hedge(
        self, call: Call, legs: _Legs, send: Send, params: dict[str, Any], delay: float
    ) -> futures.Future[Any] | None:
        """Send the hedge, if a region admits it and the budget pays for it."""
        assert call.hedge is not None
        now = self._clock.monotonic()
        if call.attempts >= call.max_attempts:
            return None  # a hedge is an attempt: Retry(max_attempts=1) sends one request
        if call.deadline_at is not None and now >= call.deadline_at:
            return None
        route = call.route
        if call.routes is not None and call.route is not None:
            route = call.routes.hedge_route(call.route) or call.route
        breaker = _breaker_for(call, route)
        admission = None
        if breaker is not None:
            admission, transition = breaker.admit(now)
            self._report(call, transition)
            if not admission.allowed:
                # Counted like a budget refusal (docs/configuration.md, Hedge):
                # health()'s "refused" must show hedges the breaker stopped.
                call.hedge.count(fired=False)
                return None
        if call.budget is not None and not call.budget.try_withdraw(now, 1.0).granted:
            if admission is not None and breaker is not None:
                breaker.record(now, admission, None)  # hand back a probe slot
            call.hedge.count(fired=False)
            return None
        call.attempts += 1
        region = call.region if route is None else route.region
        if self._hooks:
            self._emit(_hooks.HedgeFired, call, to_region=region, delay=delay)
        return legs.submit(self._leg, call, route, send, params, call.attempts, admission)

    def _race(
        self, call: Call, primary: futures.Future[Any], hedge: futures.Future[Any]
    ) -> tuple[Any, BaseException | None, AttemptOutcome]:
        """The first successful leg, else the primary's failure."""
        assert call.hedge is not None
        pending = {primary, hedge}
        winner = None
        while pending and winner is None:
            done, pending = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
            winner = next((leg for leg in done if leg.result()[1] is None), None)
        won = winner is hedge
        call.hedge.count(fired=True, won=won)
        if self._hooks:
            self._emit(_hooks.HedgeEnded, call, hedge_won=won)
        return (winner or primary).result()

    def _settle(
        self, call: Call, result: Any, error: BaseException | None, outcome: AttemptOutcome
    ) -> Any:
        call.outcome = outcome
        if error is not None:
            call.last_error = error
            raise error
        return result

    def _start_attempt(self, call: Call, now: float) -> None:
        """Count an admitted attempt: a deposit for the first, a rewind of
        the body and the failover event for later ones."""
        if call.attempts == 0:
            if call.budget is not None:
                call.budget.record_first_attempt(now)
        else:
            _rewind(call)
        call.attempts += 1
        call.attempted_region = call.region
        call.skip_backoff = False
        if call.moved_from is not None:
            before, why = call.moved_from
            call.moved_from = None
            logger.info(
                "%s.%s failed over from %s to %s: %s",
                call.service, call.operation.name, before, call.region, why,
            )
            if self._hooks:
                self._emit(
                    _hooks.FailedOver, call, region=before, to_region=call.region, reason=why
                )

    def _leg(
        self, call: Call, route: Route | None, send: Send, params: dict[str, Any],
        attempt: int, admission: Admission | None,
    ) -> tuple[Any, BaseException | None, AttemptOutcome]:
        """Send one request to ``route`` and judge it, reporting to the
        route's breaker, the router and the hooks. Changes nothing on
        ``call``: hedged legs run it in worker threads."""
        region = call.region if route is None else route.region
        breaker = _breaker_for(call, route)
        started = self._clock.monotonic()
        if self._hooks:
            self._emit(_hooks.AttemptStarted, call, region=region, attempt=attempt)
        trace = AttemptTrace(tokens=call.idempotency_tokens)
        trace_token = CURRENT_TRACE.set(trace)
        result: Any = None
        error: BaseException | None = None
        try:
            result = (send if route is None or route.send is None else route.send)(
                call.operation.name, _attempt_params(call, params)
            )
            # botocore's retry handler checked bodies; it is gone, we check.
            error = check_response(trace.exchange, call.operation.model)
        except BaseException as caught:
            error = caught
        finally:
            CURRENT_TRACE.reset(trace_token)
        if error is not None:
            result = None
        outcome = classify(error, trace, call.operation.model)
        ended = self._clock.monotonic()
        failure = f"{outcome.kind} ({outcome.error})" if outcome.error else outcome.kind
        if admission is not None and breaker is not None:
            self._report(call, breaker.record(ended, admission, outcome.endpoint_failed, failure))
        if call.routes is not None and route is not None:
            self._report_switch(call, call.routes.record(ended, route.index, outcome, failure))
        if call.hedge is not None and attempt == 1 and outcome.succeeded:
            # Answers only: a fast refusal says nothing about how long a read takes.
            call.hedge.observe(ended - started)
        if self._hooks:
            self._emit(
                _hooks.AttemptEnded,
                call,
                region=region,
                attempt=attempt,
                outcome=outcome.kind,
                error=outcome.error,
                duration=ended - started,
            )
        return result, error, outcome

    def _admit_attempt(self, call: Call, now: float) -> Admission | None:
        """Ask the breaker; an open one sends the attempt to another region
        when the call may move, and otherwise refuses it (and the call)."""
        # Regions whose breakers refused this attempt. A half-open breaker
        # whose probes are all in flight refuses without being "open" to the
        # router, so ``move(new_round=True)`` may lead back to it: without
        # this, two such regions would bounce the attempt between them for ever.
        refused: set[int] = set()
        while True:
            breaker = call.breaker
            if breaker is None:
                return None
            admission, transition = breaker.admit(now, probe_now=_is_router_probe(call))
            self._report(call, transition)
            if admission.allowed:
                return admission
            if call.route is not None:
                refused.add(call.route.index)
            if call.routes is not None and call.routes.move(
                call, f"the breaker of {call.endpoint} is open", new_round=True
            ):
                assert call.route is not None
                if call.route.index not in refused:
                    continue  # nothing was sent: moving costs no token
            break
        breaker = call.breaker or breaker  # the one named by call.endpoint
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

    def _report_switch(self, call: Call, switch: Switch | None) -> None:
        if switch is None or call.routes is None:
            return
        home = call.routes.router.regions[PRIMARY]
        level = logging.INFO if switch.after == home else logging.WARNING
        logger.log(
            level, "%s calls of %s clients now start in %s (were in %s): %s",
            call.service, home, switch.after, switch.before, switch.reason,
        )
        if self._hooks:
            self._emit(
                _hooks.RegionSwitched, call, region=home,
                before=switch.before, after=switch.after, reason=switch.reason,
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
        if call.routes is not None:
            call.routes.release()
        if call.moved_from is not None and call.attempted_region is not None:
            # The retry strategy moves a call to its next region before the
            # stop strategy looks at attempts, deadline and budget: a call
            # stopped there never sent that attempt, and its error and
            # CallEnded must name the region its last attempt went to.
            call.region = call.attempted_region
            call.moved_from = None
        if succeeded:
            call.stop_reason = None
        elif isinstance(error, Exception) and not isinstance(error, ResilienceError):
            annotate(error, call.details(now))
            _report_attempts(getattr(error, "response", None), call)
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
        fields.setdefault("region", call.region)
        event = event_type(service=call.service, operation=call.operation.name, **fields)
        _hooks.dispatch(self._hooks, event)


class _Legs:
    """The requests of one hedged call, run in the pool's threads (each in a
    copy of the caller's context); the call's slot in the pool is given back
    when the last of them ends, even after the call returned."""

    def __init__(self, pool: HedgePool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._running = 0
        self._closed = False
        self._released = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> futures.Future[Any]:
        with self._lock:
            self._running += 1
        leg = self._pool.executor().submit(contextvars.copy_context().run, fn, *args)
        leg.add_done_callback(self._ended)
        return leg

    def close(self) -> None:
        """No more legs will start."""
        with self._lock:
            self._closed = True
        self._release_if_idle()

    def _ended(self, _leg: futures.Future[Any]) -> None:
        with self._lock:
            self._running -= 1
        self._release_if_idle()

    def _release_if_idle(self) -> None:
        with self._lock:
            if not self._closed or self._running or self._released:
                return
            self._released = True
        self._pool.leave()


def _breaker_for(call: Call, route: Route | None) -> CircuitBreakerState | None:
    """The breaker of ``route``'s region (the call's own, when it goes there)."""
    if route is None or route is call.route or call.routes is None:
        return call.breaker
    return call.routes.breaker_of(route)


def _is_router_probe(call: Call) -> bool:
    """The call's first attempt is the router's probe of the primary."""
    routes = call.routes
    return (
        routes is not None and routes.start.probe and call.attempts == 0
        and call.route is not None and call.route.index == routes.start.index
    )


def _where(call: Call) -> dict[str, str]:
    return {"service": call.service, "operation": call.operation.name, "region": call.region}


def _report_attempts(response: dict[str, Any] | None, call: Call) -> None:
    """Say in ``ResponseMetadata`` what botocore's retry handler would:
    ``RetryAttempts``, and ``MaxAttemptsReached`` when that is why it stopped."""
    metadata = response.get("ResponseMetadata") if isinstance(response, dict) else None
    if not isinstance(metadata, dict):
        return
    metadata["RetryAttempts"] = call.attempts - 1
    if call.stop_reason is StopReason.ATTEMPTS_EXHAUSTED:
        metadata["MaxAttemptsReached"] = True


def _params_for_every_attempt(call: Call, api_params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters every attempt starts from; stream positions are noted
    for rewinding."""
    params = dict(api_params)
    for value in params.values():
        if hasattr(value, "read"):
            position = _start_position(value)
            if position is None:
                call.body_positions = None
                break
            assert call.body_positions is not None
            call.body_positions.append((value, position))
    return params


def _attempt_params(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """One attempt's parameters: a fresh shallow copy, because botocore's
    parameter handlers rewrite some values in place (S3 CopySource quoting
    would be applied twice), with the idempotency tokens botocore filled on
    an earlier attempt. botocore fills them itself on the first attempt, at
    ``before-parameter-build`` after the Stubber's check, as without us."""
    attempt = dict(params)
    for member, token in call.idempotency_tokens.items():
        attempt.setdefault(member, token)
    return attempt


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
