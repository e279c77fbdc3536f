"""What both drivers do the same way: one call's parameters, and one leg's
bookkeeping around its request (the attempt's trace, the core's verdict)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from resilient_cloud._outcome import CURRENT_TRACE, AttemptTrace
from resilient_cloud._telemetry import CallTelemetry

if TYPE_CHECKING:
    from resilient_cloud._clock import Clock
    from resilient_cloud._core.actions import Judged, Leg
    from resilient_cloud._core.machine import CallCore
    from resilient_cloud._reporting import CallReport


class CallParams:
    """The parameters every attempt starts from, and the streams in them
    with the position each started at (to rewind before a retry)."""

    __slots__ = ("params", "streams")

    def __init__(self, api_params: Mapping[str, Any]) -> None:
        self.params = dict(api_params)
        #: None when a stream cannot be rewound: the call must not be retried.
        self.streams: list[tuple[Any, int]] | None = []
        for value in self.params.values():
            if hasattr(value, "read"):
                position = _start_position(value)
                if position is None:
                    self.streams = None
                    break
                self.streams.append((value, position))

    @property
    def rewindable(self) -> bool:
        return self.streams is not None

    @property
    def has_streams(self) -> bool:
        return self.streams != []

    def rewind(self) -> None:
        for stream, position in self.streams or ():
            stream.seek(position)

    def for_attempt(self, tokens: Mapping[str, str]) -> dict[str, Any]:
        """One attempt's parameters: a fresh shallow copy, because botocore's
        parameter handlers rewrite some values in place (S3 CopySource quoting
        would be applied twice), with the idempotency tokens botocore filled
        on an earlier attempt. botocore fills them itself on the first, at
        ``before-parameter-build`` after the Stubber's check, as without us."""
        attempt = dict(self.params)
        for member, token in tokens.items():
            attempt.setdefault(member, token)
        return attempt


class LegRun:
    """One leg's bookkeeping around its request, the same for both drivers::

        with LegRun(core, leg, params, clock, report) as run:
            try:
                run.result = send(*run.request)     # awaited by the async driver
            except BaseException as error:
                run.error = error
        judged = run.judged

    On entry: the leg's events are reported, a fresh attempt trace is set in
    the context (our connection seams and botocore's event handlers write
    into it) and the attempt's span starts; on exit: the core judges what
    the leg got, the span ends, and the events of that are reported. A leg cancelled mid-request (only an
    asyncio one can be) is abandoned instead: it hands back its breaker
    admission and ends "cancelled".
    """

    __slots__ = ("result", "error", "judged", "request", "_core", "_leg", "_clock", "_report",
                 "_trace", "_token", "_started", "_span")

    def __init__(
        self, core: CallCore, leg: Leg, params: CallParams, clock: Clock,
        report: CallReport,
    ) -> None:
        call = core.call
        self._core, self._leg, self._clock, self._report = core, leg, clock, report
        self.result: Any = None
        self.error: BaseException | None = None
        self.judged: Judged | None = None
        #: ``(operation_name, params)`` to send.
        self.request = (call.operation.name, params.for_attempt(call.idempotency_tokens))
        self._trace = AttemptTrace(tokens=call.idempotency_tokens)

    def __enter__(self) -> LegRun:
        self._report(self._core.leg_started(self._leg))
        telemetry = self._report.telemetry
        self._span = telemetry.leg_started(self._leg) if telemetry is not None else None
        self._token = CURRENT_TRACE.set(self._trace)
        self._started = self._clock.monotonic()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        CURRENT_TRACE.reset(self._token)
        if exc_type is not None:  # cancelled (asyncio): it gets no verdict
            CallTelemetry.leg_ended(self._span, None)
            self._report(self._core.abandon(self._leg, self._started, self._clock.monotonic()))
            return
        self.judged = self._core.judge(
            self._leg, self.result, self.error, self._trace, self._started, self._clock.monotonic()
        )
        CallTelemetry.leg_ended(self._span, self.judged)
        self._report(self.judged.events)


def _start_position(stream: Any) -> int | None:
    seekable = getattr(stream, "seekable", None)
    try:
        if seekable is not None and not seekable():
            return None
        position: int = stream.tell()
        return position
    except (AttributeError, OSError, ValueError):
        return None
