"""The global tracer and meter providers, read cheaply on every call.

While no provider is set, the API's ``get_tracer_provider()`` and
``get_meter_provider()`` look the environment up on each call (an
``OTEL_PYTHON_*_PROVIDER`` variable may name one to load): about 1.5 us
each, most of what telemetry would cost a call with no SDK configured. We
read the module globals those functions read, and call the API itself only
when the environment named a provider when we were imported (the API then
loads it) or when a global is not where it was (a later API moved it).
tests/drift/test_otel_seams.py pins the globals on the API versions we
support.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as metrics_internal

_MISSING = object()
_NO_TRACING = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_NO_METRICS: tuple[type, ...] = (metrics.NoOpMeterProvider,)
if isinstance(getattr(metrics_internal, "_ProxyMeterProvider", None), type):
    _NO_METRICS += (metrics_internal._ProxyMeterProvider,)
#: The environment names a provider for the API to load on first use.
_TRACER_FROM_ENV = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
_METER_FROM_ENV = "OTEL_PYTHON_METER_PROVIDER" in os.environ


def tracer_provider() -> Any | None:
    """The tracer provider set now; None while there is none (the API's proxy)."""
    return _provider(trace, "_TRACER_PROVIDER", _TRACER_FROM_ENV, trace.get_tracer_provider, _NO_TRACING)


def meter_provider() -> Any | None:
    """The meter provider set now; None while there is none (the API's proxy)."""
    return _provider(
        metrics_internal, "_METER_PROVIDER", _METER_FROM_ENV, metrics.get_meter_provider, _NO_METRICS
    )


def _provider(
    module: Any, name: str, from_env: bool, get: Callable[[], Any], none: tuple[type, ...]
) -> Any | None:
    provider = getattr(module, name, _MISSING)
    if provider is None and not from_env:
        return None
    if provider is None or provider is _MISSING:
        provider = get()  # the API loads what the environment names
    return None if isinstance(provider, none) else provider
