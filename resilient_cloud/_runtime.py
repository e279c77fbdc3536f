"""Everything one managed client needs per call, resolved once at wrap time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from resilient_cloud._botocore import operations
from resilient_cloud._botocore.client import configured_retries
from resilient_cloud._breaker import CircuitBreakerState
from resilient_cloud._budget import RetryBudgetState
from resilient_cloud._bulkhead import BulkheadState
from resilient_cloud._call import Call, Operation
from resilient_cloud._dns.cache import DnsAnswerCache, Requester, cache_for
from resilient_cloud._driver import CallDriver, Send
from resilient_cloud._options import DEFAULT_MAX_ATTEMPTS, Policy
from resilient_cloud._registry import REGISTRY, Endpoint, Key
from resilient_cloud._strategies import (
    retry_if_safe_to_retry,
    stop_when_spent,
    wait_full_jitter,
)

T = TypeVar("T")


class ClientRuntime:
    """The policy, resolved against one client's service, region and config."""

    def __init__(self, client: Any, policy: Policy, fallback_regions: tuple[str, ...]) -> None:
        meta = client.meta
        self.policy = policy
        self.fallback_regions = fallback_regions
        self._service_model = meta.service_model
        self.service: str = self._service_model.service_name
        self.region: str = meta.region_name or ""
        self.endpoint = Endpoint.from_url(meta.partition, self.service, self.region, meta.endpoint_url)
        self._endpoint_name = str(self.endpoint)
        self.retry_mode, configured_attempts = configured_retries(client)
        retry = policy.retry
        if retry is None:
            self.max_attempts = 1
        else:
            self.max_attempts = retry.max_attempts or configured_attempts or DEFAULT_MAX_ATTEMPTS
        self._retry_unsafe = retry is not None and retry.retry_unsafe
        # Registry keys: (kind, endpoint, options[, clock]); see _health.py.
        self._budget_key = self._key("budget", policy.budget, policy.clock)
        self._breaker_key = self._key("breaker", policy.breaker, policy.clock)
        self._bulkhead_key = self._key("bulkhead", policy.bulkhead)
        # The DNS cache is shared per (options, clock) and keyed by host name.
        self.dns_cache: DnsAnswerCache | None = (
            None if policy.dns is None else cache_for(policy.dns, policy.clock)
        )
        self.dns_requester = Requester(policy.hooks, self.service, self.region)
        self._operations: dict[str, Operation] = {}
        self._driver = CallDriver(
            clock=policy.clock,
            strategies=_strategies(policy),
            hooks=policy.hooks,
        )

    def call(self, send: Send, operation_name: str, api_params: dict[str, Any]) -> Any:
        now = self.policy.clock.monotonic()
        deadline = self.policy.deadline
        call = Call(
            operation=self._operation(operation_name),
            service=self.service,
            region=self.region,
            max_attempts=self.max_attempts,
            started_at=now,
            deadline_at=None if deadline is None else now + deadline,
            budget=self.budget(),
            retry_unsafe=self._retry_unsafe,
            breaker=self.breaker(),
            bulkhead=self.bulkhead(),
            endpoint=self._endpoint_name,
        )
        return self._driver.run(call, send, api_params)

    # The shared per-endpoint states (None when the mechanism is off). Looked
    # up on every call, so a state evicted from the bounded registry is
    # replaced for every client at once rather than split between them.

    def budget(self) -> RetryBudgetState | None:
        return _shared(self._budget_key, lambda options: RetryBudgetState(options))

    def breaker(self) -> CircuitBreakerState | None:
        return _shared(
            self._breaker_key, lambda options: CircuitBreakerState(options, self.policy.random)
        )

    def bulkhead(self) -> BulkheadState | None:
        return _shared(self._bulkhead_key, lambda options: BulkheadState(options))

    def _key(self, kind: str, options: Any, *scope: Any) -> Key | None:
        return None if options is None else Key(kind, self.endpoint, options, *scope)

    def _operation(self, name: str) -> Operation:
        operation = self._operations.get(name)
        if operation is None:
            # Racing threads may both build it; the results are equal.
            operation = operations.describe(
                self._service_model, name, self.policy.operation_safety
            )
            self._operations[name] = operation
        return operation

    def __repr__(self) -> str:
        return (
            f"<ClientRuntime {self.endpoint} max_attempts={self.max_attempts} "
            f"retry_mode={self.retry_mode} fallback_regions={list(self.fallback_regions)}>"
        )


def _shared(key: Key | None, factory: Callable[[Any], T]) -> T | None:
    """The registry's state for ``key``, built from its options on first use."""
    if key is None:
        return None
    return REGISTRY.get(key, lambda: factory(key.parts[2]))


def _strategies(policy: Policy) -> dict[str, Any]:
    retry = policy.retry
    if retry is not None and retry.wait is not None:
        wait = retry.wait
    elif retry is not None:
        wait = wait_full_jitter(
            retry.backoff_base, retry.throttle_backoff_base, retry.backoff_cap, policy.random
        )
    else:
        wait = wait_full_jitter(0.0, 0.0, 0.0, policy.random)
    return {
        "retry": retry_if_safe_to_retry(),
        "wait": wait,
        "stop": stop_when_spent(policy.clock),
    }
