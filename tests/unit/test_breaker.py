"""The circuit breaker's state machine, on a fake clock with seeded jitter."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resilient_cloud import CircuitBreaker
from resilient_cloud._breaker import Admission, BreakerState, CircuitBreakerState, Transition

OPTIONS = CircuitBreaker(
    failure_ratio=0.5, minimum_attempts=10, consecutive_failures=8, window=10.0,
    break_duration=5.0, max_break_duration=40.0, half_open_probes=1, refusals_before_probe=0,
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
        max_break_duration=2.0, half_open_probes=probes, refusals_before_probe=0,
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


# -- what the state machine reports, and its edges -------------------------------


def open_breaker(rng_seed: int = 1, now: float = 100.0) -> CircuitBreakerState:
    breaker = CircuitBreakerState(OPTIONS, random.Random(rng_seed))
    for _ in range(8):
        attempt(breaker, now, failed=True)
    return breaker


#: Only runs of failures open these (the ratio needs 1000 attempts).
IN_A_ROW = CircuitBreaker(
    failure_ratio=0.5, minimum_attempts=1000, consecutive_failures=8, window=10.0,
    break_duration=5.0, max_break_duration=40.0, half_open_probes=1, refusals_before_probe=0,
)


def test_the_snapshot_of_an_opened_breaker() -> None:
    breaker = CircuitBreakerState(IN_A_ROW, random.Random(1))
    for _ in range(3):
        attempt(breaker, 100.0, failed=False)
    before = breaker.snapshot(100.0)
    assert (before.attempts_in_window, before.failures_in_window, before.opened_times) == (3, 0, 0)
    assert before.retry_after is None and before.last_failure is None
    for _ in range(8):
        attempt(breaker, 100.0, failed=True)
    snapshot = breaker.snapshot(101.0)
    assert snapshot.state is BreakerState.OPEN
    assert (snapshot.attempts_in_window, snapshot.failures_in_window) == (0, 0)  # a new window
    assert snapshot.consecutive_failures == 8 and snapshot.opened_times == 1
    assert snapshot.last_failure == "server-error"
    until = 100.0 + breaker.retry_after(100.0)
    assert snapshot.retry_after == pytest.approx(until - 101.0)
    assert breaker.snapshot(until + 1.0).retry_after == 0.0  # over, not yet probed
    assert repr(breaker) == "<CircuitBreakerState open, 8 consecutive failures, opened 1 times>"


def test_retry_after_is_none_once_the_break_is_over_and_when_closed() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    assert breaker.retry_after(100.0) is None
    for _ in range(8):
        attempt(breaker, 100.0, failed=True)
    until = 100.0 + breaker.retry_after(100.0)
    assert breaker.retry_after(until - 1e-6) == pytest.approx(1e-6, abs=1e-9)
    assert breaker.retry_after(until) is None
    assert breaker.admit(until - 1e-6)[0] is Admission.REJECTED
    assert breaker.admit(until)[0] is Admission.PROBE  # exactly at the end


def test_every_transition_names_its_reason() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    for _ in range(7):
        assert breaker.record(100.0, breaker.admit(100.0)[0], True) is None
    opened = breaker.record(100.0, breaker.admit(100.0)[0], True)
    assert opened == Transition(BreakerState.CLOSED, BreakerState.OPEN, "8 failures in a row")
    later = 100.0 + breaker.retry_after(100.0)
    admission, half_open = breaker.admit(later)
    assert half_open == Transition(BreakerState.OPEN, BreakerState.HALF_OPEN, "break time over")
    reopened = breaker.record(later, admission, True)
    assert reopened == Transition(BreakerState.HALF_OPEN, BreakerState.OPEN, "a probe failed")
    admission, routed = breaker.admit(later + 0.1, probe_now=True)
    assert routed == Transition(BreakerState.OPEN, BreakerState.HALF_OPEN, "a fallback router probes it")
    closed = breaker.record(later + 0.1, admission, False)
    assert closed == Transition(BreakerState.HALF_OPEN, BreakerState.CLOSED, "a probe succeeded")
    assert breaker.admit(later + 0.2) == (Admission.ALLOWED, None)
    assert breaker.snapshot(later + 0.2).opened_times == 2


def test_a_successful_probe_resets_the_break_and_the_counts() -> None:
    breaker = open_breaker(rng_seed=4)
    now = 100.0
    for _ in range(3):  # three failed probes: the break grows to 40 s
        now += breaker.retry_after(now)
        attempt(breaker, now, failed=True)
    assert breaker.retry_after(now) > 20.0 - 1e-9
    now += breaker.retry_after(now)
    assert attempt(breaker, now, failed=False) is Admission.PROBE
    snapshot = breaker.snapshot(now)
    assert snapshot.state is BreakerState.CLOSED and snapshot.consecutive_failures == 0
    assert (snapshot.attempts_in_window, snapshot.failures_in_window) == (0, 0)
    for _ in range(8):
        attempt(breaker, now, failed=True)
    assert breaker.retry_after(now) <= 5.0  # the first break again, not a longer one
    assert breaker.snapshot(now).opened_times == 5


def test_a_success_ends_a_run_of_failures() -> None:
    breaker = CircuitBreakerState(IN_A_ROW, random.Random(1))
    for _ in range(7):
        attempt(breaker, 100.0, failed=True)
    attempt(breaker, 100.0, failed=False)
    assert breaker.snapshot(100.0).consecutive_failures == 0
    for _ in range(7):
        attempt(breaker, 100.0, failed=True)
    snapshot = breaker.snapshot(100.0)  # 14 of 15 failed: only a run of 8 opens it
    assert snapshot.state is BreakerState.CLOSED and snapshot.consecutive_failures == 7


def test_late_outcomes_while_open_change_nothing() -> None:
    breaker = CircuitBreakerState(OPTIONS, random.Random(1))
    admitted = [breaker.admit(100.0)[0] for _ in range(12)]  # in flight when it opens
    for admission in admitted[:8]:
        breaker.record(100.0, admission, True)
    retry_after = breaker.retry_after(100.0)
    for admission in admitted[8:]:
        assert breaker.record(100.5, admission, True) is None  # no second opening
    assert breaker.retry_after(100.5) == pytest.approx(retry_after - 0.5)
    assert breaker.snapshot(100.5).opened_times == 1


def test_a_silent_probe_gives_its_place_back() -> None:
    breaker = open_breaker()
    later = 100.0 + breaker.retry_after(100.0)
    admission, _ = breaker.admit(later)
    assert admission is Admission.PROBE
    assert breaker.record(later, admission, None) is None  # a client-side error: no verdict
    assert breaker.snapshot(later).state is BreakerState.HALF_OPEN
    assert breaker.admit(later)[0] is Admission.PROBE  # the next probe may go


def test_a_probe_that_reports_after_a_new_break_keeps_counting() -> None:
    options = CircuitBreaker(
        minimum_attempts=1000, consecutive_failures=8, window=10.0, break_duration=5.0,
        max_break_duration=40.0, half_open_probes=2, refusals_before_probe=0,
    )
    breaker = CircuitBreakerState(options, random.Random(1))
    for _ in range(8):
        attempt(breaker, 100.0, failed=True)
    later = 100.0 + breaker.retry_after(100.0)
    first, _ = breaker.admit(later)
    second, _ = breaker.admit(later)
    assert (first, second) == (Admission.PROBE, Admission.PROBE)
    assert breaker.admit(later)[0] is Admission.REJECTED  # two probes at most
    breaker.record(later, first, True)  # open again; the second probe is still out
    again = later + breaker.retry_after(later)
    assert breaker.admit(again)[0] is Admission.PROBE  # one place left, not two
    assert breaker.admit(again)[0] is Admission.REJECTED
    breaker.record(again, second, None)  # the old probe reports: its place is free
    assert breaker.admit(again)[0] is Admission.PROBE


def test_breaks_are_between_half_and_all_of_their_ceiling() -> None:
    breaks = []
    for seed in range(200):
        breaker = open_breaker(rng_seed=seed)
        breaks.append(breaker.retry_after(100.0))
    assert all(2.5 <= b <= 5.0 for b in breaks)
    assert min(breaks) < 2.6 and max(breaks) > 4.9  # the whole range is used


def test_the_break_doubles_per_failed_probe_and_stops_at_the_cap() -> None:
    options = CircuitBreaker(
        minimum_attempts=1000, consecutive_failures=1, break_duration=1.0,
        max_break_duration=1e12, half_open_probes=1, refusals_before_probe=0,
    )

    class Top(random.Random):
        def random(self) -> float:
            return 1.0 - 1e-12  # the ceiling itself

    breaker = CircuitBreakerState(options, Top())
    now = 0.0
    attempt(breaker, now, failed=True)
    for n in range(40):
        ceiling = breaker.retry_after(now)
        assert ceiling == pytest.approx(2.0 ** min(n, 32), rel=1e-9)
        now += ceiling
        attempt(breaker, now, failed=True)


def test_transitions_and_snapshots_are_frozen_values() -> None:
    transition = Transition(BreakerState.CLOSED, BreakerState.OPEN, "why")
    snapshot = CircuitBreakerState(OPTIONS, random.Random(1)).snapshot(0.0)
    for value, name in ((transition, "reason"), (snapshot, "state")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, name, None)
        assert not hasattr(value, "__dict__")  # slotted: one per hook event, kept small


def test_states_and_admissions_as_hooks_and_health_show_them() -> None:
    assert [state.value for state in BreakerState] == ["closed", "open", "half-open"]
    assert Admission.ALLOWED.allowed is True and Admission.PROBE.allowed is True
    assert Admission.REJECTED.allowed is False


# -- probes spaced by calls as well as by time --------------------------------

SPACED = dataclasses.replace(OPTIONS, consecutive_failures=1, refusals_before_probe=3)


def opened(options: CircuitBreaker = SPACED) -> CircuitBreakerState:
    breaker = CircuitBreakerState(options, random.Random(1))
    attempt(breaker, 0.0, failed=True)
    assert breaker.snapshot(0.0).state is BreakerState.OPEN
    return breaker


def test_an_open_breaker_probes_only_after_its_break_and_enough_refused_calls() -> None:
    breaker = opened()
    later = 100.0  # far past any break
    assert [breaker.admit(later)[0] for _ in range(3)] == [Admission.REJECTED] * 3
    admission, transition = breaker.admit(later)
    assert admission is Admission.PROBE
    assert transition == Transition(BreakerState.OPEN, BreakerState.HALF_OPEN, "break time over")


def test_calls_refused_during_the_break_count_towards_the_next_probe() -> None:
    breaker = opened()
    for _ in range(3):
        assert breaker.admit(0.1)[0] is Admission.REJECTED
    assert breaker.admit(100.0)[0] is Admission.PROBE


def test_retry_after_says_open_with_no_delay_while_only_refusals_are_missing() -> None:
    breaker = opened()
    assert breaker.retry_after(100.0) == 0.0
    for _ in range(3):
        breaker.admit(100.0)
    assert breaker.retry_after(100.0) is None


def test_a_failed_probe_starts_the_count_of_refusals_again() -> None:
    breaker = opened()
    for _ in range(3):
        breaker.admit(100.0)
    admission, _ = breaker.admit(100.0)
    breaker.record(100.0, admission, True, "server-error")  # the probe failed: open again
    assert [breaker.admit(1000.0)[0] for _ in range(4)] == [Admission.REJECTED] * 3 + [Admission.PROBE]


def test_calls_refused_while_half_open_do_not_count_for_the_next_break() -> None:
    breaker = opened()
    for _ in range(3):
        breaker.admit(100.0)
    probe, _ = breaker.admit(100.0)
    for _ in range(10):  # the probe is out: refused while half-open
        assert breaker.admit(100.0)[0] is Admission.REJECTED
    breaker.record(100.0, probe, True, "server-error")
    assert breaker.admit(1000.0)[0] is Admission.REJECTED


def test_a_routers_probe_needs_no_refusals() -> None:
    breaker = opened()
    assert breaker.admit(0.1, probe_now=True)[0] is Admission.PROBE


@pytest.mark.parametrize("value", [-1, 1.5, "5"])
def test_refusals_before_probe_must_be_a_whole_number_from_zero(value) -> None:
    with pytest.raises((TypeError, ValueError), match="refusals_before_probe"):
        CircuitBreaker(refusals_before_probe=value)
