"""What a resilient subject's library says about itself during a run.

In the subject's worker process: the health view (``rc.health()``: each
endpoint's breaker, retry budget, bulkhead and routing) sampled every
``SAMPLE_EVERY`` seconds with the retries scheduled and stale DNS answers
served so far (counted by a hook), for the PNG's telemetry panel and the
live view; and the OpenTelemetry metrics the run exported, read at the end
from the SDK's in-memory reader, for the JSON. Without the SDK installed
the metrics are left out, nothing else changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import resilient_cloud as rc
from resilient_cloud import hooks

SAMPLE_EVERY = 0.25
_BREAKER_LEVEL = {"closed": 0, "half-open": 1, "open": 2}


class Observer(threading.Thread):
    """A hook (counts retries and stale DNS answers) and the sampler."""

    def __init__(self, send: Callable[[dict[str, Any]], None] | None = None) -> None:
        super().__init__(daemon=True, name="bench-observer")
        self._send = send
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._load_started = time.monotonic()
        self.retries = 0
        self.stale_dns = 0
        self.samples: list[dict[str, Any]] = []
        self._reader = _install_metric_reader()

    def __call__(self, event: hooks.Event) -> None:
        if isinstance(event, hooks.RetryScheduled):
            with self._lock:
                self.retries += 1
        elif isinstance(event, hooks.DnsStaleAnswerServed):
            with self._lock:
                self.stale_dns += 1

    def begin(self, started: float) -> None:
        """Sample from ``started`` (the load's ``time.monotonic()``) on."""
        self._load_started = started
        self.start()

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_EVERY):
            self._take()

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=5.0)
        self._take()

    def _take(self) -> None:
        sample = self.sample()
        self.samples.append(sample)
        if self._send is not None:
            self._send(sample)

    def sample(self) -> dict[str, Any]:
        with self._lock:
            retries, stale = self.retries, self.stale_dns
        return {
            "t": round(time.monotonic() - self._load_started, 3),
            "retries": retries,
            "stale_dns": stale,
            "endpoints": [_endpoint(entry) for entry in rc.health()],
        }

    def exported_metrics(self) -> dict[str, list[dict[str, Any]]] | None:
        """Every metric the SDK got, as ``{name: [{"attributes", "value"}]}``."""
        if self._reader is None:
            return None
        found: dict[str, list[dict[str, Any]]] = {}
        data = self._reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found[metric.name] = [
                        {"attributes": dict(point.attributes), "value": _value(point)}
                        for point in metric.data.data_points
                    ]
        return found


def _endpoint(entry: Any) -> dict[str, Any]:
    breaker = entry.breaker
    return {
        "endpoint": f"{entry.endpoint.service}.{entry.endpoint.region}",
        "breaker": None if breaker is None else breaker.state.value,
        "breaker_level": None if breaker is None else _BREAKER_LEVEL[breaker.state.value],
        "budget": None if entry.budget_balance is None else round(entry.budget_balance, 2),
        "bulkhead_in_use": None if entry.bulkhead is None else entry.bulkhead.in_use,
        "bulkhead_waiting": None if entry.bulkhead is None else entry.bulkhead.waiting,
        "routing": None if entry.routing is None else entry.routing.region,
    }


def _value(point: Any) -> Any:
    if hasattr(point, "value"):
        return point.value
    return {"count": point.count, "sum": point.sum}  # a histogram


def _install_metric_reader() -> Any:
    """The SDK's meter provider with an in-memory reader, set for this
    process (a worker runs one subject); None without the SDK."""
    try:
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    except ImportError:
        return None
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return reader
