"""Events the core reports that are not hook events (yet): logged only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BudgetChanged:
    """An endpoint's retry budget just ran dry (``granting`` False) or just
    recovered: worth one log line, not one per call."""

    service: str
    region: str
    granting: bool
