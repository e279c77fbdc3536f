"""Small test doubles shared by the DNS cache's tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Events(list):  # type: ignore[type-arg]
    """A hook that keeps every event it is given."""

    def __call__(self, event: Any) -> None:
        self.append(event)

    def of(self, kind: type) -> list[Any]:
        return [event for event in self if isinstance(event, kind)]


def run_now(target: Callable[[], None]) -> None:
    """A DNS cache ``spawn`` that runs background refreshes at once, in the caller's thread."""
    target()
