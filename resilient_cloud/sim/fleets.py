"""The client policies a simulated fleet runs, each through its real code.

- ``legacy``: botocore's legacy retry handler, built by botocore from its own
  ``_retry.json`` (DynamoDB: 10 attempts, 50 ms doubling, no jitter, no quota).
- ``standard``: botocore's standard-mode ``RetryHandler`` (3 attempts, full
  jitter, a 500-token quota per client), assembled as botocore assembles it.
- ``adaptive``: standard plus botocore's ``ClientRateLimiter`` (CUBIC) per
  client, whose token bucket holds callers until it has a token.
- ``tenacity-naive``: ``tenacity.retry(stop_after_attempt(5),
  wait_exponential(max=10))`` around a legacy client.
- ``resilient``: resilient_cloud's call core, retry budget, circuit breaker
  and backoff, built from an ``rc.Policy`` with the simulator's clock.

Each simulated client is a separate machine: its quota, limiter, budget and
breaker are its own. A client's ``start(sim, submitted, then)`` makes one
call now and records how it ended (the engine records its submission), then
calls ``then``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import tenacity
from botocore import configprovider, translate
from botocore.exceptions import CapacityNotAvailableError
from botocore.retries import adaptive, bucket, quota, standard, throttling
from botocore.retryhandler import create_retry_handler

from resilient_cloud._breaker import CircuitBreakerState
from resilient_cloud._budget import RetryBudgetState
from resilient_cloud._call import Call
from resilient_cloud._core.actions import Send, Sleep, Stop, WaitForSlot
from resilient_cloud._core.machine import CallCore
from resilient_cloud._failover import Route
from resilient_cloud._options import DEFAULT_MAX_ATTEMPTS, Policy
from resilient_cloud._ratelimit import RateLimiterState
from resilient_cloud._runtime import throttled_attempts, wait_strategy
from resilient_cloud.sim.model import retry_data

if TYPE_CHECKING:
    from resilient_cloud.sim.engine import Simulation

POLICIES = ("legacy", "standard", "adaptive", "tenacity-naive", "resilient")

Process = Generator[Any, Any, Any]


class _ProcessClient:
    """A client whose call is a simpy process body, ``call(sim, submitted)``."""

    def call(self, sim: Simulation, submitted: float) -> Process:
        raise NotImplementedError

    def start(self, sim: Simulation, submitted: float, then: Callable[[], None] | None = None) -> None:
        process = sim.env.process(self.call(sim, submitted))
        if then is not None:
            process.callbacks.append(lambda _event: then())


class PlainClient(_ProcessClient):
    """A botocore client's retry loop: its needs-retry handler decides,
    its after-call handler refunds the quota, its limiter paces sends."""

    def __init__(
        self, handler: Callable[..., Any], release: Callable[..., Any] | None = None,
        limiter: adaptive.ClientRateLimiter | None = None,
    ) -> None:
        self._handler = handler
        self._release = release
        self._limiter = limiter

    def call(self, sim: Simulation, submitted: float) -> Process:
        ok, attempts, held = yield from self.attempts(sim)
        sim.recorder.ended(submitted, sim.env.now, ok, attempts, held)

    def attempts(self, sim: Simulation) -> Process:
        """One botocore API call: (succeeded, attempts, seconds held)."""
        env, operation = sim.env, sim.operation.model
        request_dict: dict[str, Any] = {"context": {}}
        attempt, held = 0, 0.0
        # A handler with no state (legacy's) decides the same whenever it is
        # asked: ask it when the attempt is sent and wait for the answer and
        # the backoff at once (one simpy event instead of two: fleets in
        # collapse make millions of these attempts).
        stateless = self._limiter is None and self._release is None
        while True:
            if self._limiter is not None:
                held += yield from self._paced(sim)
            attempt += 1
            answer = sim.send()
            if not stateless:
                yield env.timeout(answer.after)
            reply = sim.reply(answer.kind)
            needs_retry = {
                "attempts": attempt, "response": reply.response, "caught_exception": reply.caught,
                "request_dict": request_dict, "operation": operation,
            }
            if self._limiter is not None:
                self._limiter.on_receiving_response(**needs_retry)
            try:
                delay = self._handler(**needs_retry)
            except BaseException as raised:
                # A legacy handler re-raises the caught error it will not retry.
                if raised is not reply.caught:
                    raise
                delay = None
            answered = answer.after if stateless else 0.0
            if reply.ok or delay is None:
                if answered:
                    yield env.timeout(answered)
                if reply.ok and self._release is not None:
                    self._release(request_dict["context"], reply.http)
                return reply.ok, attempt, held
            yield env.timeout(answered + delay)

    def _paced(self, sim: Simulation) -> Process:
        """Wait for the limiter's token, as ``on_sending_request`` does by
        blocking the caller's thread (once a throttle has switched it on)."""
        limiter = self._limiter
        assert limiter is not None
        waited = 0.0
        # ClientRateLimiter keeps its switch and bucket private; pinned by
        # tests/sim/test_fleets.py (the adaptive fleet holds callers).
        if not limiter._enabled:  # type: ignore[attr-defined]
            return waited
        token_bucket = limiter._token_bucket  # type: ignore[attr-defined]
        while True:
            try:
                token_bucket.acquire(block=False)
                return waited
            except CapacityNotAvailableError:
                wait = max(1e-3, (1.0 - token_bucket.available_capacity) / token_bucket.max_rate)
                waited += wait
                yield sim.env.timeout(wait)


class TenacityClient(_ProcessClient):
    """A user's tenacity decorator around a legacy client's call."""

    STOP = tenacity.stop_after_attempt(5)
    WAIT = tenacity.wait_exponential(multiplier=1, max=10)

    def __init__(self, inner: PlainClient) -> None:
        self._inner = inner

    def call(self, sim: Simulation, submitted: float) -> Process:
        env = sim.env
        state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.start_time = env.now  # attempt_number starts at 1, as tenacity's does
        sent = 0
        while True:
            ok, attempts, _ = yield from self._inner.attempts(sim)
            sent += attempts
            if ok or self.STOP(state):
                sim.recorder.ended(submitted, env.now, ok, sent)
                return
            wait = self.WAIT(state)
            state.attempt_number += 1
            yield env.timeout(wait)


class ResilientClient:
    """One machine running resilient_cloud: its own budget and breaker
    (shared by all its calls, as per endpoint in a process), the policy's
    backoff, and a call core per call."""

    def __init__(self, policy: Policy, sim: Simulation, rng: random.Random) -> None:
        self._policy = policy
        self._budget = None if policy.budget is None else RetryBudgetState(policy.budget)
        self._breaker = (
            None if policy.breaker is None else CircuitBreakerState(policy.breaker, rng)
        )
        self._limiter = (
            None if policy.rate_limiter is None else RateLimiterState(policy.rate_limiter)
        )
        self._wait = wait_strategy(policy, rng)
        retry = policy.retry
        self._max_attempts = 1 if retry is None else retry.max_attempts or DEFAULT_MAX_ATTEMPTS
        self._throttled_attempts = throttled_attempts(retry, self._max_attempts)
        self._retry_unsafe = retry is not None and retry.retry_unsafe
        self._route = sim.route

    def start(self, sim: Simulation, submitted: float, then: Callable[[], None] | None = None) -> None:
        """Make one call now; ``then`` is called when it ends."""
        now = sim.env.now
        deadline: float | None = self._policy.deadline  # type: ignore[assignment]  # seconds once built
        call = Call(
            operation=sim.operation, service="dynamodb", region=self._route.region,
            max_attempts=self._max_attempts, throttled_attempts=self._throttled_attempts,
            started_at=now,
            deadline_at=None if deadline is None else now + deadline,
            budget=None, retry_unsafe=self._retry_unsafe, route=self._route,
        )
        core = CallCore(
            call, wait=self._wait, breaker_of=self._breaker_of, budget_of=self._budget_of,
            limiter_of=self._limiter_of, observed=False,
        )
        _CallInFlight(sim, core, submitted, then).drive(core.begin(now))

    def _breaker_of(self, route: Route) -> CircuitBreakerState | None:
        return self._breaker

    def _budget_of(self, route: Route) -> RetryBudgetState | None:
        return self._budget

    def _limiter_of(self, route: Route) -> RateLimiterState | None:
        return self._limiter


class _CallInFlight:
    """The driver of one resilient_cloud call on the simulated clock: each
    action the call core decides is carried out, and its answer (or the end
    of its sleep) comes back as a simpy callback. No simpy process per call:
    a process costs two more events and a generator, and a fleet makes
    hundreds of thousands of calls."""

    __slots__ = ("_sim", "_core", "_submitted", "_then", "_leg", "_kind", "_sent_at")

    def __init__(
        self, sim: Simulation, core: CallCore, submitted: float, then: Callable[[], None] | None,
    ) -> None:
        self._sim = sim
        self._core = core
        self._submitted = submitted
        self._then = then

    def drive(self, action: Any) -> None:
        """Carry out ``action``, and the next ones until one takes time."""
        sim, core = self._sim, self._core
        env = sim.env
        while True:
            core.take_events()  # nobody listens: drop them
            if isinstance(action, Send):
                self._leg, self._sent_at = action.leg, env.now
                answer = sim.send()
                self._kind = answer.kind
                env.timeout(answer.after).callbacks.append(self._answered)
                return
            if isinstance(action, Sleep):
                env.timeout(action.seconds).callbacks.append(self._woken)
                return
            if isinstance(action, WaitForSlot):
                # One call at a time per machine is far below any bulkhead.
                action = core.admitted(env.now)
            elif isinstance(action, Stop):
                sim.recorder.ended(self._submitted, env.now, action.error is None, core.call.attempts)
                if self._then is not None:
                    self._then()
                return
            else:  # Build: the simulated client has no fallback regions
                raise AssertionError(f"unexpected action {action!r}")

    def _answered(self, _event: Any) -> None:
        now = self._sim.env.now
        reply = self._sim.reply(self._kind)
        # A fresh error: the one a call ends with is annotated.
        error = None if reply.ok else reply.fresh_error()
        core = self._core
        judged = core.judge(self._leg, reply.result, error, reply.trace, self._sent_at, now)
        self.drive(core.settle(judged, now))

    def _woken(self, _event: Any) -> None:
        self.drive(self._core.slept(self._sim.env.now))


def client_factory(name: str, policy: Policy | None = None) -> Callable[[Simulation, random.Random], Any]:
    """A function making one simulated machine's client for policy ``name``
    (``policy``: the rc.Policy of ``resilient``)."""
    if name == "legacy":
        return lambda sim, rng: PlainClient(_legacy_handler())
    if name == "tenacity-naive":
        return lambda sim, rng: TenacityClient(PlainClient(_legacy_handler()))
    if name in ("standard", "adaptive"):
        limited = name == "adaptive"
        return lambda sim, rng: _standard_client(sim, rng, limited=limited)
    if name == "resilient":
        chosen = policy or Policy()
        return lambda sim, rng: ResilientClient(chosen, sim, rng)
    raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")


_LEGACY: list[Any] = []


def _new_retries() -> bool:
    """Whether this botocore runs its newer standard retries (1.44's default)."""
    return bool(getattr(configprovider, "NEW_RETRIES_ENABLED", False))


def _legacy_handler() -> Any:
    """botocore's legacy needs-retry handler for DynamoDB, built as botocore
    builds it; it keeps no state, so one serves every client."""
    if not _LEGACY:
        data = retry_data()
        config = translate.build_retry_config(
            "dynamodb", data.get("retry", {}), data.get("definitions", {})
        )
        _LEGACY.append(create_retry_handler(config, "dynamodb"))
    return _LEGACY[0]


def _standard_client(sim: Simulation, rng: random.Random, *, limited: bool) -> PlainClient:
    """botocore's standard retry handler with this client's own quota, put
    together as ``botocore.retries.standard.register_retry_handler`` does
    (its backoff's random drawn from the simulation's seeded generator); and
    for adaptive mode the rate limiter of ``adaptive.register_retry_handler``
    on the simulated clock."""
    adapter = standard.RetryEventAdapter()
    detector = standard.ThrottlingErrorDetector(adapter)
    max_attempts = standard.DEFAULT_MAX_ATTEMPTS
    backoff = standard.ExponentialBackoff(random=rng.random)
    if _new_retries():  # botocore's 2026 retries: per-service attempts, throttling-aware backoff
        service_attempts = getattr(standard, "_SERVICE_MAX_ATTEMPTS", {})
        max_attempts = service_attempts.get("dynamodb", max_attempts)
        backoff = standard.ExponentialBackoff(
            random=rng.random, service_name="dynamodb", throttling_detector=detector
        )
    quota_checker = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
    handler = standard.RetryHandler(
        retry_policy=standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=max_attempts),
            retry_backoff=backoff,
        ),
        retry_event_adapter=adapter,
        retry_quota=quota_checker,  # type: ignore[arg-type]  # what botocore itself passes; the stubs differ
    )
    limiter = None
    if limited:
        clock = sim.botocore_clock
        limiter = adaptive.ClientRateLimiter(
            rate_adjustor=throttling.CubicCalculator(starting_max_rate=0, start_time=clock.current_time()),
            rate_clocker=adaptive.RateClocker(clock),
            # (clock: a virtual-time stand-in for botocore's Clock, duck-typed.)
            token_bucket=bucket.TokenBucket(max_rate=1, clock=clock),  # type: ignore[arg-type]
            throttling_detector=standard.ThrottlingErrorDetector(retry_event_adapter=adapter),
            clock=clock,
        )
    return PlainClient(handler.needs_retry, quota_checker.release_retry_quota, limiter)
