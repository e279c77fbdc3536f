"""The earned retry budget: a sliding window of deposits and withdrawals.

Pure state: every method takes ``now`` (seconds on the policy's clock). The
window is a :class:`~resilient_cloud._window.SlidingCounts`, so memory is
fixed whatever the request rate; a retry is granted when, over the window,

    withdrawals + cost <= ratio * first_attempts + min_retries_per_second * ttl
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from resilient_cloud._options import RetryBudget
from resilient_cloud._window import SlidingCounts

_FIRST_ATTEMPTS, _WITHDRAWN = 0, 1


class Withdrawal(NamedTuple):
    """A budget's answer to one retry."""

    granted: bool
    #: True when this answer differs from the previous one: the budget just
    #: ran dry or just recovered (worth one log line, not one per call).
    changed: bool


class RetryBudgetState:
    """Deposits and withdrawals of one endpoint's budget (thread-safe)."""

    __slots__ = ("options", "_window", "_refusing", "_lock")

    def __init__(self, options: RetryBudget) -> None:
        self.options = options
        self._window = SlidingCounts(options.ttl, fields=2)
        self._refusing = False
        self._lock = threading.Lock()

    def record_first_attempt(self, now: float) -> None:
        with self._lock:
            self._window.add(now, _FIRST_ATTEMPTS)

    def try_withdraw(self, now: float, cost: float = 1.0) -> Withdrawal:
        """Spend ``cost`` tokens for one retry if the window can afford it."""
        with self._lock:
            granted = self._balance(now) >= cost
            if granted:
                self._window.add(now, _WITHDRAWN, cost)
            changed = granted == self._refusing
            self._refusing = not granted
            return Withdrawal(granted, changed)

    def balance(self, now: float) -> float:
        """Tokens a retry could spend right now."""
        with self._lock:
            return self._balance(now)

    def _balance(self, now: float) -> float:
        first_attempts, withdrawn = self._window.totals(now)
        return self.options.reserve + self.options.ratio * first_attempts - withdrawn

    def __repr__(self) -> str:
        state = "refusing retries" if self._refusing else "granting retries"
        return f"<RetryBudgetState {state} {self.options!r}>"
