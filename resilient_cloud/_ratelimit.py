"""The client-side rate limiter that absorbs throttling, per endpoint.

A throttle is the service saying "slower", not "broken". Until some
endpoint in the process throttles, calls do no limiter work at all. The
first throttle an endpoint sees starts measuring its send rate; from the
next one on every attempt to the endpoint takes a slot at the limiter's
rate (a virtual schedule: each slot ``1 / rate`` after the last), and a
caller whose slot would come after its deadline (or after ``max_wait``) is
refused at once instead of held.

The rate follows botocore's adaptive mode (CUBIC, ``botocore.retries.
throttling``): on a throttle it drops to ``beta`` of the rate it was
sending at; between throttles it grows back along the cubic curve towards
and past that rate. Two changes make it absorb throttling instead of
failing callers:

- A decrease never goes below the rate the service accepted while the
  limiter paced at the rate being decreased: a service that admits R
  requests per second gets R, not 0.7 R on average.
- It stops lowering its rate when throttles do not fall as the rate falls:
  when the share of answers throttled at the rate a decrease set is no
  lower than at the rate before it (and is more than 10%), throttling does
  not depend on our load (a hot key, a random fault) and slowing down only
  fails callers, so the limiter steps aside (no pacing) for five windows
  before it may slow down again.

Pure state: every method takes ``now`` on the policy's clock; thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import ClassVar

from resilient_cloud._options import RateLimiter
from resilient_cloud._window import SlidingCounts

_SENT, _THROTTLED = 0, 1
# Throttle shares are compared only over this many answers or more.
_MIN_ANSWERS = 20
# A throttled share at least this much of the share at the rate before the
# last decrease (and itself substantial) means throttling does not follow
# our rate; below _SUBSTANTIAL, throttles are the edge a paced client probes.
_NOT_FALLING = 0.75
_SUBSTANTIAL = 0.1
# Shares are compared only once the rate fell this much below the reference.
_SLOWER = 0.85
# How long the limiter steps aside then, in windows.
_STEP_ASIDE_WINDOWS = 5
# Rates are never measured over less than this (seconds).
_SHORTEST_MEASURE = 0.02
# CUBIC's scale constant (botocore.retries.throttling.CubicCalculator).
_SCALE = 0.4


@dataclass(frozen=True, slots=True)
class RateSnapshot:
    """What the limiter is doing, for health() and telemetry."""

    pacing: bool
    rate: float | None
    throttled_share: float | None


class RateLimiterState:
    """One endpoint's send rate (thread-safe)."""

    #: Whether any endpoint in this process has throttled (since the last
    #: ``rc.testing.reset()``). Until one does, a call does no rate-limiter
    #: work at all: every call pays for this limiter only after throttling
    #: has been seen (read without a lock: a bool, set once).
    engaged: ClassVar[bool] = False

    def __init__(self, options: RateLimiter) -> None:
        self.options = options
        self._counts = SlidingCounts(options.window, fields=2)
        self._lock = threading.Lock()
        self._pacing = False
        self._rate = 0.0
        self._next_slot = 0.0
        # CUBIC's state: the rate at the last throttle and when it came.
        self._w_max = 0.0
        self._last_decrease = 0.0
        self._k = 0.0
        # Answers and throttles at the rate set by the last decrease; and the
        # share throttled at a paced rate, with that rate, to compare with
        # once the rate has fallen well below it (None: none taken yet).
        self._epoch_sent = 0
        self._epoch_throttled = 0
        self._epoch_accepted = 0
        self._reference: tuple[float, float] | None = None
        self._steps_aside_until = 0.0
        # The send rate: answers tallied per window (young windows are
        # measured over the time they have seen, at least _SHORTEST_MEASURE).
        self._tally = 0
        self._tally_since: float | None = None
        self._tally_until = float("-inf")
        self._last_rate = 0.0

    @property
    def pacing(self) -> bool:
        """Whether attempts wait for slots (read without the lock: a bool)."""
        return self._pacing

    def reserve(self, now: float, latest: float) -> float | None:
        """A slot for one attempt: seconds to wait for it (0: go now), or
        None when it would come after ``latest`` (nothing is reserved)."""
        if not self._pacing:  # the common case, read without the lock: a bool
            return 0.0
        with self._lock:
            if not self._pacing:
                return 0.0
            slot = max(now, self._next_slot)
            if slot > latest:
                return None
            self._next_slot = slot + 1.0 / self._current_rate(now)
            return slot - now

    def next_slot_in(self, now: float) -> float:
        """Seconds until the next free slot (0 when not pacing)."""
        with self._lock:
            return max(0.0, self._next_slot - now) if self._pacing else 0.0

    def record(self, now: float, *, throttled: bool, accepted: bool) -> None:
        """One attempt's answer: throttled, accepted by the service (a
        success or another answer it did not refuse), or neither (no answer)."""
        if not throttled and not self._pacing:
            self.tally(now)
            return
        with self._lock:
            self.tally(now)
            counts = self._counts
            counts.add(now, _SENT)
            self._epoch_sent += 1
            if accepted:
                self._epoch_accepted += 1
            if not throttled:
                return
            counts.add(now, _THROTTLED)
            self._epoch_throttled += 1
            RateLimiterState.engaged = True
            if self._tally < 2 and not self._pacing:
                return  # the first answer seen: no send rate to slow down from yet
            if now < self._steps_aside_until:
                return
            if self._pacing:
                if self._epoch_sent < _MIN_ANSWERS:
                    return  # too few answers at this rate to judge it, or to slow down again
                share = self._epoch_throttled / self._epoch_sent
                reference = self._reference
                # Slower than when the share was last taken: did it fall?
                slower = reference is not None and self._rate <= _SLOWER * reference[1]
                if reference is None or slower:
                    self._reference = (share, self._rate)
                if (
                    slower and reference is not None and share >= _SUBSTANTIAL
                    and share >= _NOT_FALLING * reference[0]
                ):
                    # Slowing down did not lower the share throttled: step aside.
                    self._pacing = False
                    self._reference = None
                    self._steps_aside_until = now + _STEP_ASIDE_WINDOWS * self.options.window
                    return
            else:
                self._reference = None  # unpaced answers say nothing about our rate
            self._decrease(now)

    def _decrease(self, now: float) -> None:
        """CUBIC's decrease, floored at the rate the service accepted at the
        rate being decreased (once paced: before, a throttling service may
        still have been spending burst credit)."""
        options = self.options
        floor = options.min_rate
        if self._pacing:
            current = self._current_rate(now)
            paced_for = max(now - self._last_decrease, _SHORTEST_MEASURE)
            floor = max(floor, self._epoch_accepted / paced_for)
        else:
            current = self._send_rate(now)
        self._w_max = max(current, options.min_rate)
        self._k = (self._w_max * (1.0 - options.beta) / _SCALE) ** (1.0 / 3.0)
        self._rate = max(floor, options.beta * current)
        self._last_decrease = now
        self._epoch_sent = self._epoch_throttled = self._epoch_accepted = 0
        self._next_slot = max(self._next_slot, now)
        self._pacing = True

    def tally(self, now: float) -> None:
        """Count an answer that was not throttled while not pacing: every
        call's path while the endpoint does not throttle. Only the send rate
        is kept, in a plain counter per window, without the lock (a count
        lost to a race only blurs the estimate a first throttle starts from)."""
        if now < self._tally_until:
            self._tally += 1
        else:
            self._start_tally(now)

    def _start_tally(self, now: float) -> None:
        """A new window of the send-rate tally; the one it ends gives the last rate."""
        if self._tally_since is not None and now > self._tally_since:
            self._last_rate = self._tally / (now - self._tally_since)
        self._tally, self._tally_since = 1, now
        self._tally_until = now + self.options.window

    def _send_rate(self, now: float) -> float:
        """Attempts answered per second lately: this window's tally, or the
        last window's rate while this one is young."""
        assert self._tally_since is not None
        elapsed = max(now - self._tally_since, _SHORTEST_MEASURE)
        current = self._tally / elapsed
        if elapsed < self.options.window / 2 and self._last_rate:
            return max(current, self._last_rate) if self._tally < _MIN_ANSWERS else current
        return current

    def snapshot(self, now: float) -> RateSnapshot:
        with self._lock:
            sent, throttles = self._counts.totals(now)
            return RateSnapshot(
                pacing=self._pacing,
                rate=self._current_rate(now) if self._pacing else None,
                throttled_share=throttles / sent if sent else None,
            )

    # -- internals -------------------------------------------------------

    def _current_rate(self, now: float) -> float:
        """The decreased rate, grown back along CUBIC's curve since."""
        grown = _SCALE * (now - self._last_decrease - self._k) ** 3 + self._w_max
        return max(self._rate, grown, self.options.min_rate)

    def __repr__(self) -> str:
        state = f"pacing at {self._rate:.1f}/s" if self._pacing else "not pacing"
        return f"<RateLimiterState {state}>"
