"""OpenTelemetry for every call, made from the call core's events.

A span per logical call (INTERNAL, ``Service.Operation``), a CLIENT span per
attempt (unless ``opentelemetry-instrumentation-botocore`` makes one: then
its spans are the children of ours), span events for each decision, and
metrics. Both drivers report through :class:`CallTelemetry`, so sync and
async calls report the same way.

Only ``opentelemetry-api``. Until an SDK is configured its tracer and meter
providers are proxies or no-ops: :func:`for_call` sees that by reading the
API's provider globals (``providers.py``), and such a call reports nothing.
"""

from __future__ import annotations

import contextvars
import sys
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from resilient_cloud import hooks as _hooks
from resilient_cloud._telemetry import meters
from resilient_cloud._telemetry import names as n
from resilient_cloud._telemetry.events import span_events
from resilient_cloud._telemetry.meters import Instruments, instruments, know_service, service_id_of
from resilient_cloud._telemetry.providers import tracer_provider

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context

    from resilient_cloud._call import Call
    from resilient_cloud._core.actions import Judged, Leg

__all__ = ["CallTelemetry", "for_call", "instruments", "know_service", "on_dns_event", "tracer"]

#: The call whose span is current: a DNS event during one of its attempts marks it.
_CURRENT_CALL: contextvars.ContextVar[CallTelemetry | None] = contextvars.ContextVar(
    "resilient_cloud_call", default=None
)
#: (provider, our tracer from it): made again when another provider is set
#: (the API's proxy tracer would stay bound to the first).
_current: tuple[Any, Any] = (None, None)


def tracer() -> Any:
    """Our tracer from the tracer provider set now; None when none is."""
    global _current
    provider = tracer_provider()
    if provider is None:
        return None
    if _current[0] is not provider:
        _current = (provider, provider.get_tracer(n.SCOPE, meters.VERSION))
    return _current[1]


def botocore_instrumented() -> bool:
    """opentelemetry-instrumentation-botocore is on: it wraps botocore's
    ``BaseClient._make_api_call``, which sends each of our attempts, and
    makes the attempt's CLIENT span itself."""
    module = sys.modules.get("opentelemetry.instrumentation.botocore")
    if module is None:  # never imported: not instrumenting
        return False
    return bool(module.BotocoreInstrumentor().is_instrumented_by_opentelemetry)


def for_call(call: Call, *, asynchronous: bool) -> CallTelemetry | None:
    """The call's telemetry, or None when no SDK listens."""
    tracing, counting = tracer(), instruments()
    if tracing is None and counting is None:
        return None
    # aiobotocore's calls have no instrumentation package: ours for them.
    client_spans = tracing is not None and (asynchronous or not botocore_instrumented())
    return CallTelemetry(call, tracing, counting, client_spans=client_spans)


class CallTelemetry:
    """One call's span and the metrics of its events. ``record`` may run on
    a hedge leg's thread; the SDK's spans and instruments are thread-safe."""

    __slots__ = ("span", "_tracer", "_name", "_attributes", "_counting", "_client_spans", "_hedged",
                 "stale_dns")

    def __init__(
        self, call: Call, tracing: Any, counting: Instruments | None, *, client_spans: bool
    ) -> None:
        model = call.operation.model
        service_id = model.service_model.service_id
        #: The bounded attributes of every metric of this call.
        self._attributes = {
            n.RPC_SERVICE: service_id, n.RPC_METHOD: call.operation.name,
            n.CLOUD_REGION: call.region,
        }
        self._name = f"{service_id}.{call.operation.name}"
        self._counting = counting
        self._client_spans = client_spans
        self._hedged = False
        #: An attempt of this call connected with a stale DNS answer.
        self.stale_dns = False
        self._tracer = tracing
        self.span: Any = None
        if tracing is not None:
            self.span = tracing.start_span(
                self._name, kind=trace.SpanKind.INTERNAL,
                attributes={n.RPC_SYSTEM: n.RPC_SYSTEM_AWS, **self._attributes},
            )

    # -- context ---------------------------------------------------------------

    def attach(self) -> tuple[object, object | None]:
        """Make the call's span the current one (attempts, hedge legs and
        instrumentation below nest in it); ``detach`` the tokens after."""
        call = _CURRENT_CALL.set(self)
        if self.span is None:
            return call, None
        return call, otel_context.attach(trace.set_span_in_context(self.span))

    @staticmethod
    def detach(tokens: tuple[Any, Token[Context] | None] | None) -> None:
        if tokens is None:
            return
        call, span = tokens
        if span is not None:
            otel_context.detach(span)
        _CURRENT_CALL.reset(call)

    def leg_started(self, leg: Leg) -> tuple[Any, Token[Context]] | None:
        """A CLIENT span for one attempt, current until ``leg_ended``."""
        if not self._client_spans:
            return None
        span = self._tracer.start_span(
            self._name, kind=trace.SpanKind.CLIENT,
            attributes={
                n.RPC_SYSTEM: n.RPC_SYSTEM_AWS, **self._attributes,
                n.CLOUD_REGION: leg.route.region, n.ATTEMPT: leg.attempt,
            },
        )
        return span, otel_context.attach(trace.set_span_in_context(span))

    @staticmethod
    def leg_ended(started: tuple[Any, Token[Context]] | None, judged: Judged | None) -> None:
        """End the attempt's span with what it got (None: cancelled)."""
        if started is None:
            return
        span, token = started
        otel_context.detach(token)
        if judged is None:
            span.set_attribute(n.ATTEMPT_OUTCOME, "cancelled")
        else:
            span.set_attribute(n.ATTEMPT_OUTCOME, judged.outcome.kind)
            request_id = _request_id(judged.result if judged.error is None else judged.error)
            if request_id:
                span.set_attribute(n.AWS_REQUEST_ID, request_id)
            if judged.error is not None:
                span.set_status(trace.StatusCode.ERROR, type(judged.error).__name__)
        span.end()

    # -- what happened ---------------------------------------------------------

    def record(self, events: list[Any] | tuple[Any, ...]) -> None:
        for event in events:
            if self.span is not None:
                self._on_span(event)
            if self._counting is not None:
                self._counting.count(event, self._attributes)

    def end(self, call: Call, result: Any, error: BaseException | None) -> None:
        """The call is over: its final attributes, and the span ends."""
        span = self.span
        if span is None:
            return
        succeeded = error is None
        span.set_attribute(n.ATTEMPTS, call.attempts)
        span.set_attribute(n.OUTCOME, n.outcome_of(succeeded, call.stop_reason))
        if call.answered_in is not None:
            span.set_attribute(n.SERVED_REGION, call.answered_in)
        span.set_attribute(n.HEDGED, self._hedged)
        span.set_attribute(n.DNS_STALE, self.stale_dns)
        if not succeeded:
            if call.stop_reason is not None:
                span.set_attribute(n.STOP_REASON, call.stop_reason.name.lower())
            span.set_status(trace.StatusCode.ERROR, type(error).__name__)
        request_id = _request_id(result if error is None else error)
        if request_id:
            span.set_attribute(n.AWS_REQUEST_ID, request_id)
        span.end()

    def _on_span(self, event: Any) -> None:
        if isinstance(event, _hooks.HedgeFired):
            self._hedged = True
        for name, attributes in span_events(event):
            self.span.add_event(name, attributes)


def on_dns_event(event: Any) -> None:
    """A DNS cache event of a lookup for a client that reports: count stale
    answers and failed lookups, and mark the attempt's span (the current
    one) and its call's as served from stale DNS."""
    counting = instruments()
    attributes = {n.RPC_SERVICE: service_id_of(event.service), n.CLOUD_REGION: event.region}
    if isinstance(event, _hooks.DnsStaleAnswerServed):
        trace.get_current_span().set_attribute(n.DNS_STALE, True)
        call = _CURRENT_CALL.get()
        if call is not None:
            call.stale_dns = True
        if counting is not None:
            counting.dns_stale_answers.add(1, attributes)
    elif isinstance(event, _hooks.DnsRefreshFailed) and counting is not None:
        counting.dns_refresh_failures.add(1, attributes)


def _request_id(answer: Any) -> str | None:
    """The AWS request id of a response or of a ClientError's."""
    response = getattr(answer, "response", None) if isinstance(answer, BaseException) else answer
    if not isinstance(response, dict):
        return None
    metadata = response.get("ResponseMetadata")
    if isinstance(metadata, dict):
        request_id = metadata.get("RequestId")
        return request_id if isinstance(request_id, str) else None
    return None
