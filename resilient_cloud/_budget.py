"""The earned retry budget: a sliding window of deposits and withdrawals.

Pure state: every method takes ``now`` (seconds on the policy's clock). The
window is cut into ``SLOTS`` slots of ``ttl / SLOTS`` seconds each (Finagle's
``WindowedAdder``), so memory is fixed whatever the request rate. The slots
counted at ``now`` span between ``ttl * (SLOTS-1)/SLOTS`` and ``ttl`` seconds
ending at ``now``; a retry is granted when, over that span,

    withdrawals + cost <= ratio * first_attempts + min_retries_per_second * ttl
"""

from __future__ import annotations

import math
import threading
from typing import NamedTuple

from resilient_cloud._options import RetryBudget

SLOTS = 10


class Withdrawal(NamedTuple):
    """A budget's answer to one retry."""

    granted: bool
    #: True when this answer differs from the previous one: the budget just
    #: ran dry or just recovered (worth one log line, not one per call).
    changed: bool


class RetryBudgetState:
    """Deposits and withdrawals of one endpoint's budget (thread-safe)."""

    __slots__ = (
        "options",
        "_width",
        "_slot_ids",
        "_first_attempts",
        "_withdrawn",
        "_refusing",
        "_lock",
    )

    def __init__(self, options: RetryBudget) -> None:
        self.options = options
        self._width = options.ttl / SLOTS
        # Parallel ring buffers indexed by slot id modulo SLOTS.
        self._slot_ids = [-1] * SLOTS
        self._first_attempts = [0] * SLOTS
        self._withdrawn = [0.0] * SLOTS
        self._refusing = False
        self._lock = threading.Lock()

    def record_first_attempt(self, now: float) -> None:
        with self._lock:
            index = self._current(now)
            self._first_attempts[index] += 1

    def try_withdraw(self, now: float, cost: float = 1.0) -> Withdrawal:
        """Spend ``cost`` tokens for one retry if the window can afford it."""
        with self._lock:
            index = self._current(now)
            granted = self._balance(now) >= cost
            if granted:
                self._withdrawn[index] += cost
            changed = granted == self._refusing
            self._refusing = not granted
            return Withdrawal(granted, changed)

    def balance(self, now: float) -> float:
        """Tokens a retry could spend right now."""
        with self._lock:
            return self._balance(now)

    def _current(self, now: float) -> int:
        """Index of the slot holding ``now``, emptied if it held an old slot."""
        slot_id = math.floor(now / self._width)
        index = slot_id % SLOTS
        if self._slot_ids[index] != slot_id:
            self._slot_ids[index] = slot_id
            self._first_attempts[index] = 0
            self._withdrawn[index] = 0.0
        return index

    def _balance(self, now: float) -> float:
        oldest_live = math.floor(now / self._width) - SLOTS + 1
        first_attempts = 0
        withdrawn = 0.0
        for index, slot_id in enumerate(self._slot_ids):
            if slot_id >= oldest_live:
                first_attempts += self._first_attempts[index]
                withdrawn += self._withdrawn[index]
        options = self.options
        return options.reserve + options.ratio * first_attempts - withdrawn

    def __repr__(self) -> str:
        state = "refusing retries" if self._refusing else "granting retries"
        return f"<RetryBudgetState {state} {self.options!r}>"
