"""The retry budget's arithmetic and its invariants (fake time, no sleeps)."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from resilient_cloud import RetryBudget
from resilient_cloud._budget import RetryBudgetState
from resilient_cloud._window import SLOTS, SlidingCounts


def test_reserve_allows_floor_retries_with_no_traffic() -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.2, min_retries_per_second=1.0, ttl=10.0))
    granted = sum(budget.try_withdraw(100.0).granted for _ in range(50))
    assert granted == 10  # 1 per second over a 10 s window


def test_first_attempts_earn_ratio_of_a_retry_each() -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.2, min_retries_per_second=0.0, ttl=10.0))
    for _ in range(100):
        budget.record_first_attempt(50.0)
    granted = sum(budget.try_withdraw(50.5).granted for _ in range(100))
    assert granted == 20


def test_throttle_cost_spends_more() -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.0, min_retries_per_second=1.0, ttl=10.0))
    granted = sum(budget.try_withdraw(0.0, cost=2.0).granted for _ in range(10))
    assert granted == 5


def test_deposits_and_withdrawals_expire_after_ttl() -> None:
    budget = RetryBudgetState(RetryBudget(ratio=1.0, min_retries_per_second=0.0, ttl=10.0))
    for _ in range(5):
        budget.record_first_attempt(0.0)
    assert budget.balance(9.9) == 5.0
    assert budget.balance(10.0) == 0.0  # the slot holding t=0 left the window
    assert budget.try_withdraw(9.0).granted
    assert budget.balance(9.5) == 4.0
    assert budget.balance(20.0) == 0.0


def test_withdrawal_reports_state_changes_once() -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.0, min_retries_per_second=0.1, ttl=10.0))
    assert budget.try_withdraw(0.0) == (True, False)
    assert budget.try_withdraw(0.0) == (False, True)  # just ran dry
    assert budget.try_withdraw(0.1) == (False, False)
    assert budget.try_withdraw(20.0) == (True, True)  # recovered


def test_a_budget_empty_from_the_start_reports_running_dry_once() -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.0, min_retries_per_second=0.0, ttl=10.0))
    assert repr(budget).startswith("<RetryBudgetState granting retries RetryBudget(")
    assert budget.try_withdraw(0.0) == (False, True)  # the first answer is a change too
    assert budget.try_withdraw(0.0) == (False, False)
    assert repr(budget) == f"<RetryBudgetState refusing retries {budget.options!r}>"
    budget.record_first_attempt(1.0)
    assert budget.balance(1.0) == 0.0  # ratio 0: first attempts earn nothing


def test_memory_is_fixed_whatever_the_rate() -> None:
    budget = RetryBudgetState(RetryBudget())
    for i in range(10_000):
        budget.record_first_attempt(i * 0.001)
    assert len(budget._window._counts) == SLOTS


def test_concurrent_withdrawals_never_overspend() -> None:
    budget = RetryBudgetState(RetryBudget(ratio=0.0, min_retries_per_second=10.0, ttl=10.0))
    results: list[bool] = []
    lock = threading.Lock()

    def spend() -> None:
        for _ in range(50):
            granted = budget.try_withdraw(5.0).granted
            with lock:
                results.append(granted)

    threads = [threading.Thread(target=spend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 100


# A run of events: (seconds since the previous event, kind) where kind is a
# first attempt, a retry, or a throttled retry.
events = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=3.0, allow_nan=False),
        st.sampled_from(["first", "retry", "throttled-retry"]),
    ),
    min_size=1,
    max_size=300,
)
options = st.builds(
    RetryBudget,
    ratio=st.floats(min_value=0.0, max_value=1.0),
    min_retries_per_second=st.floats(min_value=0.0, max_value=5.0),
    ttl=st.floats(min_value=0.5, max_value=30.0),
    throttle_retry_cost=st.floats(min_value=1.0, max_value=5.0),
)


@settings(max_examples=300, deadline=None)
@given(options=options, events=events)
def test_retries_in_any_window_stay_within_earned_plus_floor(
    options: RetryBudget, events: list[tuple[float, str]]
) -> None:
    """At every granted retry at time t, the retry cost spent in the last
    (SLOTS-1)/SLOTS of a window is at most ratio x first attempts of the whole
    window ending at t, plus the floor: min_retries_per_second x ttl."""
    budget = RetryBudgetState(options)
    now = 1_000.0
    firsts: list[float] = []
    spent: list[tuple[float, float]] = []
    for gap, kind in events:
        now += gap
        if kind == "first":
            budget.record_first_attempt(now)
            firsts.append(now)
            continue
        cost = options.throttle_retry_cost if kind == "throttled-retry" else 1.0
        if not budget.try_withdraw(now, cost).granted:
            continue
        spent.append((now, cost))
        inner_window = options.ttl * (SLOTS - 1) / SLOTS
        recent_spend = sum(c for t, c in spent if t > now - inner_window)
        earned = sum(1 for t in firsts if t > now - options.ttl)
        assert recent_spend <= options.ratio * earned + options.reserve + 1e-9


@settings(max_examples=200, deadline=None)
@given(options=options, calls=st.integers(min_value=1, max_value=400))
def test_total_outage_amplification_is_bounded(options: RetryBudget, calls: int) -> None:
    """N failing calls in one instant, each wanting 3 retries: the retries
    granted never exceed ratio x N plus the floor."""
    budget = RetryBudgetState(options)
    granted = 0
    for _ in range(calls):
        budget.record_first_attempt(10.0)
        for _ in range(3):
            if not budget.try_withdraw(10.0).granted:
                break
            granted += 1
    assert granted <= options.ratio * calls + options.reserve + 1e-9


# -- the sliding window under the budget and the breaker -------------------------


def test_the_window_is_ten_slots_so_it_counts_between_nine_and_ten_tenths_of_ttl() -> None:
    assert SLOTS == 10
    window = SlidingCounts(10.0, fields=2)
    window.add(0.95, 0)  # the slot [0, 1)
    window.add(1.0, 1, 2.5)  # the slot [1, 2)
    assert window.totals(9.999) == [1.0, 2.5]
    assert window.totals(10.0) == [0.0, 2.5]  # [0, 1) left: 9.05 s after its last event
    assert window.totals(10.999) == [0.0, 2.5]
    assert window.totals(11.0) == [0.0, 0.0]


def test_a_cleared_window_counts_nothing_even_at_its_start() -> None:
    window = SlidingCounts(10.0, fields=2)
    window.add(0.5, 0)
    window.add(0.5, 1)
    window.clear()
    assert window.totals(0.5) == [0.0, 0.0]  # slots of the first 0.9 ttl are live here
    window.add(0.6, 1)
    assert window.totals(0.6) == [0.0, 1.0]


def test_an_old_slot_is_reset_when_its_place_is_reused() -> None:
    window = SlidingCounts(10.0, fields=1)
    window.add(3.5, 0, 4.0)
    window.add(13.5, 0)  # the same place, ten slots later
    assert window.totals(13.5) == [1.0]
