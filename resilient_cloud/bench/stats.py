"""Small statistics helpers shared by the benchmark's parts."""

from __future__ import annotations

from collections.abc import Sequence

from resilient_cloud._stats import percentile

__all__ = ["median", "percentile"]


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)
