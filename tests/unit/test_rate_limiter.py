"""The rate limiter that absorbs throttling: pure state on a fake timeline."""

from __future__ import annotations

import dataclasses
import heapq
import subprocess
import sys

import pytest
from botocore.retries.throttling import CubicCalculator

import resilient_cloud as rc
from resilient_cloud._ratelimit import RateLimiterState

OPTIONS = rc.RateLimiter(beta=0.7, min_rate=0.5, window=2.0, max_wait=5.0)


def answers(limiter: RateLimiterState, start: float, rate: float, seconds: float,
            throttled_every: int = 0) -> float:
    """Record answers at ``rate`` per second for ``seconds``, every
    ``throttled_every``-th throttled (whatever the rate); the time after."""
    n = int(rate * seconds)
    for i in range(n):
        throttled = bool(throttled_every) and i % throttled_every == 0
        limiter.record(start + i / rate, throttled=throttled, accepted=not throttled)
    return start + n / rate


class Table:
    """A service admitting ``admitted`` requests per second (one second of
    burst credit) and throttling the rest; or (``every``) throttling every
    ``every``-th request whatever the rate."""

    def __init__(self, admitted: float = 1e9, every: int = 0) -> None:
        self.admitted = admitted
        self.every = every
        self._credit = admitted
        self._at = 0.0
        self.sent = self.throttled = 0

    def answer(self, now: float) -> bool:
        """Whether a request sent at ``now`` is throttled."""
        self._credit = min(self.admitted, self._credit + (now - self._at) * self.admitted)
        self._at = now
        self.sent += 1
        if self.every and self.sent % self.every == 0:
            self.throttled += 1
            return True
        if self._credit >= 1.0:
            self._credit -= 1.0
            return False
        self.throttled += 1
        return True


def paced_calls(limiter: RateLimiterState, table: Table, start: float, rate: float,
                seconds: float) -> tuple[float, int]:
    """Calls arriving at ``rate`` per second, each sent when the limiter
    gives it a slot (or refused): answers recorded in time order. Returns the
    time after the last and the calls refused."""
    events: list[tuple[float, int, str]] = []  # (time, order, what)
    for i in range(int(rate * seconds)):
        heapq.heappush(events, (start + i / rate, i, "arrive"))
    refused = 0
    while events:
        now, order, what = heapq.heappop(events)
        if what == "arrive":
            wait = limiter.reserve(now, now + OPTIONS.max_wait)
            if wait is None:
                refused += 1
            else:
                heapq.heappush(events, (now + wait, order, "send"))
        else:
            throttled = table.answer(now)
            limiter.record(now, throttled=throttled, accepted=not throttled)
    return start + seconds, refused


def test_it_does_not_pace_until_the_endpoint_throttles() -> None:
    limiter = RateLimiterState(OPTIONS)
    answers(limiter, 0.0, 100.0, 2.0)
    assert [limiter.reserve(2.0, 2.0) for _ in range(50)] == [0.0] * 50
    assert limiter.snapshot(2.0).pacing is False


def test_paced_at_the_rate_the_service_admits_few_requests_are_throttled() -> None:
    limiter = RateLimiterState(OPTIONS)
    table = Table(admitted=40.0)
    # 60 calls per second offered for 20 s to a table admitting 40.
    end, refused = paced_calls(limiter, table, 0.0, 60.0, 20.0)
    rate = limiter.snapshot(end).rate
    assert rate is not None and 36.0 <= rate <= 60.0
    assert table.throttled / table.sent <= 0.10
    # Accepted: at least 95% of what the table admits (its burst included).
    accepted = table.sent - table.throttled
    assert accepted >= 0.95 * 40.0 * 20.0
    # The calls beyond it were refused rather than held past max_wait.
    assert refused >= 0.5 * (60.0 - 40.0) * 20.0 - 40.0 * OPTIONS.max_wait


def test_slots_are_spaced_at_the_rate_and_one_after_the_latest_moment_is_not_taken() -> None:
    limiter = RateLimiterState(OPTIONS)
    for _ in range(2):
        limiter.record(0.0, throttled=True, accepted=False)
    rate = limiter.snapshot(0.0).rate
    assert rate is not None
    waits = [limiter.reserve(0.0, 0.5) for _ in range(40)]
    taken = [wait for wait in waits if wait is not None]
    assert taken[0] == 0.0 and all(w <= 0.5 for w in taken)
    gaps = [b - a for a, b in zip(taken, taken[1:])]
    assert gaps and all(gap == pytest.approx(1.0 / rate) for gap in gaps)
    assert waits[len(taken):] == [None] * (40 - len(taken))
    # Refusals took nothing: the next slot is the one after the last taken.
    assert limiter.reserve(0.0, 10.0) == pytest.approx(taken[-1] + 1.0 / rate)
    assert limiter.next_slot_in(0.0) == pytest.approx(taken[-1] + 2.0 / rate)


def test_throttles_that_do_not_fall_with_the_rate_make_it_step_aside() -> None:
    limiter = RateLimiterState(OPTIONS)
    table = Table(every=3)  # a third throttled, whatever the rate
    end, refused = paced_calls(limiter, table, 0.0, 100.0, 3.0)
    # It slowed down, saw as many throttles, and stepped aside: not pacing,
    # for five windows, whatever throttles come meanwhile.
    assert limiter.snapshot(end).pacing is False
    end = answers(limiter, end, 100.0, 5.0, throttled_every=3)
    assert limiter.snapshot(end).pacing is False
    assert limiter.reserve(end, end) == 0.0
    assert refused == 0


def test_a_service_that_admits_less_than_offered_keeps_it_pacing() -> None:
    limiter = RateLimiterState(OPTIONS)
    end, _ = paced_calls(limiter, Table(admitted=40.0), 0.0, 60.0, 15.0)
    snapshot = limiter.snapshot(end)
    assert snapshot.pacing is True and snapshot.rate is not None and snapshot.rate < 50.0


def test_the_rate_grows_back_between_throttles() -> None:
    limiter = RateLimiterState(OPTIONS)
    end, _ = paced_calls(limiter, Table(admitted=40.0), 0.0, 60.0, 5.0)
    before = limiter.snapshot(end).rate
    later = limiter.snapshot(end + 10.0).rate
    assert before is not None and later is not None and later > before * 2


def test_it_never_paces_below_its_floor() -> None:
    limiter = RateLimiterState(rc.RateLimiter(min_rate=2.0))
    for _ in range(2):
        limiter.record(0.0, throttled=True, accepted=False)
    rate = limiter.snapshot(0.0).rate
    assert rate is not None and rate >= 2.0


@pytest.mark.parametrize(
    ("fields", "named"),
    [({"beta": 1.0}, "beta"), ({"min_rate": 0}, "min_rate"), ({"window": 0}, "window"),
     ({"max_wait": -1}, "max_wait")],
)
def test_bad_options_are_refused_naming_the_field(fields, named) -> None:
    with pytest.raises(ValueError, match=named):
        rc.RateLimiter(**fields)


def test_a_policy_refuses_a_rate_limiter_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="rate_limiter"):
        rc.Policy(rate_limiter={"beta": 0.5})  # type: ignore[arg-type]


def test_the_first_throttle_measures_the_send_rate_and_the_next_paces() -> None:
    assert RateLimiterState.engaged is False  # rc.testing.reset() between tests
    limiter = RateLimiterState(OPTIONS)
    # Until a throttle is seen the call core counts nothing (tests/drivers/test_rate_limit.py).
    limiter.record(0.0, throttled=True, accepted=False)
    assert RateLimiterState.engaged is True  # every endpoint's answers are counted from now
    assert limiter.snapshot(0.0).pacing is False
    for i in range(1, 10):
        limiter.tally(i * 0.01)  # 100 answers a second
    limiter.record(0.1, throttled=True, accepted=False)
    rate = limiter.snapshot(0.1).rate
    assert rate is not None and 0.7 * 90 <= rate <= 0.7 * 110


def test_the_snapshot_shows_the_share_throttled_since_the_first_throttle() -> None:
    # Every 4th of 200 answers throttled, at 100/s. Answers are counted from
    # the first throttle (i=0) on, not those between it and the second (i=1..3,
    # when only the send rate is tallied): 197 answers, of which 2 + 48
    # (i=8, 12, ..., 196) throttled.
    limiter = RateLimiterState(OPTIONS)
    answers(limiter, 0.0, 100.0, 2.0, throttled_every=4)
    snapshot = limiter.snapshot(1.99)
    assert snapshot.throttled_share == pytest.approx(50 / 197)
    # A window later nothing is left to count.
    assert limiter.snapshot(1.99 + OPTIONS.window).throttled_share is None


# -- the decisions, exactly (each case below was a surviving mutant) ----------


def test_after_a_decrease_the_rate_grows_back_along_botocores_cubic_curve() -> None:
    limiter = RateLimiterState(OPTIONS)
    answers(limiter, 0.0, 100.0, 1.0)
    limiter.record(1.0, throttled=True, accepted=False)  # the first decrease, from ~100/s
    decreased = limiter.snapshot(1.0).rate
    assert decreased is not None
    cubic = CubicCalculator(starting_max_rate=0.0, start_time=0.0)
    assert cubic.error_received(decreased / OPTIONS.beta, 1.0) == pytest.approx(decreased)
    for later in (1.5, 3.0, 5.0, 6.0, 8.0):
        expected = max(decreased, cubic.success_received(later))
        assert limiter.snapshot(later).rate == pytest.approx(expected)


def test_the_next_free_slot_is_counted_from_now_and_is_zero_when_not_pacing() -> None:
    limiter = RateLimiterState(OPTIONS)
    assert limiter.next_slot_in(5.0) == 0.0
    answers(limiter, 10.0, 100.0, 1.0)
    limiter.record(11.0, throttled=True, accepted=False)
    rate = limiter.snapshot(11.0).rate
    assert rate is not None
    assert limiter.reserve(11.0, 11.0) == 0.0
    assert limiter.next_slot_in(11.0) == pytest.approx(1.0 / rate)
    # A slot exactly at the latest moment is still taken.
    assert limiter.reserve(11.0, 11.0 + 1.0 / rate) == pytest.approx(1.0 / rate)


def test_it_slows_down_again_on_the_twentieth_answer_at_a_rate_not_before() -> None:
    def paced_limiter() -> RateLimiterState:
        limiter = RateLimiterState(OPTIONS)
        answers(limiter, 0.0, 100.0, 1.0)
        limiter.record(1.0, throttled=True, accepted=False)  # pacing from here
        return limiter

    for answers_before_the_throttle, slows_down in ((18, False), (19, True)):
        limiter = paced_limiter()
        for i in range(answers_before_the_throttle):
            limiter.record(1.0 + (i + 1) * 0.025, throttled=False, accepted=True)
        now = 1.0 + (answers_before_the_throttle + 1) * 0.025
        before = limiter.snapshot(now).rate
        limiter.record(now, throttled=True, accepted=False)
        after = limiter.snapshot(now).rate
        assert before is not None and after is not None
        assert (after < 0.9 * before) is slows_down, answers_before_the_throttle


def _two_paced_epochs(first: int, second: int) -> RateLimiterState:
    """A limiter that paced two runs of 20 answers (40 a second), of which
    ``first`` and then ``second`` were throttled, the last of each run among
    them (the run's end, when the limiter judges its rate)."""
    limiter = RateLimiterState(OPTIONS)
    answers(limiter, 0.0, 100.0, 1.0)
    now = 1.0
    limiter.record(now, throttled=True, accepted=False)  # pacing from here
    rates = [limiter.snapshot(now).rate]
    for throttles in (first, second):
        for i in range(20):
            now += 0.025
            throttled = i < throttles - 1 or i == 19
            limiter.record(now, throttled=throttled, accepted=not throttled)
        rates.append(limiter.snapshot(now).rate)
    # The first run's end set a rate well below the one it ran at: the second
    # run's share is compared with the first's (rates[2] may be None: stepped aside).
    assert rates[1] is not None and rates[0] is not None and rates[1] <= 0.85 * rates[0]
    return limiter


@pytest.mark.parametrize(
    ("first", "second", "steps_aside", "why"),
    [
        (4, 2, False, "the share halved as the rate fell: throttling follows our load"),
        (1, 1, False, "5% throttled is the edge a paced client probes, not a fault"),
        (2, 2, True, "10% (substantial) and not falling"),
        (20, 15, True, "exactly 3/4 of the share before: not falling"),
        (20, 14, False, "below 3/4 of the share before: falling"),
    ],
)
def test_it_steps_aside_only_when_a_substantial_share_does_not_fall_with_the_rate(
    first, second, steps_aside, why
) -> None:
    limiter = _two_paced_epochs(first, second)
    assert limiter.pacing is (not steps_aside), why


@pytest.mark.parametrize(
    ("throttle_after", "measured"),
    [
        (0.1, 100.0),  # a young window: the last full window's 100/s
        (0.8, 100.0),  # still young (under half the window)
        (1.0, 2 / 1.0),  # half the window: its own two answers in one second
        (1.5, 2 / 1.5),
    ],
)
def test_the_first_decrease_starts_from_the_send_rate_of_the_window(throttle_after, measured) -> None:
    limiter = RateLimiterState(OPTIONS)
    end = answers(limiter, 10.0, 100.0, 2.0)  # a full window at 100/s, from 10 s to 12 s
    assert end == 12.0
    limiter.record(12.0, throttled=False, accepted=True)  # the first answer of the next window
    limiter.record(12.0 + throttle_after, throttled=True, accepted=False)
    rate = limiter.snapshot(12.0 + throttle_after).rate
    assert rate == pytest.approx(max(OPTIONS.min_rate, OPTIONS.beta * measured), rel=1e-9)


def test_a_new_process_does_no_limiter_work_until_an_endpoint_throttles() -> None:
    # rc.testing.reset() resets the flag between tests; this is the value a
    # process starts with.
    code = "from resilient_cloud._ratelimit import RateLimiterState as S; print(S.engaged)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_young_window_of_twenty_answers_is_measured_on_its_own() -> None:
    limiter = RateLimiterState(OPTIONS)
    answers(limiter, 10.0, 100.0, 2.0)  # the last full window: 100/s
    for i in range(19):  # 19 answers in the young window, 40 a second
        limiter.record(12.0 + i / 40, throttled=False, accepted=True)
    limiter.record(12.5, throttled=True, accepted=False)  # the 20th: 20 in 0.5 s
    assert limiter.snapshot(12.5).rate == pytest.approx(OPTIONS.beta * 40.0)


def test_a_first_window_has_no_last_rate_to_lean_on() -> None:
    limiter = RateLimiterState(rc.RateLimiter(window=10.0, min_rate=0.1))
    limiter.record(0.0, throttled=False, accepted=True)
    limiter.record(4.0, throttled=True, accepted=False)  # 2 answers in 4 s, a young window
    assert limiter.snapshot(4.0).rate == pytest.approx(0.7 * 2 / 4.0)


def test_it_steps_aside_for_exactly_five_windows() -> None:
    limiter = _two_paced_epochs(20, 15)  # steps aside on the last answer of the second run
    stepped_aside = 1.0
    for _ in range(40):
        stepped_aside += 0.025  # as _two_paced_epochs counts its time
    assert limiter.pacing is False
    # Throttles within five windows change nothing; the first one after slows it down.
    limiter.record(stepped_aside + 5 * OPTIONS.window - 0.01, throttled=True, accepted=False)
    assert limiter.pacing is False
    limiter.record(stepped_aside + 5 * OPTIONS.window, throttled=True, accepted=False)
    assert limiter.pacing is True


def test_its_snapshot_is_frozen_and_its_repr_says_what_it_does() -> None:
    limiter = RateLimiterState(OPTIONS)
    snapshot = limiter.snapshot(0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.pacing = True  # type: ignore[misc]
    assert repr(limiter) == "<RateLimiterState not pacing>"
    answers(limiter, 0.0, 100.0, 1.0)
    limiter.record(1.0, throttled=True, accepted=False)
    assert repr(limiter) == f"<RateLimiterState pacing at {limiter._rate:.1f}/s>"
