"""Counters over a sliding time window, in fixed memory.

The window is cut into ``SLOTS`` slots of ``window / SLOTS`` seconds (Finagle's
``WindowedAdder``). The slots counted at ``now`` span between
``window * (SLOTS-1)/SLOTS`` and ``window`` seconds ending at ``now``. Not
locked: the state objects that own one hold their own lock.
"""

from __future__ import annotations

import math

SLOTS = 10


class SlidingCounts:
    """``fields`` counters per slot; ``add`` to the slot holding ``now``."""

    __slots__ = ("_width", "_slot_ids", "_counts")

    def __init__(self, window: float, fields: int) -> None:
        self._width = window / SLOTS
        self._slot_ids = [-1] * SLOTS
        self._counts = [[0.0] * fields for _ in range(SLOTS)]

    def add(self, now: float, field: int, amount: float = 1.0) -> None:
        slot_id = math.floor(now / self._width)
        index = slot_id % SLOTS
        if self._slot_ids[index] != slot_id:  # the slot held an expired period
            self._slot_ids[index] = slot_id
            self._counts[index] = [0.0] * len(self._counts[index])
        self._counts[index][field] += amount

    def totals(self, now: float) -> list[float]:
        oldest_live = math.floor(now / self._width) - SLOTS + 1
        live = [counts for slot_id, counts in zip(self._slot_ids, self._counts) if slot_id >= oldest_live]
        if not live:
            return [0.0] * len(self._counts[0])
        return [sum(field) for field in zip(*live)]  # per-call path: sums in C

    def clear(self) -> None:
        self._slot_ids = [-1] * SLOTS
        self._counts = [[0.0] * len(counts) for counts in self._counts]
