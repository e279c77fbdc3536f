"""The OpenTelemetry API globals telemetry reads on every call
(resilient_cloud/_telemetry/providers.py): the providers ``set_*_provider``
sets, which ``get_*_provider`` returns. Fails loudly if an API release moves
them; checked on opentelemetry-api 1.28 and 1.45."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as metrics_internal

from resilient_cloud._telemetry import providers

from ..otel import _reset_globals


class Tracers(trace.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return trace.NoOpTracer()


class Meters(metrics.MeterProvider):
    def get_meter(self, *args: Any, **kwargs: Any) -> metrics.Meter:
        return metrics.NoOpMeter("test")


@pytest.fixture
def fresh_globals() -> Any:
    _reset_globals()
    yield
    _reset_globals()


def test_the_globals_hold_what_set_provider_sets(fresh_globals) -> None:
    assert trace._TRACER_PROVIDER is None and metrics_internal._METER_PROVIDER is None
    assert providers.tracer_provider() is None and providers.meter_provider() is None
    tracers, meters = Tracers(), Meters()
    trace.set_tracer_provider(tracers)
    metrics.set_meter_provider(meters)
    assert trace._TRACER_PROVIDER is tracers is trace.get_tracer_provider()
    assert metrics_internal._METER_PROVIDER is meters is metrics.get_meter_provider()
    assert providers.tracer_provider() is tracers and providers.meter_provider() is meters


def test_without_a_global_set_the_api_is_asked_and_its_proxy_means_none(
    fresh_globals, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider named by the environment is the API's to load: then we ask it."""
    asked: list[str] = []
    monkeypatch.setattr(providers, "_TRACER_FROM_ENV", True)
    monkeypatch.setattr(providers, "_METER_FROM_ENV", True)
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: asked.append("trace") or trace._PROXY_TRACER_PROVIDER)
    monkeypatch.setattr(
        metrics, "get_meter_provider",
        lambda: asked.append("metrics") or metrics_internal._PROXY_METER_PROVIDER,
    )
    assert providers.tracer_provider() is None and providers.meter_provider() is None
    assert asked == ["trace", "metrics"]
