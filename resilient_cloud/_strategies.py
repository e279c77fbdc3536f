"""Our decisions, as tenacity strategies.

tenacity asks, after each failed attempt: ``retry`` (is this worth another
attempt?), then ``wait`` (how long first?), then ``stop`` (may we?). Each
strategy records on the :class:`~resilient_cloud._call.Call` why it said no,
so the final error and the hooks can say why the call stopped.
"""

from __future__ import annotations

import logging
import random

from tenacity import RetryCallState
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from resilient_cloud._call import Call, call_of
from resilient_cloud._clock import Clock
from resilient_cloud._safety import Safety
from resilient_cloud.errors import StopReason

logger = logging.getLogger("resilient_cloud")


class retry_if_safe_to_retry(retry_base):
    """Retry a retryable failure unless repeating it could apply a write twice.

    Unsafe operations are retried only when the request certainly never
    reached the service (connection failures, throttling), unless the policy
    opts in; a request body that cannot be rewound is never sent again.
    """

    def __call__(self, retry_state: RetryCallState) -> bool:
        call = call_of(retry_state)
        outcome = call.outcome
        if outcome is None or outcome.succeeded or call.stop_reason is not None:
            return False
        if not outcome.retryable:
            call.stop_reason = StopReason.NOT_RETRYABLE
            return False
        if (
            outcome.may_have_reached_service
            and not call.operation.safety.may_repeat
            and not call.retry_unsafe
        ):
            call.stop_reason = StopReason.UNSAFE_TO_RETRY
            return False
        if call.body_positions is None:
            call.stop_reason = StopReason.STREAM_NOT_SEEKABLE
            return False
        if call.routes is not None:
            _choose_region(call)
        return True


def _choose_region(call: Call) -> None:
    """Where the retry goes: after a sick failure, the next region at once;
    a write moves only if its request certainly never arrived."""
    outcome = call.outcome
    assert outcome is not None and call.routes is not None
    if not outcome.region_sick:
        return
    if outcome.may_have_reached_service and call.operation.safety is not Safety.READ_ONLY:
        return  # an ambiguous write stays where it may have been applied
    why = f"{outcome.kind} ({outcome.error}) in {call.region}"
    if call.routes.move(call, why):
        call.skip_backoff = True  # another region: no reason to wait
    else:
        call.routes.move(call, why, new_round=True)  # every region failed: back off first


class wait_full_jitter(wait_base):
    """``uniform(0, min(cap, base * 2**(n-1)))`` before retry ``n``, drawn from
    an injected generator; throttled attempts use ``throttle_base``."""

    def __init__(
        self, base: float, throttle_base: float, cap: float, rng: random.Random
    ) -> None:
        self.base = base
        self.throttle_base = throttle_base
        self.cap = cap
        self.rng = rng

    def upper_bound(self, attempt: int, throttled: bool) -> float:
        base = self.throttle_base if throttled else self.base
        exponent = min(attempt - 1, 64)  # 2**64 * base is past any cap
        return min(self.cap, base * 2.0**exponent)

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = call_of(retry_state).outcome
        throttled = outcome is not None and outcome.throttled
        return self.rng.uniform(0.0, self.upper_bound(retry_state.attempt_number, throttled))


class wait_unless_failing_over(wait_base):
    """``wait``, except before an attempt that moves to another region
    after a sick failure: that one goes at once."""

    def __init__(self, wait: wait_base) -> None:
        self.wait = wait

    def __call__(self, retry_state: RetryCallState) -> float:
        if call_of(retry_state).skip_backoff:
            return 0.0
        return self.wait(retry_state)


class stop_when_spent(stop_base):
    """Stop when attempts are spent, when the endpoint's breaker is open,
    when the backoff would end past the deadline, or when the retry budget
    cannot pay for one more attempt.

    Checked in that order; the budget is charged only when the retry will
    really happen, so a refused retry never costs tokens.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        call = call_of(retry_state)
        if call.attempts >= call.max_attempts:
            call.stop_reason = StopReason.ATTEMPTS_EXHAUSTED
            return True
        now = self.clock.monotonic()
        if call.breaker is not None and call.breaker.retry_after(now) is not None:
            call.stop_reason = StopReason.CIRCUIT_OPEN
            return True
        if call.deadline_at is not None and now + retry_state.upcoming_sleep >= call.deadline_at:
            call.stop_reason = StopReason.DEADLINE
            return True
        if call.budget is not None:
            cost = (
                call.budget.options.throttle_retry_cost
                if call.outcome is not None and call.outcome.throttled
                else 1.0
            )
            withdrawal = call.budget.try_withdraw(now, cost)
            if withdrawal.changed:
                _log_budget_change(call, withdrawal.granted)
            if not withdrawal.granted:
                call.stop_reason = StopReason.BUDGET_EXHAUSTED
                return True
            call.last_budget_cost = cost
        return False


def _log_budget_change(call: Call, granted: bool) -> None:
    if granted:
        logger.info(
            "retry budget for %s.%s recovered: retries allowed again",
            call.service,
            call.region,
        )
    else:
        logger.warning(
            "retry budget for %s.%s is empty: failed calls are no longer retried",
            call.service,
            call.region,
        )
