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
