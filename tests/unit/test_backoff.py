"""Full-jitter backoff bounds, with seeded randomness."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st
from tenacity import RetryCallState, Retrying

from resilient_cloud._call import Call
from resilient_cloud._outcome import AttemptOutcome
from resilient_cloud._strategies import wait_full_jitter


def state_after(attempt: int, call: Call) -> RetryCallState:
    state = RetryCallState(Retrying(), fn=None, args=(call,), kwargs={})
    state.attempt_number = attempt
    return state


class _Call:
    """Just what the wait strategy reads."""

    def __init__(self, throttled: bool) -> None:
        self.outcome = AttemptOutcome("throttled" if throttled else "server-error", throttled=throttled)


def test_upper_bound_doubles_until_the_cap() -> None:
    wait = wait_full_jitter(0.05, 1.0, 0.3, random.Random(0))
    assert [wait.upper_bound(n, throttled=False) for n in range(1, 6)] == [
        0.05,
        0.1,
        0.2,
        0.3,
        0.3,
    ]
    assert wait.upper_bound(1, throttled=True) == 0.3
    assert wait.upper_bound(10_000, throttled=False) == 0.3  # no overflow


@given(
    attempt=st.integers(min_value=1, max_value=200),
    throttled=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_delay_is_within_full_jitter_bounds(attempt: int, throttled: bool, seed: int) -> None:
    wait = wait_full_jitter(0.05, 1.0, 20.0, random.Random(seed))
    delay = wait(state_after(attempt, _Call(throttled)))  # type: ignore[arg-type]
    assert 0.0 <= delay <= wait.upper_bound(attempt, throttled)


def test_same_seed_same_delays() -> None:
    def delays(seed: int) -> list[float]:
        wait = wait_full_jitter(0.05, 1.0, 20.0, random.Random(seed))
        return [wait(state_after(n, _Call(False))) for n in range(1, 8)]  # type: ignore[arg-type]

    assert delays(3) == delays(3)
    assert delays(3) != delays(4)


def test_jitter_spreads_delays_over_the_whole_range() -> None:
    wait = wait_full_jitter(1.0, 1.0, 20.0, random.Random(11))
    samples = [wait(state_after(1, _Call(False))) for _ in range(2000)]  # type: ignore[arg-type]
    assert min(samples) < 0.05 and max(samples) > 0.95
    assert 0.45 < sum(samples) / len(samples) < 0.55
