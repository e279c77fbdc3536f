"""What telemetry costs a call, on canned answers (no network).

Two comparisons, each in interleaved rounds timed on the calling thread's
CPU time, the figure being the median of the per-round ratios (as in
``overhead.py``):

- **no SDK**: a resilient client with telemetry on (the default) against
  one with ``Policy(telemetry=False)``, while no OpenTelemetry SDK is
  configured; plus the no-op path's own cost, timed alone: asking whether
  a call reports anything (``for_call``), in microseconds.
- **SDK**: with the OpenTelemetry SDK and an in-memory span exporter and
  metric reader set, a resilient client (its call span, and each attempt's
  CLIENT span made by ``opentelemetry-instrumentation-botocore``) against
  plain botocore with that instrumentation alone.

Runs in a child process: the SDK's providers are set once per process,
and the benchmark's own process must not report through them.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import boto3

import resilient_cloud as rc
from resilient_cloud.bench.overhead import ITEM, ROUNDS, _summary, _time_calls
from resilient_cloud.bench.stats import median
from resilient_cloud.testing import ScriptedResponses

NOOP_CHECKS = 20000


def measure(calls: int) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        return child.submit(_measure, calls).result()


def _client(session: Any) -> Any:
    client = session.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
    )
    ScriptedResponses(client, [], then=ITEM)
    return client


def _interleaved(first: Any, second: Any, per_round: int, between: Any = None) -> dict[str, Any]:
    _time_calls(first, 50), _time_calls(second, 50)  # warm caches
    first_times, second_times = [], []
    for _ in range(ROUNDS):
        first_times.append(_time_calls(first, per_round))
        second_times.append(_time_calls(second, per_round))
        if between is not None:
            between()
    return _summary(first_times, second_times, per_round)


def _noop_us() -> float:
    """One call's question "does anyone listen?" with no SDK, in microseconds."""
    from resilient_cloud import _telemetry
    from resilient_cloud._runtime import ClientRuntime  # noqa: F401  (imports as a client would)

    call = _sample_call()
    rounds = []
    for _ in range(ROUNDS):
        start = time.thread_time()
        for _ in range(NOOP_CHECKS // ROUNDS):
            _telemetry.for_call(call, asynchronous=False)
        rounds.append((time.thread_time() - start) / (NOOP_CHECKS // ROUNDS))
    return 1e6 * (median(rounds) or 0.0)


def _sample_call() -> Any:
    import botocore.session

    from resilient_cloud._botocore.operations import describe
    from resilient_cloud._call import Call

    model = botocore.session.get_session().get_service_model("dynamodb")
    return Call(
        operation=describe(model, "GetItem", {}), service="dynamodb", region="us-east-1",
        max_attempts=3, started_at=0.0, deadline_at=None, budget=None, retry_unsafe=False,
    )


def _measure(calls: int) -> dict[str, Any]:
    per_round = max(1, calls // ROUNDS)
    without_sdk = _interleaved(
        _client(rc.Session(policy=rc.Policy(telemetry=False))), _client(rc.Session()), per_round
    )
    noop_us = _noop_us()

    from opentelemetry import metrics, trace
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    BotocoreInstrumentor().instrument()  # type: ignore[no-untyped-call]  # the package is untyped
    with_sdk = _interleaved(
        _client(boto3.session.Session()), _client(rc.Session()), per_round,
        between=exporter.clear,  # bounded memory: the spans are not the point
    )
    return {
        "plain": "telemetry off",
        "resilient": "telemetry on",
        **without_sdk,
        "noop_us": noop_us,
        "sdk": {"plain": "plain botocore + instrumentation", "resilient": "resilient + SDK", **with_sdk},
    }
