"""Validation helpers for option objects: every bad field is reported at once."""

from __future__ import annotations

import datetime
import math
from typing import Any


class Problems:
    """Collects the bad fields of one option object, then raises once.

    Wrong types raise ``TypeError``; values out of range raise ``ValueError``.
    The message names the object and every bad field, so one run of the
    user's program shows everything to fix (Polly's ``ValidationHelper``).
    """

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._type_errors: list[str] = []
        self._value_errors: list[str] = []

    def wrong_type(self, field: str, expected: str, value: Any) -> None:
        self._type_errors.append(
            f"{field} must be {expected}, not {type(value).__name__}"
        )

    def out_of_range(self, field: str, rule: str, value: Any) -> None:
        self._value_errors.append(f"{field} must be {rule}, got {value!r}")

    def raise_if_any(self) -> None:
        problems = self._type_errors + self._value_errors
        if not problems:
            return
        message = f"invalid {self._owner}: " + "; ".join(problems)
        if self._type_errors:
            raise TypeError(message)
        raise ValueError(message)


def seconds(problems: Problems, field: str, value: Any) -> float | None:
    """Normalise a duration given as float seconds or a ``timedelta``.

    Returns None (after recording the problem) when the value is unusable.
    """
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    return number(problems, field, value, expected="a number of seconds or a timedelta")


def number(
    problems: Problems, field: str, value: Any, expected: str = "a number"
) -> float | None:
    """A finite int or float (not a bool) as a float, or None after recording why not."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.wrong_type(field, expected, value)
        return None
    if not math.isfinite(value):
        problems.out_of_range(field, "finite", value)
        return None
    return float(value)


def integer(problems: Problems, field: str, value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.wrong_type(field, "an int", value)
        return None
    return value


def durations(problems: Problems, options: Any, names: tuple[str, ...], *, positive: bool = False) -> None:
    """Check each named duration field of a frozen dataclass (``>= 0``, or
    ``> 0`` if ``positive``) and store it back as float seconds."""
    for name in names:
        value = seconds(problems, name, getattr(options, name))
        if value is None:
            continue
        if value < 0 or (positive and value == 0):
            problems.out_of_range(name, "> 0" if positive else ">= 0", value)
        object.__setattr__(options, name, value)


def not_below(problems: Problems, options: Any, high: str, low: str) -> None:
    """``high`` must not be below ``low`` (once both are valid floats)."""
    high_value, low_value = getattr(options, high), getattr(options, low)
    if isinstance(high_value, float) and isinstance(low_value, float) and high_value < low_value:
        problems.out_of_range(high, f">= {low} ({low_value})", high_value)
