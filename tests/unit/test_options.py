"""Options are validated when built, naming every bad field at once."""

from __future__ import annotations

import datetime
import random

import pytest

import resilient_cloud as rc


def test_defaults_are_documented_values() -> None:
    # Every field spelled out with the value docs/configuration.md gives (a
    # field left out would be compared with its own default, i.e. not at
    # all); tests/unit/test_documented_defaults.py also checks them in use.
    policy = rc.Policy()
    assert policy.retry == rc.Retry(
        max_attempts=None, throttled_attempts=6, backoff_base=0.05, throttle_backoff_base=1.0,
        backoff_cap=20.0, wait=None, retry_unsafe=False,
    )
    assert policy.budget == rc.RetryBudget(
        ratio=0.2, min_retries_per_second=1.0, ttl=10.0, throttle_retry_cost=2.0
    )
    assert policy.deadline is None
    assert policy.breaker == rc.CircuitBreaker(
        failure_ratio=0.5, minimum_attempts=20, consecutive_failures=8, window=10.0,
        break_duration=0.5, max_break_duration=None, half_open_probes=1, refusals_before_probe=3,
    )
    assert policy.rate_limiter == rc.RateLimiter(beta=0.7, min_rate=0.5, window=2.0, max_wait=5.0)
    assert policy.bulkhead == rc.Bulkhead(max_concurrent=64, max_queue=0, max_wait=0.0)
    assert policy.dns == rc.DnsCache(
        ttl=30.0, max_stale=6 * 3600.0, negative_ttl=5.0, min_ttl=5.0, max_ttl=300.0,
        refresh_timeout=1.0, refresh_interval=5.0, max_names=1024, backend="system",
    )
    assert policy.failover == rc.Failover(
        writes=False, switch_after=3, stick_for=5.0, max_stick_for=60.0, probe_interval=1.0
    )
    assert policy.hedge is None
    assert rc.Policy(dns=None).dns is None


def test_every_bad_field_in_one_message() -> None:
    with pytest.raises(ValueError) as caught:
        rc.Retry(max_attempts=0, backoff_base=-1, backoff_cap=-2)
    assert str(caught.value) == (
        "invalid Retry: max_attempts must be >= 1, got 0; "
        "backoff_base must be >= 0, got -1.0; backoff_cap must be >= 0, got -2.0"
    )


def test_wrong_types_raise_type_error_naming_the_field() -> None:
    with pytest.raises(TypeError, match="max_attempts must be an int, not str"):
        rc.Retry(max_attempts="3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_attempts must be an int, not bool"):
        rc.Retry(max_attempts=True)
    with pytest.raises(TypeError, match="retry must be a Retry or None"):
        rc.Policy(retry=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"hooks\[1\] must be callable"):
        rc.Policy(hooks=(print, "nope"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="random must be a random.Random"):
        rc.Policy(random=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="clock must be a Clock"):
        rc.Policy(clock=object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratio": 1.5}, "ratio must be between 0 and 1, got 1.5"),
        ({"ttl": 0}, "ttl must be > 0, got 0.0"),
        ({"min_retries_per_second": -1}, "min_retries_per_second must be >= 0, got -1.0"),
        ({"throttle_retry_cost": 0.5}, "throttle_retry_cost must be >= 1, got 0.5"),
        ({"ratio": float("nan")}, "ratio must be finite"),
    ],
)
def test_budget_ranges(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rc.RetryBudget(**kwargs)


def test_deadline_accepts_timedelta_and_rejects_nonsense() -> None:
    assert rc.Policy(deadline=datetime.timedelta(milliseconds=1500)).deadline == 1.5
    with pytest.raises(ValueError, match="deadline must be > 0"):
        rc.Policy(deadline=0)
    with pytest.raises(TypeError, match="deadline must be a number of seconds"):
        rc.Policy(deadline="10s")  # type: ignore[arg-type]


def test_mechanisms_take_their_option_type_or_none() -> None:
    with pytest.raises(TypeError, match="dns must be a DnsCache or None, not object"):
        rc.Policy(dns=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="breaker must be a CircuitBreaker or None"):
        rc.Policy(breaker=object())  # type: ignore[arg-type]


def test_dns_cache_validation_names_fields() -> None:
    with pytest.raises(ValueError) as caught:
        rc.DnsCache(ttl=-1, refresh_timeout=0, min_ttl=60, max_ttl=10, max_names=0)
    assert str(caught.value) == (
        "invalid DnsCache: ttl must be >= 0, got -1.0; refresh_timeout must be > 0, got 0.0; "
        "max_ttl must be >= min_ttl (60.0), got 10.0; max_names must be >= 1, got 0"
    )
    with pytest.raises(ValueError, match="backend must be 'system', 'dnspython' or a dns.resolver.Resolver"):
        rc.DnsCache(backend="bind")
    with pytest.raises(TypeError, match="backend must be 'system', 'dnspython' or a dns.resolver.Resolver"):
        rc.DnsCache(backend=object())
    with pytest.raises(TypeError, match="max_stale must be a number of seconds"):
        rc.DnsCache(max_stale="6h")  # type: ignore[arg-type]
    assert rc.DnsCache(max_stale=datetime.timedelta(hours=1)).max_stale == 3600.0
    # ttl=0 is allowed: every lookup refreshes, and stale answers still cover failures.
    assert rc.DnsCache(ttl=0).ttl == 0.0


def test_dnspython_backend_needs_dnspython(monkeypatch: pytest.MonkeyPatch) -> None:
    import dns.resolver

    assert rc.DnsCache(backend="dnspython").backend == "dnspython"
    assert rc.DnsCache(backend=dns.resolver.Resolver(configure=False)).backend is not None
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"pip install 'resilient-cloud\[dns\]'"):
        rc.DnsCache(backend="dnspython")


def test_breaker_and_bulkhead_validation_names_fields() -> None:
    with pytest.raises(ValueError) as caught:
        rc.CircuitBreaker(failure_ratio=0, minimum_attempts=0, break_duration=10, max_break_duration=5)
    assert str(caught.value) == (
        "invalid CircuitBreaker: failure_ratio must be in (0, 1], got 0.0; "
        "minimum_attempts must be >= 1, got 0; "
        "max_break_duration must be >= break_duration (10.0), got 5.0"
    )
    with pytest.raises(ValueError, match="max_wait must be > 0 when max_queue > 0"):
        rc.Bulkhead(max_queue=4)
    with pytest.raises(TypeError, match="max_concurrent must be an int"):
        rc.Bulkhead(max_concurrent=2.5)  # type: ignore[arg-type]


def test_operation_safety_accepts_enum_or_value_and_rejects_typos() -> None:
    policy = rc.Policy(operation_safety={"PutItem": "idempotent", "dynamodb.Scan": rc.Safety.UNSAFE})
    assert policy.operation_safety == {"PutItem": rc.Safety.IDEMPOTENT, "dynamodb.Scan": rc.Safety.UNSAFE}
    with pytest.raises(ValueError, match=r"operation_safety\['PutItem'\] must be one of"):
        rc.Policy(operation_safety={"PutItem": "safe-ish"})


def test_options_are_frozen_and_hashable() -> None:
    with pytest.raises(AttributeError):
        rc.RetryBudget().ratio = 0.5  # type: ignore[misc]
    assert hash(rc.RetryBudget()) == hash(rc.RetryBudget())
    assert rc.Policy(random=random.Random(1)) == rc.Policy(random=random.Random(2))
