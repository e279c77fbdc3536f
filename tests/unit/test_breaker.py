"""The circuit breaker's state machine, on a fake clock with seeded jitter."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from resilient_cloud import CircuitBreaker
from resilient_cloud._breaker import Admission, BreakerState, CircuitBreakerState

OPTIONS = CircuitBreaker(
    failure_ratio=0.5, minimum_attempts=10, consecutive_failures=8, window=10.0,
    break_duration=5.0, max_break_duration=40.0, half_open_probes=1,
)


def attempt(breaker: CircuitBreakerState, now: float, failed: bool | None) -> Admission:
    admission, _ = breaker.admit(now)
    if admission.allowed:
        breaker.record(now, admission, failed, "server-error" if failed else None)
    return admission


def test_opens_on_failure_ratio_after_minimum_attempts() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    for i in range(9):  # 5 of 9 failed: below the minimum
        attempt(breaker, 100.0, failed=i % 2 == 0)
    assert breaker.snapshot(100.0).state is BreakerState.CLOSED
    attempt(breaker, 100.0, failed=True)  # 10 attempts, 6 failed
    assert breaker.snapshot(100.0).state is BreakerState.OPEN


def test_ratio_below_the_threshold_stays_closed() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    for i in range(100):  # 30% failures in bursts of 3: at most 6 of 13
        attempt(breaker, 100.0 + i * 0.01, failed=i % 10 < 3)
    assert breaker.snapshot(101.0).state is BreakerState.CLOSED


def test_opens_on_consecutive_failures_despite_a_good_ratio() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    for _ in range(40):
        attempt(breaker, 100.0, failed=False)
    for _ in range(7):
        attempt(breaker, 100.0, failed=True)
    assert breaker.snapshot(100.0).state is BreakerState.CLOSED
    attempt(breaker, 100.0, failed=True)
    snapshot = breaker.snapshot(100.0)
    assert snapshot.state is BreakerState.OPEN and snapshot.last_failure == "server-error"


def test_client_errors_and_silent_outcomes_do_not_count() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    for _ in range(50):
        attempt(breaker, 100.0, failed=None)
    assert breaker.snapshot(100.0).attempts_in_window == 0


def test_old_failures_leave_the_window() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    for _ in range(6):
        attempt(breaker, 100.0, failed=True)
    for _ in range(6):
        attempt(breaker, 111.0, failed=False)  # the failures expired
    assert breaker.snapshot(111.0).state is BreakerState.CLOSED


def test_open_rejects_then_half_open_probe_closes() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    for _ in range(8):
        attempt(breaker, 100.0, failed=True)
    retry_after = breaker.retry_after(100.0)
    assert retry_after is not None and 2.5 <= retry_after <= 5.0  # equal jitter
    assert breaker.admit(100.0 + retry_after - 0.01)[0] is Admission.REJECTED
    admission, transition = breaker.admit(100.0 + retry_after)
    assert admission is Admission.PROBE
    assert transition is not None and transition.after is BreakerState.HALF_OPEN
    assert breaker.admit(100.0 + retry_after)[0] is Admission.REJECTED  # one probe at a time
    transition = breaker.record(100.0 + retry_after, admission, failed=False)
    assert transition is not None and transition.after is BreakerState.CLOSED


def test_failed_probes_grow_the_break_up_to_the_cap() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(3))
    now = 100.0
    for _ in range(8):
        attempt(breaker, now, failed=True)
    breaks = []
    for _ in range(6):
        retry_after = breaker.retry_after(now)
        assert retry_after is not None
        breaks.append(retry_after)
        now += retry_after
        assert attempt(breaker, now, failed=True) is Admission.PROBE
    ceilings = [min(40.0, 5.0 * 2**n) for n in range(6)]
    assert all(c / 2 <= b <= c for b, c in zip(breaks, ceilings))
    assert breaks[-1] >= 20.0


def test_jitter_spreads_breakers_that_opened_together() -> None:
    opened_until = set()
    for seed in range(20):
        breaker = CircuitBreakerState(OPTIONS, random.Random(seed))
        for _ in range(8):
            attempt(breaker, 100.0, failed=True)
        opened_until.add(round(breaker.retry_after(100.0), 6))
    assert len(opened_until) == 20


@settings(max_examples=300, deadline=None)
@given(
    probes=st.integers(min_value=1, max_value=4),
    events=st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=4.0, allow_nan=False),
            st.sampled_from(["admit", "succeed", "fail", "silent"]),
        ),
        max_size=200,
    ),
)
def test_half_open_never_lets_more_probes_through_than_configured(probes, events) -> None:
    options = CircuitBreaker(
        minimum_attempts=1, consecutive_failures=1, break_duration=1.0,
        max_break_duration=2.0, half_open_probes=probes,
    )
    breaker = CircuitBreakerState(options, random.Random(0))
    now = 0.0
    attempt(breaker, now, failed=True)  # open
    in_flight: list[Admission] = []
    for gap, action in events:
        now += gap
        if action == "admit":
            admission, _ = breaker.admit(now)
            if admission.allowed:
                in_flight.append(admission)
        elif in_flight:
            admission = in_flight.pop(0)
            failed = {"succeed": False, "fail": True, "silent": None}[action]
            breaker.record(now, admission, failed)
        # Probes admitted in any half-open period and not yet reported.
        assert sum(a is Admission.PROBE for a in in_flight) <= probes


def test_a_router_probe_may_be_the_half_open_probe_before_the_break_is_over() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    for _ in range(8):
        attempt(breaker, 100.0, failed=True)
    assert breaker.admit(100.1)[0] is Admission.REJECTED  # an ordinary attempt waits
    admission, transition = breaker.admit(100.1, probe_now=True)
    assert admission is Admission.PROBE
    assert transition is not None and transition.after is BreakerState.HALF_OPEN
    assert "router" in transition.reason
    assert breaker.admit(100.1, probe_now=True)[0] is Admission.REJECTED  # one at a time
    transition = breaker.record(100.2, admission, failed=False)
    assert transition is not None and transition.after is BreakerState.CLOSED


# -- the thresholds, exactly at their boundaries -------------------------------
#
# The defaults (docs/configuration.md): open when 50% of at least 20 attempts
# in the window failed, or after 20 failures in a row. Failures alternate with
# successes here, so the run of failures never passes 1.

DEFAULTS = CircuitBreaker()


def test_opens_at_exactly_half_of_exactly_the_minimum_attempts() -> None:
    breaker = CircuitBreakerState(DEFAULTS, random.Random(1))
    for i in range(19):  # s f s f ... s: 9 failures of 19
        attempt(breaker, 100.0, failed=i % 2 == 1)
    assert breaker.snapshot(100.0).state is BreakerState.CLOSED
    admission, _ = breaker.admit(100.0)
    transition = breaker.record(100.0, admission, True, "server-error")  # 10 of 20: 50%
    assert transition is not None and transition.after is BreakerState.OPEN
    assert transition.reason == "10 of 20 attempts failed in 10s"
    assert breaker.snapshot(100.0).consecutive_failures == 1  # the ratio opened it


def test_just_below_half_of_the_minimum_attempts_stays_closed() -> None:
    breaker = CircuitBreakerState(DEFAULTS, random.Random(1))
    for i in range(20):  # f s s f s f s f ...: 9 failures of 20, never two in a row
        attempt(breaker, 100.0, failed=i % 2 == 1 and i != 1)
    snapshot = breaker.snapshot(100.0)
    assert (snapshot.attempts_in_window, snapshot.failures_in_window) == (20, 9)
    assert snapshot.state is BreakerState.CLOSED


def test_half_failed_below_the_minimum_attempts_stays_closed() -> None:
    breaker = CircuitBreakerState(DEFAULTS, random.Random(1))
    for i in range(19):  # f s f s ... f: 10 failures of 19, over half but too few
        attempt(breaker, 100.0, failed=i % 2 == 0)
    snapshot = breaker.snapshot(100.0)
    assert (snapshot.attempts_in_window, snapshot.failures_in_window) == (19, 10)
    assert snapshot.state is BreakerState.CLOSED
    attempt(breaker, 100.0, failed=False)  # a success never opens it: 10 of 20
    assert breaker.snapshot(100.0).state is BreakerState.CLOSED
    attempt(breaker, 100.0, failed=True)  # 11 of 21
    assert breaker.snapshot(100.0).state is BreakerState.OPEN


def test_opens_at_exactly_the_consecutive_failures() -> None:
    options = CircuitBreaker(consecutive_failures=20, minimum_attempts=1000)
    breaker = CircuitBreakerState(options, random.Random(1))
    for _ in range(19):
        attempt(breaker, 100.0, failed=True)
    assert breaker.snapshot(100.0).state is BreakerState.CLOSED
    admission, _ = breaker.admit(100.0)
    transition = breaker.record(100.0, admission, True)
    assert transition is not None and transition.reason == "20 failures in a row"
