"""The asyncio driver: does what the call core decides, in the caller's task.

The same core as the sync driver; only the waiting differs. A hedged read
races its two requests as tasks (the loser is cancelled); the bulkhead is
waited for on a future that a release from any thread resolves; the
deadline is an asyncio timeout around the whole call, so an attempt still
in flight when it passes is cancelled. A cancelled call gives back its
bulkhead slot, cancels its legs (which hand back their breaker admissions)
and leaves no task behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from resilient_cloud import hooks as _hooks
from resilient_cloud._bulkhead import GRANTED, BulkheadState
from resilient_cloud._clock import Clock
from resilient_cloud._core.actions import Action, Build, Judged, Leg, Send, Sleep, Stop, WaitForSlot
from resilient_cloud._core.machine import CallCore
from resilient_cloud._drivers.common import CallParams, LegRun
from resilient_cloud._reporting import CallReport
from resilient_cloud._telemetry import CallTelemetry

AsyncSend = Callable[[str, dict[str, Any]], Awaitable[Any]]
#: ``await build(index)``: build region ``index``'s client; False when that failed.
AsyncBuildRoute = Callable[[int], Awaitable[bool]]


class AsyncDriver:
    """Runs the calls of one aiobotocore client."""

    def __init__(
        self, *, clock: Clock, hooks: tuple[_hooks.Hook, ...], max_hedging: int = 0
    ) -> None:
        self._clock = clock
        self._hooks = hooks
        self._max_hedging = max_hedging
        self._hedging = 0
        # A clock may sleep for asyncio (FakeClock moves its time); the
        # system clock's is asyncio.sleep.
        self._sleep: Callable[[float], Awaitable[None]] = getattr(clock, "asleep", asyncio.sleep)

    async def run(
        self, core: CallCore, params: CallParams, send: AsyncSend, build: AsyncBuildRoute,
        telemetry: CallTelemetry | None = None,
    ) -> Any:
        clock = self._clock
        deadline_at = core.call.deadline_at
        report = CallReport(self._hooks, telemetry)
        report.begin()
        try:
            if deadline_at is None or deadline_at <= clock.monotonic():
                stop = await self._drive(core, params, send, build, report)  # refused if past
            else:
                stop = await self._drive_until(
                    deadline_at - clock.monotonic(), core, params, send, build, report
                )
        except BaseException as error:  # cancelled (or interrupted) mid-call
            if not core.finished:
                core.cancelled(clock.monotonic(), error)
            report.finish(core, None, error)
            raise
        report.finish(core, stop.result, stop.error)
        if stop.error is not None:
            raise stop.error
        return stop.result

    async def _drive_until(
        self, timeout: float, core: CallCore, params: CallParams, send: AsyncSend,
        build: AsyncBuildRoute, report: CallReport,
    ) -> Stop:
        """``_drive`` under the deadline: past it, the call (its legs, its
        wait for a slot) is cancelled and ends with DeadlineExceededError.

        Not ``asyncio.wait_for``: on Python 3.11 it returns the result,
        swallowing a cancellation of its caller, when both come at once.
        """
        call = asyncio.ensure_future(self._drive(core, params, send, build, report))
        try:
            done, _ = await asyncio.wait({call}, timeout=timeout)
        finally:
            if not call.done():  # past the deadline, or we were cancelled
                call.cancel()
                await asyncio.gather(call, return_exceptions=True)
        if done:
            return call.result()
        return core.deadline_passed(self._clock.monotonic())

    async def _drive(
        self, core: CallCore, params: CallParams, send: AsyncSend, build: AsyncBuildRoute,
        report: CallReport,
    ) -> Stop:
        clock = self._clock
        held: BulkheadState | None = None
        try:
            action: Action = core.begin(clock.monotonic())
            while not isinstance(action, Stop):
                report(core.take_events())
                if isinstance(action, Send):
                    action = await self._send(core, action, params, send, build, report)
                elif isinstance(action, Sleep):
                    await self._sleep(action.seconds)
                    action = core.slept(clock.monotonic())
                elif isinstance(action, Build):
                    action = core.built(action.index, await build(action.index), clock.monotonic())
                elif isinstance(action, WaitForSlot):
                    if await acquire(action.bulkhead, action.max_wait):
                        held = action.bulkhead
                        action = core.admitted(clock.monotonic())
                    else:
                        action = core.refused_by_bulkhead(clock.monotonic())
            return action
        finally:
            if held is not None:
                held.release()

    async def _send(
        self, core: CallCore, action: Send, params: CallParams, send: AsyncSend,
        build: AsyncBuildRoute, report: CallReport,
    ) -> Action:
        if action.hedge_after is not None and self._hedging < self._max_hedging:
            self._hedging += 1
            try:
                return await self._hedged(core, action, params, send, build, report)
            finally:
                self._hedging -= 1
        if action.rewind:
            params.rewind()
        judged = await self._leg(core, action.leg, params, send, report)
        return core.settle(judged, self._clock.monotonic())

    async def _leg(
        self, core: CallCore, leg: Leg, params: CallParams, send: AsyncSend, report: CallReport
    ) -> Judged:
        with LegRun(core, leg, params, self._clock, report) as run:
            try:
                run.result = await (leg.route.send or send)(*run.request)
            except asyncio.CancelledError:
                raise  # abandoned by LegRun
            except BaseException as error:
                run.error = error
        assert run.judged is not None
        return run.judged

    async def _hedged(
        self, core: CallCore, action: Send, params: CallParams, send: AsyncSend,
        build: AsyncBuildRoute, report: CallReport,
    ) -> Action:
        """The first attempt of a read, raced against a hedge if it has not
        answered after ``hedge_after``; the first success wins and the other
        leg is cancelled."""
        clock = self._clock
        legs = [asyncio.ensure_future(self._leg(core, action.leg, params, send, report))]
        try:
            done, _ = await asyncio.wait(legs, timeout=action.hedge_after)
            if not done:
                hedge = core.hedge_due(clock.monotonic())
                while isinstance(hedge, Build):
                    hedge = core.built(hedge.index, await build(hedge.index), clock.monotonic())
                report(core.take_events())
                if hedge is not None:
                    legs.append(
                        asyncio.ensure_future(self._leg(core, hedge.leg, params, send, report))
                    )
                    judged, hedge_won = await _race(legs[0], legs[1])
                    return core.raced(judged, hedge_won, clock.monotonic())
            return core.settle(await legs[0], clock.monotonic())
        finally:
            await _cancel(legs)


async def _race(primary: asyncio.Future[Judged], hedge: asyncio.Future[Judged]) -> tuple[Judged, bool]:
    """The first successful leg (and whether it is the hedge), else the primary."""
    pending = {primary, hedge}
    winner = None
    while pending and winner is None:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        winner = next((leg for leg in done if leg.result().error is None), None)
    if winner is None:
        await primary
    return (winner or primary).result(), winner is hedge


async def _cancel(legs: Sequence[asyncio.Future[Judged]]) -> None:
    """Cancel the legs still running and wait until they have handed back
    what they hold; none is left behind, none leaves an unread exception."""
    for leg in legs:
        leg.cancel()
    await asyncio.gather(*legs, return_exceptions=True)


async def acquire(bulkhead: BulkheadState, max_wait: float) -> bool:
    """Take a slot from a task, waiting up to ``max_wait`` seconds without
    blocking the loop; False when refused. A release on any thread wakes it."""
    loop = asyncio.get_running_loop()
    handed_over: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        loop.call_soon_threadsafe(_resolve, handed_over)

    answer = bulkhead.try_acquire(max_wait > 0, wake)
    if isinstance(answer, str):
        return answer == GRANTED
    try:
        # Not asyncio.wait_for: on Python 3.11 it swallows our cancellation
        # when the slot is handed over at the same moment.
        done, _ = await asyncio.wait({handed_over}, timeout=max_wait)
    except BaseException:
        if not answer.cancel():
            bulkhead.release()  # handed over as we were cancelled: give it back
        raise
    return bool(done) or not answer.cancel()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
