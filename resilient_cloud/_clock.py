"""The clock every decision reads: injected, never a global."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Where time comes from: ``monotonic()`` in seconds and ``sleep(seconds)``.

    Production uses :data:`SYSTEM_CLOCK`; tests pass
    :class:`resilient_cloud.testing.FakeClock`, whose ``sleep`` only moves time.
    """

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The process's real monotonic clock and ``time.sleep``."""

    __slots__ = ()

    # The builtin itself: DNS cache hits read the clock on every new connection.
    monotonic = staticmethod(time.monotonic)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
