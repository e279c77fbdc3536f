"""The clock every decision reads: injected, never a global."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Where time comes from: ``monotonic()`` in seconds and ``sleep(seconds)``.

    asyncio clients sleep with ``await clock.asleep(seconds)`` when the clock
    has it, and with ``asyncio.sleep`` otherwise.

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

    async def asleep(self, seconds: float) -> None:
        """``sleep`` for asyncio clients."""
        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()
