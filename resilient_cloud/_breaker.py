"""The circuit breaker: a state machine over attempt outcomes, per endpoint.

Pure state: every method takes ``now`` on the policy's clock; the jitter of
break times comes from the injected generator. Outcomes are counted per
attempt in a :class:`~resilient_cloud._window.SlidingCounts` (like the retry
budget), so memory is fixed whatever the rate.

    CLOSED --(failure ratio over the window >= threshold with at least
              minimum_attempts, or consecutive_failures in a row)--> OPEN
    OPEN --(break time over, and refusals_before_probe attempts refused)-->
         HALF_OPEN: up to half_open_probes attempts
    HALF_OPEN --(a probe succeeds)--> CLOSED
    HALF_OPEN --(a probe fails)--> OPEN, for a longer, jittered break
"""

from __future__ import annotations

import enum
import random
import threading
from dataclasses import dataclass

from resilient_cloud._options import CircuitBreaker
from resilient_cloud._window import SlidingCounts

# Each answer is counted once, as one or the other: attempts are their sum.
_SUCCESSES, _FAILURES = 0, 1


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Admission(enum.Enum):
    """The breaker's answer to one attempt."""

    ALLOWED = "allowed"
    PROBE = "probe"  # allowed as one of the half-open probes: report its outcome
    REJECTED = "rejected"

    @property
    def allowed(self) -> bool:
        return self is not Admission.REJECTED


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of state, for one log line and one hook event."""

    before: BreakerState
    after: BreakerState
    reason: str


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    state: BreakerState
    attempts_in_window: int
    failures_in_window: int
    consecutive_failures: int
    #: Seconds until the next probe is allowed (open state only).
    retry_after: float | None
    opened_times: int
    last_failure: str | None


class CircuitBreakerState:
    """One endpoint's breaker (thread-safe)."""

    def __init__(self, options: CircuitBreaker, rng: random.Random) -> None:
        self.options = options
        self._rng = rng
        self._window = SlidingCounts(options.window, fields=2)
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._open_until = 0.0
        # Breaks in a row without a successful probe: each one is longer.
        self._opened_in_a_row = 0
        self._opened_times = 0
        self._probes_in_flight = 0
        # Attempts refused since the breaker last opened: a probe waits for
        # refusals_before_probe of them as well as for the break to end.
        self._refused = 0
        self._last_failure: str | None = None
        self._lock = threading.Lock()

    # -- decisions -----------------------------------------------------

    def admit(self, now: float, *, probe_now: bool = False) -> tuple[Admission, Transition | None]:
        """``probe_now``: the region router's probe of a primary it left,
        which it already spaces out (``Failover.probe_interval``): it may be
        the half-open probe before the break is over, so failback is timed
        by the router rather than by a break that grew during the outage."""
        with self._lock:
            transition = None
            if (
                self._state is BreakerState.OPEN and now >= self._open_until
                and self._refused >= self.options.refusals_before_probe
            ):
                transition = self._move(BreakerState.HALF_OPEN, "break time over")
            elif self._state is BreakerState.OPEN and probe_now:
                transition = self._move(BreakerState.HALF_OPEN, "a fallback router probes it")
            if self._state is BreakerState.CLOSED:
                return Admission.ALLOWED, transition
            if (
                self._state is BreakerState.HALF_OPEN
                and self._probes_in_flight < self.options.half_open_probes
            ):
                self._probes_in_flight += 1
                return Admission.PROBE, transition
            if self._state is BreakerState.OPEN:
                self._refused += 1
            return Admission.REJECTED, transition

    def record(
        self, now: float, admission: Admission, failed: bool | None, failure: str | None = None
    ) -> Transition | None:
        """Count an admitted attempt's outcome. ``failed`` None means the
        outcome says nothing about the endpoint (a client-side error)."""
        with self._lock:
            if admission is Admission.PROBE:
                self._probes_in_flight = max(0, self._probes_in_flight - 1)
            if failed is None:
                return None
            if not failed:
                self._window.add(now, _SUCCESSES)
                self._consecutive = 0
                if self._state is BreakerState.HALF_OPEN:
                    self._opened_in_a_row = 0
                    return self._move(BreakerState.CLOSED, "a probe succeeded")
                return None
            self._window.add(now, _FAILURES)
            self._consecutive += 1
            self._last_failure = failure
            if self._state is BreakerState.HALF_OPEN:
                return self._open(now, "a probe failed")
            if self._state is BreakerState.CLOSED:
                reason = self._trip_reason(now)
                if reason is not None:
                    return self._open(now, reason)
            return None

    def retry_after(self, now: float) -> float | None:
        """Seconds until a probe may go, when open (0 when only refusals are
        missing: the next calls are refused, not delayed); None otherwise."""
        with self._lock:
            if self._state is not BreakerState.OPEN:
                return None
            if now < self._open_until:
                return self._open_until - now
            if self._refused < self.options.refusals_before_probe:
                return 0.0
            return None

    def snapshot(self, now: float) -> BreakerSnapshot:
        with self._lock:
            successes, failures = self._window.totals(now)
            return BreakerSnapshot(
                state=self._state,
                attempts_in_window=int(successes + failures),
                failures_in_window=int(failures),
                consecutive_failures=self._consecutive,
                retry_after=(
                    max(0.0, self._open_until - now) if self._state is BreakerState.OPEN else None
                ),
                opened_times=self._opened_times,
                last_failure=self._last_failure,
            )

    # -- internals -----------------------------------------------------

    def _trip_reason(self, now: float) -> str | None:
        options = self.options
        if self._consecutive >= options.consecutive_failures:
            return f"{self._consecutive} failures in a row"
        successes, failures = self._window.totals(now)
        attempts = successes + failures
        if attempts >= options.minimum_attempts and failures / attempts >= options.failure_ratio:
            return f"{failures:.0f} of {attempts:.0f} attempts failed in {options.window:g}s"
        return None

    def _open(self, now: float, reason: str) -> Transition:
        options = self.options
        growth = 2.0 ** min(self._opened_in_a_row, 32)
        longest = options.max_break_duration or options.break_duration
        ceiling = min(longest, options.break_duration * growth)
        # Equal jitter: never shorter than half the break, so clients that
        # opened together do not all probe a recovering service at once.
        self._open_until = now + ceiling * (0.5 + 0.5 * self._rng.random())
        self._opened_in_a_row += 1
        self._opened_times += 1
        self._refused = 0
        # Probes still in flight keep their places: they report later, and
        # until then they count against the next half-open period's probes.
        self._window.clear()
        return self._move(BreakerState.OPEN, reason)

    def _move(self, state: BreakerState, reason: str) -> Transition:
        transition = Transition(self._state, state, reason)
        self._state = state
        if state is BreakerState.CLOSED:
            self._consecutive = 0
            self._window.clear()
        return transition

    def __repr__(self) -> str:
        return (
            f"<CircuitBreakerState {self._state.value}, {self._consecutive} consecutive "
            f"failures, opened {self._opened_times} times>"
        )
