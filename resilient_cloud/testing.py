"""Test support: a fake clock, seeded randomness, and a reset of shared state.

::

    import random
    import resilient_cloud as rc
    from resilient_cloud.testing import FakeClock

    clock = FakeClock()
    policy = rc.Policy(clock=clock, random=random.Random(7))
    # ... calls sleep on `clock`, instantly; clock.sleeps lists every delay.

Call :func:`reset` between tests so budgets shared per endpoint do not carry
over (a pytest fixture: ``@pytest.fixture(autouse=True)``).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

from resilient_cloud._dns.cache import clear_caches
from resilient_cloud._ratelimit import RateLimiterState
from resilient_cloud._registry import REGISTRY
from resilient_cloud._telemetry.logs import LIMITER

__all__ = ["FakeClock", "Reply", "ScriptedResponses", "reset"]


class FakeClock:
    """A clock that only moves when told to: ``sleep`` and ``advance`` move it.

    Args:
        start: the first reading of ``monotonic()``.
        tick: seconds added on every ``monotonic()`` read, to model code that
            takes time (0 by default).
    """

    def __init__(self, start: float = 1_000.0, tick: float = 0.0) -> None:
        self._now = float(start)
        self._tick = float(tick)
        self._lock = threading.Lock()
        #: Every ``sleep`` request, in order.
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            now = self._now
            self._now += self._tick
            return now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)

    async def asleep(self, seconds: float) -> None:
        """``sleep`` for asyncio clients: moves time, then yields to the loop once."""
        self.sleep(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r}, sleeps={len(self.sleeps)})"


def reset() -> None:
    """Forget every shared state in this process: the per-endpoint budgets,
    breakers, bulkheads and rate limiters (and that any endpoint throttled),
    every cached DNS answer, and the log lines' rate limits."""
    REGISTRY.clear()
    clear_caches()
    LIMITER.clear()
    RateLimiterState.engaged = False


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: bytes = b"{}"
    headers: Mapping[str, str] = field(default_factory=dict)


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterable[bytes]:
        yield self._body


_SCRIPT_ID = "resilient-cloud-scripted-responses"


class _AsyncRawBody:
    """What aiobotocore reads a body from (``await raw.read()``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self) -> bytes:
        return self._body


class ScriptedResponses:
    """Answer a client's requests from a script, with no network.

    Installs on botocore's ``before-send`` event (a botocore or aiobotocore
    client), the last step before the HTTP layer, so everything above it (parameter handling, serialising,
    signing, parsing, retries) runs for real. Each script item is a
    :class:`Reply` or an exception to raise as the transport would
    (``botocore.exceptions.ReadTimeoutError(endpoint_url=...)``...); when the
    script runs out, ``then`` answers every further request.
    """

    def __init__(
        self,
        client: Any,
        script: Iterable[Reply | BaseException] = (),
        *,
        then: Reply | BaseException | None = Reply(),
    ) -> None:
        self._script: deque[Reply | BaseException] = deque(script)
        self._then = then
        self._lock = threading.Lock()
        #: Operation names of the requests answered, in order.
        self.operations: list[str] = []
        #: The botocore ``AWSPreparedRequest`` objects answered, in order.
        self.requests: list[Any] = []
        # aiobotocore clients parse from an AioAWSResponse (their event
        # emitter calls this plain handler as it is).
        self._asynchronous = inspect.iscoroutinefunction(getattr(client, "_make_api_call", None))
        # A new script replaces the client's previous one.
        client.meta.events.unregister("before-send", unique_id=_SCRIPT_ID)
        client.meta.events.register("before-send", self._answer, unique_id=_SCRIPT_ID)

    def _answer(self, request: Any, event_name: str = "", **kwargs: Any) -> AWSResponse:
        with self._lock:
            self.operations.append(event_name.rsplit(".", 1)[-1])
            self.requests.append(request)
            item = self._script.popleft() if self._script else self._then
        if item is None:
            raise AssertionError(f"unscripted request: {event_name}")
        if isinstance(item, BaseException):
            raise item
        return self.response(self._asynchronous, request.url, item)

    @staticmethod
    def response(asynchronous: bool, url: str, reply: Reply) -> AWSResponse:
        """``reply`` as the HTTP response a client parses: aiobotocore's
        ``AioAWSResponse`` when ``asynchronous``, else botocore's ``AWSResponse``."""
        if asynchronous:
            from aiobotocore.awsrequest import AioAWSResponse

            # The stubs want HTTPHeaders; both classes wrap any mapping in their own.
            return AioAWSResponse(
                url, reply.status, dict(reply.headers), _AsyncRawBody(reply.body)  # type: ignore[arg-type]
            )
        return AWSResponse(url, reply.status, dict(reply.headers), _RawBody(reply.body))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.operations)
