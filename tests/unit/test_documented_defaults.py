"""The defaults docs/configuration.md promises, as literals copied from it.

Each option's fields are compared as a whole (a new field must be added here,
with its documented value), and the backoff defaults are also checked where
they act: in the sleeps of a default client's retries, on a fake clock.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

import resilient_cloud as rc
from resilient_cloud.testing import FakeClock, ScriptedResponses

from ..drivers.replies import DDB_500, DDB_ITEM, DDB_THROTTLE

KEY = {"pk": {"S": "1"}}


def fields(options: Any) -> dict[str, Any]:
    return {field.name: getattr(options, field.name) for field in dataclasses.fields(options)}


def test_retry_defaults() -> None:
    assert fields(rc.Retry()) == {
        "max_attempts": None,  # the client's botocore setting, else 4
        "throttled_attempts": 6,  # after a throttle
        "backoff_base": 0.05,  # 50 ms
        "throttle_backoff_base": 1.0,  # 1 s after a throttling error
        "backoff_cap": 20.0,  # 20 s
        "wait": None,
        "retry_unsafe": False,
    }


def test_retry_budget_defaults() -> None:
    assert fields(rc.RetryBudget()) == {
        "ratio": 0.2,
        "min_retries_per_second": 1.0,
        "ttl": 10.0,
        "throttle_retry_cost": 2.0,  # throttled retries cost double
    }


def test_circuit_breaker_defaults() -> None:
    assert fields(rc.CircuitBreaker()) == {
        "failure_ratio": 0.5,  # half the attempts in the window
        "minimum_attempts": 20,
        "consecutive_failures": 8,
        "window": 10.0,
        "break_duration": 0.5,
        "max_break_duration": None,  # the break does not grow
        "half_open_probes": 1,
        "refusals_before_probe": 3,
    }


def test_rate_limiter_defaults() -> None:
    assert fields(rc.RateLimiter()) == {
        "beta": 0.7,  # CUBIC's decrease
        "min_rate": 0.5,  # requests per second
        "window": 2.0,
        "max_wait": 5.0,
    }


def test_bulkhead_defaults() -> None:
    assert fields(rc.Bulkhead()) == {"max_concurrent": 64, "max_queue": 0, "max_wait": 0.0}


def test_dns_cache_defaults() -> None:
    assert fields(rc.DnsCache()) == {
        "ttl": 30.0,
        "max_stale": 6 * 3600.0,  # 6 h
        "negative_ttl": 5.0,
        "min_ttl": 5.0,
        "max_ttl": 300.0,
        "refresh_timeout": 1.0,
        "refresh_interval": 5.0,
        "max_names": 1024,
        "backend": "system",
    }


def test_failover_defaults() -> None:
    assert fields(rc.Failover()) == {
        "writes": False,
        "switch_after": 3,
        "stick_for": 5.0,
        "max_stick_for": 60.0,
        "probe_interval": 1.0,
    }


def test_hedge_defaults() -> None:
    assert fields(rc.Hedge()) == {
        "delay": None,
        "percentile": 90.0,
        "min_delay": 0.005,  # 5 ms
        "max_delay": 1.0,
        "min_samples": 20,
        "max_concurrent": 32,
    }


def test_policy_defaults() -> None:
    policy = rc.Policy()
    assert policy.retry == rc.Retry() and policy.budget == rc.RetryBudget()
    assert policy.breaker == rc.CircuitBreaker() and policy.bulkhead == rc.Bulkhead()
    assert policy.dns == rc.DnsCache() and policy.failover == rc.Failover()
    assert policy.hedge is None and policy.deadline is None
    assert policy.rate_limiter == rc.RateLimiter()
    assert policy.hooks == () and dict(policy.operation_safety) == {}
    assert policy.clock is rc.SYSTEM_CLOCK and isinstance(policy.random, random.Random)


# -- the defaults where they act -----------------------------------------------


def client_failing_with(reply: Any, *, calls: int = 1, **policy: Any) -> tuple[FakeClock, ScriptedResponses]:
    """A default client (budget and breaker off, so every retry is taken)
    whose every request fails with ``reply``."""
    clock = FakeClock()
    policy = {"budget": None, "breaker": None, "random": random.Random(5), **policy}
    session = rc.Session(region_name="us-east-1", policy=rc.Policy(clock=clock, **policy))
    client = session.client("dynamodb")
    script = ScriptedResponses(client, [], then=reply)
    for _ in range(calls):
        with pytest.raises(client.exceptions.ClientError):
            client.get_item(TableName="t", Key=KEY)
    return clock, script


def test_four_attempts_without_a_botocore_setting() -> None:
    clock, script = client_failing_with(DDB_500)
    assert len(script) == 4 and len(clock.sleeps) == 3


def test_backoff_is_full_jitter_from_50_ms() -> None:
    clock, _ = client_failing_with(DDB_500, calls=20)
    sleeps = [clock.sleeps[i::3] for i in range(3)]  # by retry number, over 20 calls
    for n, waits in enumerate(sleeps, start=1):
        ceiling = 0.05 * 2 ** (n - 1)
        assert all(0 <= wait <= ceiling for wait in waits)
        assert max(waits) > ceiling / 2  # jittered over the whole range, not a smaller one


def test_throttled_retries_back_off_from_1_s_over_six_attempts() -> None:
    # The rate limiter's pacing off: these are the backoff's sleeps alone.
    clock, script = client_failing_with(DDB_THROTTLE, calls=20, rate_limiter=None)
    assert len(script) == 20 * 6
    sleeps = [clock.sleeps[i::5] for i in range(5)]
    for n, waits in enumerate(sleeps, start=1):
        ceiling = 1.0 * 2 ** (n - 1)
        assert all(0 <= wait <= ceiling for wait in waits)
        assert max(waits) > ceiling / 2


def test_backoff_is_capped_at_20_s() -> None:
    clock, _ = client_failing_with(
        DDB_THROTTLE, calls=5, retry=rc.Retry(max_attempts=10), rate_limiter=None
    )
    late = [wait for i, wait in enumerate(clock.sleeps) if i % 9 >= 5]  # 1 s x 2**5 > 20 s
    assert all(wait <= 20.0 for wait in late)
    assert max(late) > 15.0  # the cap is 20 s, not less


def test_a_success_after_retries_is_returned() -> None:
    clock = FakeClock()
    session = rc.Session(region_name="us-east-1", policy=rc.Policy(clock=clock))
    client = session.client("dynamodb")
    ScriptedResponses(client, [DDB_500, DDB_500, DDB_500], then=DDB_ITEM)
    assert client.get_item(TableName="t", Key=KEY)["Item"] == KEY  # the 4th attempt


@pytest.mark.parametrize(("reply", "cost"), [(DDB_500, 1.0), (DDB_THROTTLE, 2.0)], ids=["500", "throttle"])
def test_the_default_budget_pays_retries_and_throttles_cost_double(reply: Any, cost: float) -> None:
    """10 failing calls at one instant: the floor (1/s over 10 s) and the
    deposits (0.2 per first attempt) pay for 12 retries, or 6 throttled ones."""
    import tenacity

    clock, script = client_failing_with(
        reply, calls=10, budget=rc.RetryBudget(), retry=rc.Retry(wait=tenacity.wait_none()),
        rate_limiter=None,
    )
    retries = len(script) - 10
    assert retries == int((10 * 0.2 + 1.0 * 10) / cost)


def test_throttled_retries_paced_by_the_rate_limiter_cost_no_budget() -> None:
    """The same 10 throttled calls with the rate limiter on (the default):
    every call gets its 6 attempts, whatever the budget holds."""
    import tenacity

    clock, script = client_failing_with(
        DDB_THROTTLE, calls=10, budget=rc.RetryBudget(), retry=rc.Retry(wait=tenacity.wait_none())
    )
    assert len(script) == 10 * 6
