"""OpenTelemetry's SDK with in-memory exporters, set as the global providers
for one test and taken away after it (as opentelemetry-test-utils does:
the API lets a process set its providers only once)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


class Exported:
    """What the SDK exported during the test."""

    def __init__(self) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.span_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])

    def spans(self, kind: str | None = None) -> list[Any]:
        """Finished spans, in the order they ended (``kind``: "CLIENT"...)."""
        spans = list(self.span_exporter.get_finished_spans())
        return [s for s in spans if kind is None or s.kind.name == kind]

    def metrics(self) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        """Each of our instruments' points: (attributes, value) where the value is
        a sum, a gauge's value, or a histogram's count."""
        found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        data = self.metric_reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found[metric.name] = [
                        (dict(p.attributes), getattr(p, "value", getattr(p, "count", None)))
                        for p in metric.data.data_points
                    ]
        return found

    def metric_units(self) -> dict[str, str]:
        data = self.metric_reader.get_metrics_data()
        return {
            metric.name: metric.unit
            for resource in (data.resource_metrics if data else ())
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }

    def total(self, name: str, **attributes: Any) -> Any:
        """The sum of ``name``'s points whose attributes include ``attributes``."""
        return sum(
            value for point, value in self.metrics().get(name, [])
            if all(point.get(key) == want for key, want in attributes.items())
        )


def _reset_globals() -> None:
    from opentelemetry import trace
    from opentelemetry.metrics import _internal as metrics_internal
    from opentelemetry.util._once import Once

    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None


@pytest.fixture
def otel() -> Iterator[Exported]:
    from opentelemetry import metrics, trace

    exported = Exported()
    _reset_globals()
    trace.set_tracer_provider(exported.tracer_provider)
    metrics.set_meter_provider(exported.meter_provider)
    try:
        yield exported
    finally:
        _reset_globals()
        exported.tracer_provider.shutdown()
        exported.meter_provider.shutdown()
