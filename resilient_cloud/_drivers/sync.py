"""The sync driver: does what the call core decides, on the caller's thread.

A hedged read runs both of its requests on a :class:`HedgePool`'s worker
threads (a blocking request cannot be raced from one thread); everything
else happens on the caller's thread.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any

from resilient_cloud import hooks as _hooks
from resilient_cloud._bulkhead import BulkheadState, acquire_blocking
from resilient_cloud._clock import Clock
from resilient_cloud._core.actions import Action, Build, Judged, Leg, Send, Sleep, Stop, WaitForSlot
from resilient_cloud._core.machine import CallCore
from resilient_cloud._drivers.common import CallParams, LegRun
from resilient_cloud._hedging import HedgePool
from resilient_cloud._reporting import CallReport
from resilient_cloud._telemetry import CallTelemetry

#: ``send(operation_name, params)``: one request through a botocore client.
SendRequest = Callable[[str, dict[str, Any]], Any]
#: ``build(index)``: build region ``index``'s client; False when that failed.
BuildRoute = Callable[[int], bool]


class SyncDriver:
    """Runs the calls of one client."""

    def __init__(
        self, *, clock: Clock, hooks: tuple[_hooks.Hook, ...], hedge_pool: HedgePool | None = None
    ) -> None:
        self._clock = clock
        self._hooks = hooks
        self._hedge_pool = hedge_pool or HedgePool(1)

    def run(
        self, core: CallCore, params: CallParams, send: SendRequest, build: BuildRoute,
        telemetry: CallTelemetry | None = None,
    ) -> Any:
        clock = self._clock
        report = CallReport(self._hooks, telemetry)
        held: BulkheadState | None = None
        action: Action | None = None
        error: BaseException | None = None
        report.begin()
        try:
            action = core.begin(clock.monotonic())
            while not isinstance(action, Stop):
                report(core.take_events())
                if isinstance(action, Send):
                    action = self._send(core, action, params, send, build, report)
                elif isinstance(action, Sleep):
                    clock.sleep(action.seconds)
                    action = core.slept(clock.monotonic())
                elif isinstance(action, Build):
                    action = core.built(action.index, build(action.index), clock.monotonic())
                elif isinstance(action, WaitForSlot):
                    if acquire_blocking(action.bulkhead, action.max_wait):
                        held = action.bulkhead
                        action = core.admitted(clock.monotonic())
                    else:
                        action = core.refused_by_bulkhead(clock.monotonic())
        except BaseException as failure:  # a driver failure, or KeyboardInterrupt mid-wait
            error = failure
            if not isinstance(action, Stop):
                core.cancelled(clock.monotonic(), error)
            raise
        finally:
            if held is not None:
                held.release()
            if isinstance(action, Stop):
                report.finish(core, action.result, action.error)
            else:
                report.finish(core, None, error)
        if action.error is not None:
            raise action.error
        return action.result

    def _send(
        self, core: CallCore, action: Send, params: CallParams, send: SendRequest,
        build: BuildRoute, report: CallReport,
    ) -> Action:
        if action.hedge_after is not None and self._hedge_pool.try_enter():
            return self._hedged(core, action, params, send, build, report)
        if action.rewind:
            params.rewind()
        judged = self._leg(core, action.leg, params, send, report)
        return core.settle(judged, self._clock.monotonic())

    def _leg(
        self, core: CallCore, leg: Leg, params: CallParams, send: SendRequest, report: CallReport
    ) -> Judged:
        """Send one request and have the core judge it (hedge legs: on a
        worker thread)."""
        with LegRun(core, leg, params, self._clock, report) as run:
            try:
                run.result = (leg.route.send or send)(*run.request)
            except BaseException as error:
                run.error = error
        assert run.judged is not None
        return run.judged

    def _hedged(
        self, core: CallCore, action: Send, params: CallParams, send: SendRequest,
        build: BuildRoute, report: CallReport,
    ) -> Action:
        """The first attempt of a read, raced against a hedge if it has not
        answered after ``hedge_after``; the first success wins, the other
        answer is ignored."""
        legs = _Legs(self._hedge_pool)
        clock = self._clock
        try:
            primary = legs.submit(self._leg, core, action.leg, params, send, report)
            if futures.wait([primary], timeout=action.hedge_after).not_done:
                hedge = core.hedge_due(clock.monotonic())
                while isinstance(hedge, Build):
                    hedge = core.built(hedge.index, build(hedge.index), clock.monotonic())
                report(core.take_events())
                if hedge is not None:
                    second = legs.submit(self._leg, core, hedge.leg, params, send, report)
                    judged, hedge_won = _race(primary, second)
                    return core.raced(judged, hedge_won, clock.monotonic())
        finally:
            legs.close()
        return core.settle(primary.result(), clock.monotonic())


def _race(primary: futures.Future[Judged], hedge: futures.Future[Judged]) -> tuple[Judged, bool]:
    """The first successful leg (and whether it is the hedge), else the primary."""
    pending = {primary, hedge}
    winner = None
    while pending and winner is None:
        done, pending = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
        winner = next((leg for leg in done if leg.result().error is None), None)
    return (winner or primary).result(), winner is hedge


class _Legs:
    """The requests of one hedged call, run in the pool's threads (each in a
    copy of the caller's context); the call's slot in the pool is given back
    when the last of them ends, even after the call returned."""

    def __init__(self, pool: HedgePool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._running = 0
        self._closed = False
        self._released = False

    def submit(self, fn: Callable[..., Judged], *args: Any) -> futures.Future[Judged]:
        with self._lock:
            self._running += 1
        leg = self._pool.executor().submit(contextvars.copy_context().run, fn, *args)
        leg.add_done_callback(self._ended)
        return leg

    def close(self) -> None:
        """No more legs will start."""
        with self._lock:
            self._closed = True
        self._release_if_idle()

    def _ended(self, _leg: futures.Future[Any]) -> None:
        with self._lock:
            self._running -= 1
        self._release_if_idle()

    def _release_if_idle(self) -> None:
        with self._lock:
            if not self._closed or self._running or self._released:
                return
            self._released = True
        self._pool.leave()
