"""Log lines: one per state change, rate-limited per subject, carrying the
span attributes' names; never one per call above debug."""

from __future__ import annotations

import logging

import pytest

from resilient_cloud import hooks as rc_hooks
from resilient_cloud._reporting import publish
from resilient_cloud._telemetry.logs import LineLimiter
from resilient_cloud.testing import FakeClock


def test_a_subject_gets_its_burst_then_one_line_per_refill_saying_how_many_were_dropped() -> None:
    clock = FakeClock()
    limiter = LineLimiter(burst=2, period=10.0, clock=clock.monotonic)
    assert [limiter.admit("a") for _ in range(4)] == [0, 0, None, None]
    assert limiter.admit("b") == 0  # subjects are limited apart
    clock.advance(4.9)  # a token comes back every 5 s
    assert limiter.admit("a") is None
    clock.advance(0.1)
    assert limiter.admit("a") == 3
    assert limiter.admit("a") is None
    clock.advance(100.0)  # refills up to the burst, no more
    assert [limiter.admit("a") for _ in range(3)] == [1, 0, None]


def test_subjects_are_bounded_and_bad_settings_refused() -> None:
    limiter = LineLimiter(burst=1, period=1.0, maxsize=2, clock=FakeClock().monotonic)
    for subject in range(10):
        limiter.admit(subject)
    assert len(limiter._buckets) == 2
    with pytest.raises(ValueError, match="burst"):
        LineLimiter(burst=0)
    with pytest.raises(ValueError, match="period"):
        LineLimiter(period=0.0)


def flap(times: int) -> list[rc_hooks.BreakerStateChanged]:
    events = []
    for _ in range(times):
        for before, after in (("closed", "open"), ("open", "half-open"), ("half-open", "closed")):
            events.append(rc_hooks.BreakerStateChanged(
                "dynamodb", "GetItem", "us-east-1", "dynamodb.us-east-1", before, after, "why",
            ))
    return events


def test_a_flapping_breaker_cannot_flood_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="resilient_cloud"):
        publish((), flap(20))  # 60 state changes at once
    lines = [r for r in caplog.records if "circuit breaker" in r.getMessage()]
    assert len(lines) == 10  # the burst
    first = lines[0]
    assert first.levelno == logging.WARNING and "closed -> open" in first.getMessage()
    assert getattr(first, "resilient_cloud.breaker.state") == "open"
    assert getattr(first, "resilient_cloud.endpoint") == "dynamodb.us-east-1"
    assert getattr(first, "cloud.region") == "us-east-1"


def test_per_call_events_log_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="resilient_cloud"):
        publish((), [
            rc_hooks.FailedOver("dynamodb", "GetItem", "us-east-1", "us-west-2", "why"),
            rc_hooks.RetryScheduled("dynamodb", "GetItem", "us-east-1", 2, 0.1, "server-error", 1.0),
            rc_hooks.CallEnded("dynamodb", "GetItem", "us-east-1", 2, True, None, 0.2),
        ])
    assert caplog.records == []
