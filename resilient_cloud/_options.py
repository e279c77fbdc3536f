"""Frozen option objects, validated when built.

Every default is a named constant whose comment says where the number comes
from; ``docs/configuration.md`` repeats them with the reasoning.
"""

from __future__ import annotations

import datetime
import importlib.util
import random as _random
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore import xform_name
from tenacity.wait import wait_base

from resilient_cloud._botocore import names
from resilient_cloud._clock import SYSTEM_CLOCK, Clock
from resilient_cloud._safety import Safety
from resilient_cloud._validation import Problems, durations, integer, not_below, number, seconds

if TYPE_CHECKING:
    from resilient_cloud.hooks import Hook

# Total attempts when neither the policy nor the client's botocore config
# (Config(retries=), AWS_MAX_ATTEMPTS, profile max_attempts) says otherwise.
# botocore standard uses 3 (4 for DynamoDB); we take 4 because the retry
# budget, not the attempt count, bounds load in an outage, and 4 attempts
# make a call survive 10% independent transient errors 99.99% of the time.
DEFAULT_MAX_ATTEMPTS = 4
# Full-jitter exponential backoff: attempt n sleeps uniform(0, min(cap,
# base * 2**(n-1))). 50 ms for ordinary errors and 1 s for throttling are
# the AWS SDKs' standard-mode base scales; 20 s is their cap.
DEFAULT_BACKOFF_BASE = 0.05
DEFAULT_THROTTLE_BACKOFF_BASE = 1.0
DEFAULT_BACKOFF_CAP = 20.0

# Earned retries (Finagle RetryBudget: ttl 10 s, 20% of requests, 10 retries
# per second). 20% is also Envoy's retry budget; it covers 10% transient
# errors (which need ~11% retries) with room to spare. The floor is 1/s, not
# Finagle's 10/s, because budgets are per process: a fleet of 1,000 hosts
# with a 10/s floor still sends 10,000 retries/s to a dead endpoint.
DEFAULT_BUDGET_RATIO = 0.2
DEFAULT_MIN_RETRIES_PER_SECOND = 1.0
DEFAULT_BUDGET_TTL = 10.0
# A throttled service asked us to slow down: its retries cost double.
DEFAULT_THROTTLE_RETRY_COST = 2.0

# Circuit breaker. Outcomes are counted per attempt, so the thresholds must
# sit far above 10-20% transient errors (which retries absorb): half the
# attempts failing (resilience4j's 50%) over at least 20 attempts in 10 s,
# or 8 failures in a row (Envoy ejects after 5 consecutive 5xx; at 20%
# transient errors 5 in a row come every ~3,000 attempts, 8 every ~400,000).
# Not 20 as before: a fleet machine making one call every 10 s needs 20
# failures to open, and in the simulator (docs/simulation.md) a fleet whose
# breakers do not open keeps a recovering service overloaded.
DEFAULT_FAILURE_RATIO = 0.5
DEFAULT_MINIMUM_ATTEMPTS = 20
DEFAULT_CONSECUTIVE_FAILURES = 8
DEFAULT_BREAKER_WINDOW = 10.0
# Open for 0.5 s (equal jitter: 0.25-0.5 s, so clients that opened together
# do not probe together), not growing: a busy client is back within half a
# second of its service's recovery. What protects a recovering service from
# a fleet is that each open breaker also refuses 3 calls before each probe:
# whatever the number of machines, probes are at most a third of the load
# offered, and machines come back one successful probe at a time (chosen in
# the simulator: 2 overloads a service back at 30% of its capacity, 5 takes
# a fleet twice as long to recover).
DEFAULT_BREAK_DURATION = 0.5
DEFAULT_MAX_BREAK_DURATION = None  # the break does not grow
DEFAULT_HALF_OPEN_PROBES = 1
DEFAULT_REFUSALS_BEFORE_PROBE = 3

# Rate limiter (throttling). CUBIC's multiplicative decrease (botocore's
# adaptive mode, TCP CUBIC): 0.7 of the rate that was throttled. 0.5
# requests per second is botocore's floor. Rates are measured over 2 s:
# long enough to count a few answers at low rates, short enough to follow
# a service whose admitted rate changes. Without a deadline a caller waits
# at most 5 s for a slot (botocore's adaptive mode holds callers 28 s and more).
DEFAULT_RATE_BETA = 0.7
DEFAULT_RATE_MIN = 0.5
DEFAULT_RATE_WINDOW = 2.0
DEFAULT_RATE_MAX_WAIT = 5.0
# Throttled calls get at least 6 attempts: at 30% throttled independently,
# 4 attempts fail 0.8% of calls, 6 fail 0.07%.
DEFAULT_THROTTLED_ATTEMPTS = 6

# Bulkhead: calls in flight to one endpoint from one process. 64 is far past
# what botocore's default pool (10 connections) serves well; beyond it the
# endpoint is slow and more callers only tie up threads. No queue: fail fast.
DEFAULT_MAX_CONCURRENT = 64

# DNS answer cache. getaddrinfo reports no TTL, so system answers stay fresh
# 30 s (the JVM's default; AWS asks JVM users for 60 s or less). TTLs reported
# by a DNS backend are clamped to [5 s, 300 s]: no name is asked for more than
# once per 5 s per process, and no answer outlives 5 minutes unchecked.
DEFAULT_DNS_TTL = 30.0
DEFAULT_DNS_MIN_TTL = 5.0
DEFAULT_DNS_MAX_TTL = 300.0
# A last good answer is served for up to 6 hours after it expired while
# lookups fail: the October 2025 empty record lasted ~2.5 h. RFC 8767
# suggests 1 to 3 days; TLS still verifies every connection made with it.
DEFAULT_DNS_MAX_STALE = 6 * 3600.0
# Failures for names never resolved are remembered for 5 s, so a fleet does
# not hammer a sick resolver with one query per new connection.
DEFAULT_DNS_NEGATIVE_TTL = 5.0
# A lookup waits at most 1 s for the refresh of an expired answer before it
# takes the stale one (healthy resolvers answer in milliseconds); while
# stale, each name is asked again in the background at most every 5 s.
DEFAULT_DNS_REFRESH_TIMEOUT = 1.0
DEFAULT_DNS_REFRESH_INTERVAL = 5.0
# Distinct (name, port, family) answers kept per cache.
DEFAULT_DNS_MAX_NAMES = 1024
DNS_BACKENDS = ("system", "dnspython")

# Failover (issue 7). Three failures in a row of the region in use move a
# client's calls elsewhere: one failure is noise, and the call that saw it
# already failed over by itself; waiting for the breaker (20 attempts) would
# leave the sticky switch to chance at low rates.
DEFAULT_SWITCH_AFTER = 3
# Seconds on a fallback before the primary is probed: long enough that a
# flapping primary does not pull traffic back per call, short enough that a
# recovered primary is used again within seconds (the benchmark's target).
DEFAULT_STICK_FOR = 5.0
# Each quick return to a primary that fails again doubles the stay, up to this.
DEFAULT_MAX_STICK_FOR = 60.0
# At most one probe call of the primary per interval while on a fallback.
DEFAULT_PROBE_INTERVAL = 1.0
# Hedging: until enough latencies are known, wait max_delay (a hedge that
# fires late costs little; one that fires early doubles the load). p90, not
# the customary p95: a tail of ~5% slow requests fills the top 5% of the
# samples, so p95 lands on the slow side and hedges too late (measured:
# slow-tail, p99 1.013 s at p95 vs 0.021 s at p90 for 7.8% extra requests).
DEFAULT_HEDGE_PERCENTILE = 90.0
DEFAULT_HEDGE_MIN_DELAY = 0.005
DEFAULT_HEDGE_MAX_DELAY = 1.0
DEFAULT_HEDGE_MIN_SAMPLES = 20
DEFAULT_HEDGE_MAX_CONCURRENT = 32


@dataclass(frozen=True, slots=True)
class Retry:
    """How a failed attempt is retried.

    Args:
        max_attempts: total attempts, the first included. ``None`` takes the
            client's botocore setting (``Config(retries={"total_max_attempts":
            ...})``, ``AWS_MAX_ATTEMPTS``, profile ``max_attempts``) and
            otherwise :data:`DEFAULT_MAX_ATTEMPTS` (4).
        throttled_attempts: total attempts a call may make when its last
            failure was a throttle (at least ``max_attempts``): throttled
            retries are paced by the :class:`RateLimiter`, not refused.
        backoff_base: seconds; the first retry waits ``uniform(0, base)``, each
            later one doubles the upper bound (full jitter).
        throttle_backoff_base: the base used after a throttling error.
        backoff_cap: seconds; the upper bound never grows past it.
        wait: any tenacity wait strategy, replacing the full-jitter backoff
            (note that tenacity's own jitter waits use the global ``random``).
        retry_unsafe: retry unsafe operations (see :class:`Safety`) even after
            an ambiguous failure, when the request may have been applied.
    """

    max_attempts: int | None = None
    throttled_attempts: int = DEFAULT_THROTTLED_ATTEMPTS
    backoff_base: float = DEFAULT_BACKOFF_BASE
    throttle_backoff_base: float = DEFAULT_THROTTLE_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    wait: wait_base | None = None
    retry_unsafe: bool = False

    def __post_init__(self) -> None:
        problems = Problems("Retry")
        if self.max_attempts is not None:
            attempts = integer(problems, "max_attempts", self.max_attempts)
            if attempts is not None and attempts < 1:
                problems.out_of_range("max_attempts", ">= 1", attempts)
        throttled = integer(problems, "throttled_attempts", self.throttled_attempts)
        if throttled is not None and throttled < 1:
            problems.out_of_range("throttled_attempts", ">= 1", throttled)
        durations(problems, self, ("backoff_base", "throttle_backoff_base", "backoff_cap"))
        if self.wait is not None and not callable(self.wait):
            problems.wrong_type("wait", "a tenacity wait strategy", self.wait)
        if not isinstance(self.retry_unsafe, bool):
            problems.wrong_type("retry_unsafe", "a bool", self.retry_unsafe)
        problems.raise_if_any()


@dataclass(frozen=True, slots=True)
class RetryBudget:
    """Earned retries, shared by every client of one endpoint in the process.

    Every first attempt deposits ``ratio`` of a token, every retry withdraws
    ``1`` (``throttle_retry_cost`` after a throttling error), and
    ``min_retries_per_second * ttl`` tokens are always available; deposits
    and withdrawals expire after ``ttl`` seconds. In a total outage of N
    calls the retries stay near ``N * ratio + min_retries_per_second * T``.
    """

    ratio: float = DEFAULT_BUDGET_RATIO
    min_retries_per_second: float = DEFAULT_MIN_RETRIES_PER_SECOND
    ttl: float = DEFAULT_BUDGET_TTL
    throttle_retry_cost: float = DEFAULT_THROTTLE_RETRY_COST

    def __post_init__(self) -> None:
        problems = Problems("RetryBudget")
        ratio = number(problems, "ratio", self.ratio)
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            problems.out_of_range("ratio", "between 0 and 1", ratio)
        floor = number(problems, "min_retries_per_second", self.min_retries_per_second)
        if floor is not None and floor < 0:
            problems.out_of_range("min_retries_per_second", ">= 0", floor)
        durations(problems, self, ("ttl",), positive=True)
        cost = number(problems, "throttle_retry_cost", self.throttle_retry_cost)
        if cost is not None and cost < 1:
            problems.out_of_range("throttle_retry_cost", ">= 1", cost)
        problems.raise_if_any()

    @property
    def reserve(self) -> float:
        """Tokens always available in a window: the per-second floor."""
        return self.min_retries_per_second * self.ttl


@dataclass(frozen=True, slots=True)
class CircuitBreaker:
    """Fail fast while an endpoint is failing, shared per endpoint.

    Counts every attempt's outcome: server errors, throttling, connection,
    DNS and timeout errors are failures; client errors (validation,
    ResourceNotFound...) show a healthy endpoint. Opens when at least
    ``failure_ratio`` of at least ``minimum_attempts`` attempts in ``window``
    seconds failed, or after ``consecutive_failures`` in a row. While open,
    calls are refused at once with :class:`~resilient_cloud.CircuitOpenError`.
    After ``break_duration`` (jittered between half of it and all of it;
    doubling after each failed probe up to ``max_break_duration`` when that
    is set), and once ``refusals_before_probe`` calls have been refused, up
    to ``half_open_probes`` attempts probe the endpoint: a success closes
    the breaker, a failure re-opens it. Spacing probes by refused calls as
    well as by time keeps a fleet's probes to a share of its load, however
    many machines it has (docs/simulation.md).
    """

    failure_ratio: float = DEFAULT_FAILURE_RATIO
    minimum_attempts: int = DEFAULT_MINIMUM_ATTEMPTS
    consecutive_failures: int = DEFAULT_CONSECUTIVE_FAILURES
    window: float = DEFAULT_BREAKER_WINDOW
    break_duration: float = DEFAULT_BREAK_DURATION
    max_break_duration: float | None = DEFAULT_MAX_BREAK_DURATION
    half_open_probes: int = DEFAULT_HALF_OPEN_PROBES
    refusals_before_probe: int = DEFAULT_REFUSALS_BEFORE_PROBE

    def __post_init__(self) -> None:
        problems = Problems("CircuitBreaker")
        refusals = integer(problems, "refusals_before_probe", self.refusals_before_probe)
        if refusals is not None and refusals < 0:
            problems.out_of_range("refusals_before_probe", ">= 0", refusals)
        ratio = number(problems, "failure_ratio", self.failure_ratio)
        if ratio is not None and not 0.0 < ratio <= 1.0:
            problems.out_of_range("failure_ratio", "in (0, 1]", ratio)
        for name in ("minimum_attempts", "consecutive_failures", "half_open_probes"):
            value = integer(problems, name, getattr(self, name))
            if value is not None and value < 1:
                problems.out_of_range(name, ">= 1", value)
        durations(problems, self, ("window", "break_duration"), positive=True)
        if self.max_break_duration is not None:
            durations(problems, self, ("max_break_duration",), positive=True)
            not_below(problems, self, "max_break_duration", "break_duration")
        problems.raise_if_any()


@dataclass(frozen=True, slots=True)
class RateLimiter:
    """Pace requests to an endpoint that throttles, shared per endpoint.

    Does nothing until an endpoint in the process throttles; the first
    throttle an endpoint sees starts measuring its send rate, and from the
    next one on every attempt to it takes a slot at an adaptive rate (CUBIC,
    as botocore's adaptive mode, but never below the rate the service has
    been accepting over ``window`` seconds, and not lowered when throttles
    do not fall as the rate falls). A call whose slot would come after its
    deadline, or more than ``max_wait`` seconds away, is refused at once
    with :class:`~resilient_cloud.RateLimitedError` when no request was sent
    yet (otherwise it ends with its last error). Throttled retries cost
    nothing from the retry budget while a limiter paces them.
    """

    beta: float = DEFAULT_RATE_BETA
    min_rate: float = DEFAULT_RATE_MIN
    window: float = DEFAULT_RATE_WINDOW
    max_wait: float = DEFAULT_RATE_MAX_WAIT

    def __post_init__(self) -> None:
        problems = Problems("RateLimiter")
        beta = number(problems, "beta", self.beta)
        if beta is not None and not 0.0 < beta < 1.0:
            problems.out_of_range("beta", "between 0 and 1 (exclusive)", beta)
        floor = number(problems, "min_rate", self.min_rate)
        if floor is not None and floor <= 0:
            problems.out_of_range("min_rate", "> 0", floor)
        durations(problems, self, ("window", "max_wait"), positive=True)
        problems.raise_if_any()


@dataclass(frozen=True, slots=True)
class Bulkhead:
    """A bound on calls in flight to one endpoint, shared by the process.

    Past ``max_concurrent``, up to ``max_queue`` callers wait at most
    ``max_wait`` seconds for a slot (never past the call's deadline); others
    are refused at once with :class:`~resilient_cloud.BulkheadFullError`.
    """

    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    max_queue: int = 0
    max_wait: float = 0.0

    def __post_init__(self) -> None:
        problems = Problems("Bulkhead")
        limit = integer(problems, "max_concurrent", self.max_concurrent)
        if limit is not None and limit < 1:
            problems.out_of_range("max_concurrent", ">= 1", limit)
        queue = integer(problems, "max_queue", self.max_queue)
        if queue is not None and queue < 0:
            problems.out_of_range("max_queue", ">= 0", queue)
        wait = seconds(problems, "max_wait", self.max_wait)
        if wait is not None:
            if wait < 0:
                problems.out_of_range("max_wait", ">= 0", wait)
            object.__setattr__(self, "max_wait", wait)
            if queue and not wait:
                problems.out_of_range("max_wait", "> 0 when max_queue > 0", wait)
        problems.raise_if_any()


@dataclass(frozen=True, slots=True)
class DnsCache:
    """A per-process cache of DNS answers that serves the last good one when
    lookups fail.

    Answers are fresh for ``ttl`` seconds (``backend="system"``: getaddrinfo
    reports no TTL) or for the TTL the DNS server gave, clamped to
    ``[min_ttl, max_ttl]``. When a refresh fails (resolver error, timeout,
    NXDOMAIN or an empty answer) the last good answer is served stale for up
    to ``max_stale`` seconds past its expiry, while the name is asked again in
    the background at most every ``refresh_interval`` seconds. A lookup waits
    at most ``refresh_timeout`` seconds for a refresh before taking the stale
    answer. Failures for names never resolved are cached ``negative_ttl``
    seconds. Certificate verification is unchanged: only the address comes
    from the cache.

    Args:
        backend: ``"system"`` (``socket.getaddrinfo``: ``/etc/hosts`` and the
            platform's rules apply), ``"dnspython"`` (real TTLs, from the
            servers in ``/etc/resolv.conf``; ``pip install
            'resilient-cloud[dns]'``), or a configured ``dns.resolver.Resolver``.
    """

    ttl: float = DEFAULT_DNS_TTL
    max_stale: float = DEFAULT_DNS_MAX_STALE
    negative_ttl: float = DEFAULT_DNS_NEGATIVE_TTL
    min_ttl: float = DEFAULT_DNS_MIN_TTL
    max_ttl: float = DEFAULT_DNS_MAX_TTL
    refresh_timeout: float = DEFAULT_DNS_REFRESH_TIMEOUT
    refresh_interval: float = DEFAULT_DNS_REFRESH_INTERVAL
    max_names: int = DEFAULT_DNS_MAX_NAMES
    backend: Any = "system"

    def __post_init__(self) -> None:
        problems = Problems("DnsCache")
        durations(problems, self, ("ttl", "max_stale", "negative_ttl", "min_ttl", "max_ttl"))
        durations(problems, self, ("refresh_timeout", "refresh_interval"), positive=True)
        not_below(problems, self, "max_ttl", "min_ttl")
        names = integer(problems, "max_names", self.max_names)
        if names is not None and names < 1:
            problems.out_of_range("max_names", ">= 1", names)
        _check_backend(problems, self.backend)
        problems.raise_if_any()


@dataclass(frozen=True, slots=True)
class Failover:
    """How a client with ``fallback_regions`` moves between its regions.

    A call whose attempt fails in a sick way (DNS, refused or failed
    connection, timeout, server error; not throttling or client errors) or
    meets an open breaker tries the next region at once, without backoff;
    that attempt spends a retry token like any retry. After ``switch_after``
    such failures in a row, every call starts in the next region (sticky) for
    ``stick_for`` seconds; then one call at a time, at most every
    ``probe_interval``, probes the primary, and the first probe that succeeds
    brings the client back. A primary that fails again soon after a return
    keeps the client away twice as long, up to ``max_stick_for``.

    Args:
        writes: which non-read operations may fail over: ``False`` (none, the
            default), ``True`` (all), or operation names (``"PutItem"`` or
            ``"dynamodb.PutItem"``), e.g. for DynamoDB global tables. Even
            then a write moves to another region only when the request
            certainly never reached the first (DNS, refused connection, open
            breaker), never after an ambiguous failure.
    """

    writes: bool | frozenset[str] = False
    switch_after: int = DEFAULT_SWITCH_AFTER
    stick_for: float = DEFAULT_STICK_FOR
    max_stick_for: float = DEFAULT_MAX_STICK_FOR
    probe_interval: float = DEFAULT_PROBE_INTERVAL

    def __post_init__(self) -> None:
        problems = Problems("Failover")
        writes = self.writes
        if not isinstance(writes, bool):
            if isinstance(writes, str) or not hasattr(writes, "__iter__"):
                problems.wrong_type("writes", "a bool or a collection of operation names", writes)
            else:
                names = frozenset(writes)
                if not all(isinstance(name, str) and name for name in names):
                    problems.wrong_type("writes", "a bool or a collection of operation names", writes)
                object.__setattr__(self, "writes", names)
        switch_after = integer(problems, "switch_after", self.switch_after)
        if switch_after is not None and switch_after < 1:
            problems.out_of_range("switch_after", ">= 1", switch_after)
        # stick_for > 0: the doubling that stops flapping multiplies it.
        durations(problems, self, ("stick_for", "max_stick_for", "probe_interval"), positive=True)
        not_below(problems, self, "max_stick_for", "stick_for")
        problems.raise_if_any()

    def allows_write(self, service: str, operation: str) -> bool:
        """Whether the non-read ``operation`` of ``service`` may fail over."""
        if isinstance(self.writes, bool):
            return self.writes
        return operation in self.writes or f"{service}.{operation}" in self.writes


@dataclass(frozen=True, slots=True)
class Hedge:
    """Hedged reads: when a read-only call's first attempt has not answered
    after a delay, send the same read to the next region (or, without
    fallback regions, over a second connection) and take the first answer.

    The delay is ``delay`` seconds when set, else the ``percentile`` of this
    client's recent first-attempt latencies (its last 256), clamped to
    ``[min_delay, max_delay]``; ``max_delay`` until ``min_samples`` are known.
    Every hedge withdraws one token from the retry budget and is skipped
    when the budget is empty, so hedging cannot amplify an overload. At most
    ``max_concurrent`` hedged calls per client run at once; calls beyond
    that are sent unhedged. The losing request is not cancelled (a sync
    request cannot be): its answer is discarded.
    """

    delay: float | None = None
    percentile: float = DEFAULT_HEDGE_PERCENTILE
    min_delay: float = DEFAULT_HEDGE_MIN_DELAY
    max_delay: float = DEFAULT_HEDGE_MAX_DELAY
    min_samples: int = DEFAULT_HEDGE_MIN_SAMPLES
    max_concurrent: int = DEFAULT_HEDGE_MAX_CONCURRENT

    def __post_init__(self) -> None:
        problems = Problems("Hedge")
        if self.delay is not None:
            durations(problems, self, ("delay",), positive=True)
        percentile = number(problems, "percentile", self.percentile)
        if percentile is not None:
            if not 0.0 < percentile < 100.0:
                problems.out_of_range("percentile", "between 0 and 100 (exclusive)", percentile)
            object.__setattr__(self, "percentile", percentile)
        durations(problems, self, ("min_delay", "max_delay"), positive=True)
        not_below(problems, self, "max_delay", "min_delay")
        for name in ("min_samples", "max_concurrent"):
            value = integer(problems, name, getattr(self, name))
            if value is not None and value < 1:
                problems.out_of_range(name, ">= 1", value)
        problems.raise_if_any()


def _check_backend(problems: Problems, backend: Any) -> None:
    if isinstance(backend, str):
        if backend not in DNS_BACKENDS:
            problems.out_of_range("backend", "'system', 'dnspython' or a dns.resolver.Resolver", backend)
        elif backend == "dnspython" and importlib.util.find_spec("dns") is None:
            problems.out_of_range(
                "backend", "'system' unless dnspython is installed "
                "(pip install 'resilient-cloud[dns]')", backend,
            )
        return
    # A Resolver instance means dnspython is already imported.
    resolver_module = sys.modules.get("dns.resolver")
    if resolver_module is None or not isinstance(backend, resolver_module.Resolver):
        problems.wrong_type("backend", "'system', 'dnspython' or a dns.resolver.Resolver", backend)


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything resilient_cloud does around one client's calls.

    Any mechanism set to ``None`` is switched off.

    Args:
        retry: how failed attempts are retried (:class:`Retry`); ``None``
            sends every call exactly once.
        budget: earned retries shared per endpoint (:class:`RetryBudget`).
        breaker: fail fast while an endpoint fails (:class:`CircuitBreaker`).
        bulkhead: a bound on calls in flight per endpoint (:class:`Bulkhead`).
        dns: cache DNS answers and serve the last good one when lookups
            fail (:class:`DnsCache`); ``None`` leaves every lookup to urllib3.
        failover: how calls move to a client's ``fallback_regions``
            (:class:`Failover`); ``None`` keeps every call in its own region.
        hedge: hedged reads (:class:`Hedge`); off unless set.
        rate_limiter: pace requests to an endpoint that throttles
            (:class:`RateLimiter`), shared per endpoint.
        deadline: seconds (or a ``timedelta``) for the whole call, across
            attempts, backoff and fallback regions; ``None`` for no deadline.
            No backoff sleeps past it and no attempt starts after it; an attempt already in
            flight is bounded by the client's connect and read timeouts.
        hooks: callables receiving every decision (:mod:`resilient_cloud.hooks`);
            ``None`` for none.
        telemetry: report spans and metrics through OpenTelemetry's API
            (``docs/operating.md``) once an SDK is configured; ``False``
            switches it off.
        operation_safety: overrides of :class:`Safety`, keyed by
            ``"service.Operation"`` (``"dynamodb.PutItem"``) or ``"Operation"``,
            the operation spelt as the API does or as the client method does
            (``"dynamodb.put_item"``); ``None`` for none. A qualified name is
            checked against botocore's model now; an unqualified one applies
            to every client whose service has an operation of that name.
        clock: where time comes from (tests pass a fake one).
        random: the generator behind jitter (tests pass a seeded one).
    """

    retry: Retry | None = field(default_factory=Retry)
    budget: RetryBudget | None = field(default_factory=RetryBudget)
    breaker: CircuitBreaker | None = field(default_factory=CircuitBreaker)
    bulkhead: Bulkhead | None = field(default_factory=Bulkhead)
    dns: DnsCache | None = field(default_factory=DnsCache)
    failover: Failover | None = field(default_factory=Failover)
    hedge: Hedge | None = None
    rate_limiter: RateLimiter | None = field(default_factory=RateLimiter)
    deadline: float | datetime.timedelta | None = None
    hooks: tuple[Hook, ...] | None = ()
    telemetry: bool = True
    operation_safety: Mapping[str, Safety | str] | None = field(default_factory=dict)
    clock: Clock = SYSTEM_CLOCK
    random: _random.Random = field(default_factory=_random.Random, compare=False)

    def __post_init__(self) -> None:
        problems = Problems("Policy")
        _check_instance(problems, "retry", self.retry, Retry)
        _check_instance(problems, "budget", self.budget, RetryBudget)
        _check_instance(problems, "breaker", self.breaker, CircuitBreaker)
        _check_instance(problems, "bulkhead", self.bulkhead, Bulkhead)
        _check_instance(problems, "dns", self.dns, DnsCache)
        _check_instance(problems, "failover", self.failover, Failover)
        _check_instance(problems, "hedge", self.hedge, Hedge)
        _check_instance(problems, "rate_limiter", self.rate_limiter, RateLimiter)
        if self.deadline is not None:
            deadline = seconds(problems, "deadline", self.deadline)
            if deadline is not None:
                if deadline <= 0:
                    problems.out_of_range("deadline", "> 0", deadline)
                object.__setattr__(self, "deadline", deadline)
        object.__setattr__(self, "hooks", check_hooks(problems, self.hooks))
        if not isinstance(self.telemetry, bool):
            problems.wrong_type("telemetry", "True or False", self.telemetry)
        object.__setattr__(
            self, "operation_safety", _safety_overrides(problems, self.operation_safety)
        )
        if not isinstance(self.clock, Clock):
            problems.wrong_type("clock", "a Clock (monotonic() and sleep())", self.clock)
        if not isinstance(self.random, _random.Random):
            problems.wrong_type("random", "a random.Random", self.random)
        problems.raise_if_any()


def policy_or_default(policy: Any, default: Policy | None = None) -> Policy:
    """``policy``, or ``default`` (else the defaults) when it is None; a
    TypeError naming the argument for anything that is not a Policy."""
    if policy is None:
        return default if default is not None else Policy()
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a resilient_cloud.Policy, not {type(policy).__name__}")
    return policy


def _check_instance(problems: Problems, name: str, value: Any, cls: type) -> None:
    if value is not None and not isinstance(value, cls):
        problems.wrong_type(name, f"a {cls.__name__} or None", value)


def check_hooks(problems: Problems, hooks: Any) -> tuple[Hook, ...]:
    if hooks is None:
        return ()
    if callable(hooks):
        hooks = (hooks,)
    if isinstance(hooks, (str, bytes)) or not hasattr(hooks, "__iter__"):
        problems.wrong_type("hooks", "a sequence of callables", hooks)
        return ()
    checked: tuple[Hook, ...] = tuple(hooks)
    for index, hook in enumerate(checked):
        if not callable(hook):
            problems.wrong_type(f"hooks[{index}]", "callable", hook)
    return checked


class SafetyOverrides(Mapping[str, Safety]):
    """``Policy.operation_safety``: a read-only mapping that can be hashed,
    so a policy can key shared state."""

    __slots__ = ("_items", "_hash")

    def __init__(self, items: Mapping[str, Safety]) -> None:
        self._items = dict(items)
        self._hash = hash(frozenset(self._items.items()))

    def __getitem__(self, key: str) -> Safety:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._items == dict(other.items())

    def __repr__(self) -> str:
        return f"SafetyOverrides({self._items!r})"


# "PutItem" or "put_item", optionally after "service." (service names are
# lower case with digits and hyphens).
_OPERATION_KEY = re.compile(r"(?:(?P<service>[a-z0-9][a-z0-9-]*)\.)?(?P<name>[A-Z][A-Za-z0-9]*|[a-z][a-z0-9_]*)")
_KEY_FORMS = "'Operation', 'operation_name', 'service.Operation' or 'service.operation_name'"


def _safety_overrides(problems: Problems, overrides: Any) -> SafetyOverrides:
    if overrides is None:
        return SafetyOverrides({})
    if not isinstance(overrides, Mapping):
        problems.wrong_type("operation_safety", "a mapping", overrides)
        return SafetyOverrides({})
    resolved: dict[str, Safety] = {}
    written_as: dict[str, str] = {}  # an operation's snake_case identity -> the key given
    for key, value in overrides.items():
        if not isinstance(key, str):
            problems.wrong_type("operation_safety key", _KEY_FORMS, key)
            continue
        stored = _stored_key(problems, key)
        try:
            safety = Safety(value)
        except ValueError:
            choices = ", ".join(repr(s.value) for s in Safety)
            problems.out_of_range(f"operation_safety[{key!r}]", f"one of {choices}", value)
            continue
        if stored is None:
            continue
        qualifier, _, name = stored.rpartition(".")
        identity = f"{qualifier}.{xform_name(name)}"
        if identity in written_as:
            problems.out_of_range(
                f"operation_safety[{key!r}]", f"given once (it is also {written_as[identity]!r})", value
            )
            continue
        written_as[identity] = key
        resolved[stored] = safety
    return SafetyOverrides(resolved)


def _stored_key(problems: Problems, key: str) -> str | None:
    """``key`` as the policy keeps it: a qualified name in the API's spelling
    (checked against botocore's model), an unqualified one as given (only a
    client's own service can say what ``put_item`` stands for: see
    ``_botocore.names.overrides_for``). None after recording a problem."""
    match = _OPERATION_KEY.fullmatch(key)
    if match is None:
        problems.out_of_range("operation_safety key", _KEY_FORMS, key)
        return None
    service, name = match.group("service"), match.group("name")
    if service is None:
        return key
    if service not in names.services():
        problems.out_of_range(
            f"operation_safety key {key!r}", "prefixed by a service botocore knows", service
        )
        return None
    operation = names.resolve(service, name)
    if operation is None:
        problems.out_of_range(
            f"operation_safety key {key!r}", f"an operation of {service}", name
        )
        return None
    return f"{service}.{operation}"
