"""The rate limiter that absorbs throttling: pure state on a fake timeline."""

from __future__ import annotations

import heapq

import pytest

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
