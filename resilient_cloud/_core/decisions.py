"""The rules a call's next step follows, as pure functions of what is known.

No state changes here: the call core (:mod:`resilient_cloud._core.machine`)
applies these answers and commits their effects in one place.
"""

from __future__ import annotations

from resilient_cloud._outcome import AttemptOutcome
from resilient_cloud._safety import Safety
from resilient_cloud.errors import StopReason


def retry_refusal(
    outcome: AttemptOutcome, safety: Safety, *, retry_unsafe: bool, rewindable: bool
) -> StopReason | None:
    """Why a failed attempt may not be repeated at all, or None when it may.

    An unsafe operation is repeated only when its request certainly never
    reached the service (or the policy opts in); a request body that cannot
    be rewound is never sent again.
    """
    if not outcome.retryable:
        return StopReason.NOT_RETRYABLE
    if outcome.may_have_reached_service and not safety.may_repeat and not retry_unsafe:
        return StopReason.UNSAFE_TO_RETRY
    if not rewindable:
        return StopReason.STREAM_NOT_SEEKABLE
    return None


def may_leave_region(outcome: AttemptOutcome, safety: Safety) -> bool:
    """Whether the retry of a failed attempt may go to another region: after
    a sick failure, unless it is a write that may have been applied where it
    was sent (it stays there)."""
    if not outcome.region_sick:
        return False
    return not (outcome.may_have_reached_service and safety is not Safety.READ_ONLY)


def retry_cost(outcome: AttemptOutcome, throttle_retry_cost: float) -> float:
    """Tokens a retry withdraws from the budget: more after a throttle."""
    return throttle_retry_cost if outcome.throttled else 1.0


def past_deadline(now: float, deadline_at: float | None, wait: float = 0.0) -> bool:
    """Whether something starting after ``wait`` more seconds would start at
    or after the deadline."""
    return deadline_at is not None and now + wait >= deadline_at
