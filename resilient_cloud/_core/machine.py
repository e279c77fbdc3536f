"""The call core: one logical call as a state machine with no I/O.

A driver feeds it what happened (admitted, refused, a leg's result, time
on the policy's clock) and gets back the next action (``actions.py``): send
a leg, sleep, hedge, build a fallback client, or stop. The shape is
tenacity's own ``iter()`` (``DoAttempt``, ``DoSleep``) and httpcore's h11:
decisions here, sockets, threads and event loops in the drivers.

Effects on shared in-memory state are committed here, each at the one step
that decides it, because each is a test-and-set whose answer is the
decision: a budget withdrawal granted or refused, a breaker admission, a
router's probe slot. Nothing here waits or touches the network. Effects
that need I/O or time are the driver's: sending, sleeping, waiting for a
bulkhead slot, building a fallback client, running hedge legs.

Hook events come back as data: ``take_events()`` after each step, and on
each :class:`Judged` leg (legs may be judged on another thread).

Threads: one driver owns a core. Only ``leg_started`` and ``judge`` may run
on a hedge leg's thread; they touch the shared (locked) states, not the
call record.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tenacity import Future, RetryCallState

from resilient_cloud import hooks as _hooks
from resilient_cloud._breaker import CircuitBreakerState, Transition
from resilient_cloud._budget import RetryBudgetState
from resilient_cloud._call import Call
from resilient_cloud._core import decisions
from resilient_cloud._core.actions import (
    Action,
    Build,
    Judged,
    Leg,
    Send,
    Sleep,
    Stop,
    WaitForSlot,
)
from resilient_cloud._core.notes import BudgetChanged
from resilient_cloud._failover import Move, NeedRoute, Route
from resilient_cloud._integrity import check_response
from resilient_cloud._outcome import AttemptTrace, classify
from resilient_cloud._ratelimit import RateLimiterState
from resilient_cloud._routing import Switch
from resilient_cloud.errors import (
    BulkheadFullError,
    CircuitOpenError,
    DeadlineExceededError,
    RateLimitedError,
    ResilienceError,
    StopReason,
    annotate,
)

BreakerOf = Callable[[Route], "CircuitBreakerState | None"]
BudgetOf = Callable[[Route], "RetryBudgetState | None"]
LimiterOf = Callable[[Route], "RateLimiterState | None"]
Wait = Callable[[RetryCallState], float]


if TYPE_CHECKING:
    from typing_extensions import TypedDict

    class Where(TypedDict):
        """Where a call goes: the fields every error names."""

        service: str
        operation: str
        region: str


#: What a step decides (a hedge step: a Send or nothing).
_StepT = TypeVar("_StepT", bound="Action | None")


class _Decided(Exception):
    """Ends a step early with its action (the call's Stop, or a backoff)."""

    def __init__(self, action: Action) -> None:
        self.action = action


class CallCore:
    """Decides every step of one :class:`Call`."""

    __slots__ = ("call", "_wait", "_breaker_of", "_budget_of", "_limiter_of", "_observed",
                 "_events", "_resume", "_retry_state", "_hedge_delay", "_moved_at_once", "_paced",
                 "_limiter_memo", "finished")

    def __init__(
        self, call: Call, *, wait: Wait, breaker_of: BreakerOf, budget_of: BudgetOf,
        observed: bool, limiter_of: LimiterOf | None = None,
    ) -> None:
        """``call`` starts on ``call.route``, or where its routes say."""
        self.call = call
        self._wait = wait
        self._breaker_of = breaker_of
        self._budget_of = budget_of
        self._limiter_of = limiter_of
        self._limiter_memo: tuple[Route, RateLimiterState | None] | None = None
        #: Someone listens (hooks): make the routine per-attempt events too.
        self._observed = observed
        self._events: list[Any] = []
        self._resume: Callable[[float], Action | None] | None = None
        self._retry_state: RetryCallState | None = None
        self._hedge_delay = 0.0
        #: The last retry left its region without a backoff.
        self._moved_at_once = False
        #: The next attempt's slot at the rate limiter is reserved (the driver
        #: was sleeping until it).
        self._paced = False
        #: The core gave its Stop: the call is over.
        self.finished = False

    # -- the driver's side -------------------------------------------------

    def begin(self, now: float) -> Action:
        """The call is made: refuse it past its deadline, else wait for a
        bulkhead slot or send the first attempt."""
        return self._step(now, self._begin)

    def _begin(self, now: float) -> Action:
        call = self.call
        if call.routes is not None:
            self._enter(call.routes.start_route())
        else:
            assert call.route is not None, "a call without routes has its client's"
            self._enter(call.route)
        if call.routes is not None and call.routes.switch is not None:
            self._note_switch(call.routes.switch)
        if decisions.past_deadline(now, call.deadline_at):
            error = DeadlineExceededError(
                **self._where(), cause="the deadline passed before any request was sent"
            )
            return self._refuse(now, StopReason.DEADLINE, error)
        if call.bulkhead is not None:
            max_wait = call.bulkhead.options.max_wait
            if call.deadline_at is not None:
                max_wait = min(max_wait, call.deadline_at - now)
            return WaitForSlot(call.bulkhead, max_wait)
        return self.admitted(now)

    def admitted(self, now: float) -> Action:
        """The bulkhead gave the call a slot (or it has none)."""
        return self._step(now, self._first_attempt)

    def refused_by_bulkhead(self, now: float) -> Stop:
        bulkhead = self.call.bulkhead
        assert bulkhead is not None
        limit = bulkhead.options.max_concurrent
        error = BulkheadFullError(
            **self._where(), limit=limit,
            cause=f"{limit} calls already in flight to {self.call.endpoint}",
        )
        return self._refuse(now, StopReason.BULKHEAD_FULL, error)

    def leg_started(self, leg: Leg) -> list[Any]:
        """The events of a leg about to be sent (on the leg's thread)."""
        if not self._observed:
            return []
        return [self._event(_hooks.AttemptStarted, region=leg.route.region, attempt=leg.attempt)]

    def judge(
        self, leg: Leg, result: Any, error: BaseException | None, trace: AttemptTrace,
        started: float, ended: float,
    ) -> Judged:
        """Classify what one leg got and tell the route's breaker, the router
        and the hedge latencies. Changes nothing on the call record: hedge
        legs are judged on their own threads."""
        call = self.call
        if error is None:
            # botocore's retry handler checked bodies; it is gone, we check.
            error = check_response(trace.exchange, call.operation.model)
        if error is not None:
            result = None
        outcome = classify(error, trace, call.operation.model)
        events: list[Any] = []
        failure = f"{outcome.kind} ({outcome.error})" if outcome.error else outcome.kind
        failed = outcome.endpoint_failed
        breaker = call.breaker if leg.route is call.route else self._breaker_of(leg.route)
        if leg.admission is not None and breaker is not None:
            transition = breaker.record(ended, leg.admission, failed, failure)
            self._note_transition(transition, events)
        if call.routes is not None:
            switch = call.routes.record(ended, leg.route.index, outcome, failure)
            if switch is not None:
                self._note_switch(switch, events)
        limiter = None
        if self._limiter_of is not None and (outcome.throttled or RateLimiterState.engaged):
            limiter = self._limiter(leg.route)  # nothing to do until a throttle is seen
        if limiter is not None and failed is not None:
            throttled = outcome.throttled
            limiter.record(ended, throttled=throttled, accepted=failed is False and not throttled)
        if call.hedge is not None and leg.attempt == 1 and outcome.succeeded:
            # Answers only: a fast refusal says nothing about how long a read takes.
            call.hedge.observe(ended - started)
        if self._observed:
            events.append(self._event(
                _hooks.AttemptEnded, region=leg.route.region, attempt=leg.attempt,
                outcome=outcome.kind, error=outcome.error, duration=ended - started,
            ))
        return Judged(leg, result, error, outcome, tuple(events))

    def settle(self, judged: Judged, now: float) -> Action:
        """The attempt's answer is in: stop with it, or retry."""
        call = self.call
        call.outcome = judged.outcome
        call.answered_in = judged.leg.route.region
        if judged.error is None:
            return self._finish(now, result=judged.result)
        call.last_error = judged.error
        return self._step(now, functools.partial(self._after_failure, judged.error))

    def slept(self, now: float) -> Action:
        """The backoff (or the wait for a rate limiter's slot) is over: the
        next attempt."""
        return self._step(now, self._first_attempt if self.call.attempts == 0 else self._attempt)

    def built(self, index: int, ok: bool, now: float) -> Any:
        """Region ``index``'s client was built (``ok``) or failed to be (the
        call then skips that region): decide again."""
        step, self._resume = self._resume, None
        assert step is not None, "built() without a Build"
        if not ok:
            assert self.call.routes is not None
            self.call.routes.build_failed(index)
        return self._step(now, step)

    def hedge_due(self, now: float) -> Send | Build | None:
        """The first attempt has not answered after ``hedge_after``: a hedge
        leg, a client to build first (then ``built``, which answers the same
        way), or None (no hedge: wait for the first)."""
        # A hedge step ends in a Send, a Build or None, never with a _Decided.
        return self._step(now, self._hedge)  # type: ignore[return-value]

    def raced(self, judged: Judged, hedge_won: bool, now: float) -> Action:
        """A hedged race is over; ``judged`` is the answer used."""
        assert self.call.hedge is not None
        self.call.hedge.count(fired=True, won=hedge_won)
        if self._observed:
            self._events.append(self._event(_hooks.HedgeEnded, hedge_won=hedge_won))
        return self.settle(judged, now)

    def abandon(self, leg: Leg, started: float, now: float) -> list[Any]:
        """A leg was cancelled before its answer (asyncio): hand back the
        breaker admission it holds, saying nothing about the endpoint. Its
        events (it ended "cancelled"), for the driver to publish."""
        events: list[Any] = []
        breaker = self.call.breaker if leg.route is self.call.route else self._breaker_of(leg.route)
        if leg.admission is not None and breaker is not None:
            self._note_transition(breaker.record(now, leg.admission, None), events)
        if self._observed:
            events.append(self._event(
                _hooks.AttemptEnded, region=leg.route.region, attempt=leg.attempt,
                outcome="cancelled", error=None, duration=now - started,
            ))
        return events

    def cancelled(self, now: float, error: BaseException) -> None:
        """The call was cancelled: free what it holds and say it ended."""
        self._finish(now, error=error)

    def deadline_passed(self, now: float) -> Stop:
        """The deadline passed while the call was in flight (the async
        driver's timeout cancelled its legs, which were abandoned)."""
        error = DeadlineExceededError(
            **self._where(), cause="the deadline passed while an attempt was in flight"
        )
        return self._stop(now, StopReason.DEADLINE, error)

    def take_events(self) -> list[Any]:
        events, self._events = self._events, []
        return events

    # -- steps ---------------------------------------------------------------
    # A step may need a fallback route whose client is not built: it then
    # raises NeedRoute before committing anything, and runs again after the
    # driver built it (each region is built at most once per client).

    def _step(self, now: float, step: Callable[[float], _StepT]) -> _StepT | Action:
        try:
            return step(now)
        except NeedRoute as need:
            self._resume = step
            return Build(need.index)
        except _Decided as decided:
            return decided.action

    def _first_attempt(self, now: float) -> Action:
        send = self._attempt(now)
        call = self.call
        if call.hedge is not None and not call.has_streams:
            self._hedge_delay = call.hedge.delay()
            return Send(send.leg, send.rewind, self._hedge_delay)
        return send

    def _attempt(self, now: float) -> Send:
        """Pace, admit, count and address the next attempt."""
        if self._limiter_of is not None and RateLimiterState.engaged:
            self._pace(now)
        admission = self._admit(now)
        call = self.call
        first = call.attempts == 0
        if first and call.budget is not None:
            call.budget.record_first_attempt(now)
        call.attempts += 1
        if call.moved_from is not None:
            before, why = call.moved_from
            call.moved_from = None
            if before != call.region:  # not back where the last attempt went
                self._events.append(self._event(
                    _hooks.FailedOver, region=before, to_region=call.region, reason=why
                ))
        assert call.route is not None
        return Send(Leg(call.route, call.attempts, admission), rewind=not first)

    def _pace(self, now: float) -> None:
        """Take the attempt's slot at its endpoint's rate limiter: wait for
        it (a Sleep), or stop when it comes after the deadline or the
        limiter's longest wait. Nothing happens while the endpoint has not
        throttled."""
        if self._paced:
            self._paced = False  # reserved before the driver slept until it
            return
        call = self.call
        assert call.route is not None
        limiter = self._limiter(call.route)
        if limiter is None or not limiter.pacing:
            return
        max_wait = limiter.options.max_wait
        latest = now + max_wait
        if call.deadline_at is not None and call.deadline_at < latest:
            latest = call.deadline_at
        wait = limiter.reserve(now, latest)
        if wait is None:
            before = "the call's deadline" if latest == call.deadline_at else f"{max_wait:g}s from now"
            call.stop_reason = StopReason.RATE_LIMITED
            if call.attempts and call.last_error is not None:
                raise _Decided(self._finish(now, error=call.last_error))
            error = RateLimitedError(
                **self._where(), retry_after=limiter.next_slot_in(now),
                cause=f"{call.endpoint} throttles and its rate limiter has no slot before {before}",
            )
            raise _Decided(self._refuse(now, StopReason.RATE_LIMITED, error))
        if wait > 0.0:
            self._paced = True
            raise _Decided(Sleep(wait))

    def _limiter(self, route: Route) -> RateLimiterState | None:
        if self._limiter_of is None:
            return None
        # One lookup per region the call uses; one tuple, replaced whole, so a
        # hedge leg's thread never pairs a route with another route's limiter.
        memo = self._limiter_memo
        if memo is None or memo[0] is not route:
            memo = self._limiter_memo = (route, self._limiter_of(route))
        return memo[1]

    def _admit(self, now: float) -> Any:
        """Ask the breaker; an open one sends the attempt to another region
        when the call may move, and otherwise stops the call."""
        call = self.call
        # Regions whose breakers refused this attempt. A half-open breaker
        # whose probes are all in flight refuses without being "open" to the
        # router, so a new round may lead back to it: without this, two such
        # regions would bounce the attempt between them for ever.
        refused: set[int] | None = None  # made on the first refusal: most attempts have none
        while True:
            breaker = call.breaker
            if breaker is None:
                return None
            admission, transition = breaker.admit(now, probe_now=self._is_router_probe())
            self._note_transition(transition, self._events)
            if admission.allowed:
                return admission
            assert call.route is not None
            if refused is None:
                refused = set()
            refused.add(call.route.index)
            if call.routes is not None:
                move = call.routes.plan_move(call.route.index, new_round=True)
                self._commit_move(move, f"the breaker of {call.endpoint} is open")
                if move.route is not None and move.route.index not in refused:
                    if not move.tried and self._moved_at_once:
                        # Back to a region this round tried, just after leaving
                        # it without a backoff: back off first, as a new round does.
                        raise _Decided(self._back_off_again(now))
                    continue  # nothing was sent: moving costs no token
            break
        call.stop_reason = StopReason.CIRCUIT_OPEN
        if call.attempts and call.last_error is not None:
            # Opened during our backoff: end with the last real error.
            raise _Decided(self._finish(now, error=call.last_error))
        breaker = call.breaker or breaker  # the one named by call.endpoint
        retry_after = breaker.retry_after(now)
        error = CircuitOpenError(
            **self._where(),
            cause=(
                f"circuit breaker for {call.endpoint} is open"
                + _next_probe(retry_after)
            ),
            retry_after=retry_after,
            last_failure=breaker.snapshot(now).last_failure,
        )
        raise _Decided(self._refuse(now, StopReason.CIRCUIT_OPEN, error, retry_after))

    def _after_failure(self, error: BaseException, now: float) -> Action:
        """Retry a failed attempt, or stop: is it safe to repeat, where would
        it go, how long to wait, and may it (attempts, breaker, deadline,
        budget, in that order: a refused retry never costs a token)?"""
        call = self.call
        outcome = call.outcome
        assert outcome is not None
        refusal = decisions.retry_refusal(
            outcome, call.operation.safety,
            retry_unsafe=call.retry_unsafe, rewindable=call.rewindable,
        )
        if refusal is not None:
            return self._stop(now, refusal, error)
        move, why, moves_at_once = self._retry_region()
        delay = 0.0 if moves_at_once else self._backoff(now, error)
        self._moved_at_once = moves_at_once
        breaker = call.breaker
        if move is not None and move.route is not None:
            breaker = self._breaker_of(move.route)
        route = move.route if move is not None and move.route is not None else call.route
        assert route is not None
        paced = outcome.throttled and self._limiter(route) is not None
        limit = call.max_attempts
        if outcome.throttled and call.throttled_attempts is not None:
            limit = call.throttled_attempts
        if call.attempts >= limit:
            return self._stop(now, StopReason.ATTEMPTS_EXHAUSTED, error)
        if breaker is not None and breaker.retry_after(now) is not None:
            return self._stop(now, StopReason.CIRCUIT_OPEN, error)
        if decisions.past_deadline(now, call.deadline_at, delay):
            return self._stop(now, StopReason.DEADLINE, error)
        if call.budget is not None and not paced:  # the limiter paces throttled retries
            cost = decisions.retry_cost(outcome, call.budget.options.throttle_retry_cost)
            withdrawal = call.budget.try_withdraw(now, cost)
            if withdrawal.changed:
                self._events.append(BudgetChanged(call.service, call.region, withdrawal.granted))
            if not withdrawal.granted:
                return self._stop(now, StopReason.BUDGET_EXHAUSTED, error)
            call.last_budget_cost = cost
        if move is not None:
            self._commit_move(move, why)
        self._events.append(self._event(  # also logged (debug): failures only
                _hooks.RetryScheduled, attempt=call.attempts + 1, delay=delay,
                outcome=outcome.kind, budget_cost=call.last_budget_cost,
        ))
        return Sleep(delay)

    def _back_off_again(self, now: float) -> Sleep | Stop:
        """The backoff a retry skipped when it moved at once (its retry is
        paid for), unless the deadline comes first."""
        call = self.call
        assert call.last_error is not None
        self._moved_at_once = False
        delay = self._backoff(now, call.last_error)
        if decisions.past_deadline(now, call.deadline_at, delay):
            return self._stop(now, StopReason.DEADLINE, call.last_error)
        return Sleep(delay)

    def _retry_region(self) -> tuple[Move | None, str, bool]:
        """Where the retry goes: after a sick failure, the next region at
        once; when every region failed this round, a new round after the
        backoff. Also whether it moves at once (no backoff)."""
        call = self.call
        outcome = call.outcome
        assert outcome is not None
        if call.routes is None or not decisions.may_leave_region(outcome, call.operation.safety):
            return None, "", False
        assert call.route is not None
        why = f"{outcome.kind} ({outcome.error}) in {call.region}"
        move = call.routes.plan_move(call.route.index)
        if move.route is not None:
            return move, why, True  # another region: no reason to wait
        return call.routes.plan_move(call.route.index, new_round=True), why, False

    def _commit_move(self, move: Move, why: str) -> None:
        call = self.call
        assert call.routes is not None
        call.routes.tried = move.tried
        if move.route is not None:
            call.move_to(move.route, self._breaker_of(move.route), why)

    def _enter(self, route: Route) -> None:
        """Start the call on ``route``: its region, breaker and budget (the
        budget every retry of the call draws on, wherever it goes)."""
        call = self.call
        call.route, call.region, call.endpoint = route, route.region, route.name
        call.breaker = self._breaker_of(route)
        call.budget = self._budget_of(route)

    def _backoff(self, now: float, error: BaseException) -> float:
        """The user's (or our) tenacity wait strategy, asked as tenacity would."""
        call = self.call
        state = self._retry_state
        if state is None:
            state = self._retry_state = RetryCallState(None, None, (call,), {})  # type: ignore[arg-type]
            state.start_time = call.started_at
        state.attempt_number = call.attempts
        outcome = Future(call.attempts)
        outcome.set_exception(error)
        state.outcome, state.outcome_timestamp = outcome, now
        delay = max(0.0, float(self._wait(state)))
        state.idle_for += delay
        return delay

    def _hedge(self, now: float) -> Send | None:
        """A hedge, if attempts, deadline, a region's breaker and the budget
        allow one; else the refusal is counted and the first attempt waited for."""
        call = self.call
        hedge = call.hedge
        assert hedge is not None and call.route is not None
        if call.attempts >= call.max_attempts:
            return None  # a hedge is an attempt: Retry(max_attempts=1) sends one request
        if decisions.past_deadline(now, call.deadline_at):
            return None
        route = call.route
        if call.routes is not None:
            route = call.routes.hedge_route(call.route) or call.route
        breaker = self._breaker_of(route)
        admission = None
        if breaker is not None:
            admission, transition = breaker.admit(now)
            self._note_transition(transition, self._events)
            if not admission.allowed:
                # Counted like a budget refusal (docs/configuration.md, Hedge):
                # health()'s "refused" must show hedges the breaker stopped.
                hedge.count(fired=False)
                return None
        limiter = self._limiter(route)
        if (call.budget is not None and not call.budget.try_withdraw(now, 1.0).granted) or (
            limiter is not None and limiter.reserve(now, now) != 0.0
        ):
            if admission is not None and breaker is not None:
                breaker.record(now, admission, None)  # hand back a probe slot
            hedge.count(fired=False)
            return None
        call.attempts += 1
        if self._observed:
            self._events.append(self._event(
                _hooks.HedgeFired, to_region=route.region, delay=self._hedge_delay
            ))
        return Send(Leg(route, call.attempts, admission, hedge=True))

    # -- the end ---------------------------------------------------------------

    def _stop(self, now: float, reason: StopReason, error: BaseException) -> Stop:
        self.call.stop_reason = reason
        return self._finish(now, error=error)

    def _refuse(
        self, now: float, reason: StopReason, error: ResilienceError,
        retry_after: float | None = None,
    ) -> Stop:
        self.call.stop_reason = reason
        self._events.append(self._event(_hooks.CallRejected, reason=reason, retry_after=retry_after))
        return self._finish(now, error=error)

    def _finish(self, now: float, *, result: Any = None, error: BaseException | None = None) -> Stop:
        self.finished = True
        call = self.call
        if call.routes is not None:
            call.routes.release()
        if call.moved_from is not None and call.attempts:
            # Moved by an open breaker and then stopped: the attempt was never
            # sent there, so the error and CallEnded name where the last went.
            call.region = call.moved_from[0]
            call.moved_from = None
        if error is None:
            if call.attempts > 1:  # after one attempt botocore's own count (0) stands
                _report_attempts(result, call)
        elif isinstance(error, Exception) and not isinstance(error, ResilienceError):
            annotate(error, call.details(now))
            _report_attempts(getattr(error, "response", None), call)
        if self._observed:
            self._events.append(self._event(
                _hooks.CallEnded, attempts=call.attempts, succeeded=error is None,
                reason=call.stop_reason if error is not None else None,
                elapsed=now - call.started_at,
            ))
        return Stop(result, error)

    # -- events ------------------------------------------------------------------

    def _note_transition(self, transition: Transition | None, events: list[Any]) -> None:
        if transition is None:
            return
        call = self.call
        events.append(self._event(
            _hooks.BreakerStateChanged, endpoint=call.endpoint, before=transition.before.value,
            after=transition.after.value, reason=transition.reason,
        ))

    def _note_switch(self, switch: Switch, events: list[Any] | None = None) -> None:
        routes = self.call.routes
        assert routes is not None
        home = routes.router.regions[0]
        (self._events if events is None else events).append(self._event(
            _hooks.RegionSwitched, region=home,
            before=switch.before, after=switch.after, reason=switch.reason,
        ))

    def _event(self, event_type: type, **fields: Any) -> Any:
        call = self.call
        fields.setdefault("region", call.region)
        return event_type(service=call.service, operation=call.operation.name, **fields)

    def _where(self) -> Where:
        call = self.call
        return {"service": call.service, "operation": call.operation.name, "region": call.region}

    def _is_router_probe(self) -> bool:
        """The call's first attempt is the router's probe of the primary."""
        call = self.call
        routes = call.routes
        return (
            routes is not None and routes.start.probe and call.attempts == 0
            and call.route is not None and call.route.index == routes.start.index
        )


def _next_probe(retry_after: float | None) -> str:
    if retry_after is None:
        return ""
    if retry_after == 0.0:
        return "; it probes again once a few more calls are refused"
    return f"; next probe in {retry_after:.2f}s"


def _report_attempts(response: Any, call: Call) -> None:
    """Say in ``ResponseMetadata`` what botocore's retry handler would:
    ``RetryAttempts``, and ``MaxAttemptsReached`` when that is why it stopped."""
    metadata = response.get("ResponseMetadata") if isinstance(response, dict) else None
    if not isinstance(metadata, dict):
        return
    metadata["RetryAttempts"] = call.attempts - 1
    if call.stop_reason is StopReason.ATTEMPTS_EXHAUSTED:
        metadata["MaxAttemptsReached"] = True
