"""Everything one managed client needs per call, resolved once at wrap time."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from resilient_cloud import _telemetry as telemetry
from resilient_cloud._botocore import names, operations
from resilient_cloud._botocore.client import configured_retries, prepare_unwrapped
from resilient_cloud._botocore.fallback import FallbackClients
from resilient_cloud._breaker import CircuitBreakerState
from resilient_cloud._budget import RetryBudgetState
from resilient_cloud._bulkhead import BulkheadState
from resilient_cloud._call import Call, Operation
from resilient_cloud._core.machine import CallCore
from resilient_cloud._dns.cache import DnsAnswerCache, Requester, cache_for
from resilient_cloud._drivers.common import CallParams
from resilient_cloud._drivers.sync import SendRequest, SyncDriver
from resilient_cloud._failover import CallRoutes, Route
from resilient_cloud._hedging import HedgePool, HedgeState
from resilient_cloud._options import DEFAULT_MAX_ATTEMPTS, Policy, Retry
from resilient_cloud._ratelimit import RateLimiterState
from resilient_cloud._registry import REGISTRY, Endpoint, StateKey
from resilient_cloud._routing import RegionRouter
from resilient_cloud._safety import Safety
from resilient_cloud._strategies import wait_full_jitter
from resilient_cloud._telemetry import CallTelemetry

T = TypeVar("T")
logger = logging.getLogger("resilient_cloud")


class ClientRuntime:
    """The policy, resolved against one client's service, region and config."""

    def __init__(
        self,
        client: Any,
        policy: Policy,
        fallback_regions: tuple[str, ...] = (),
        fallback_factory: Any = None,
        endpoint_urls: Mapping[str, str] | None = None,
        *,
        asynchronous: bool = False,
    ) -> None:
        """``fallback_factory`` makes a fallback region's client: a botocore
        ``ClientFactory``, or (``asynchronous``: an aiobotocore client) an
        ``AsyncClientFactory`` of async context managers."""
        meta = client.meta
        self.policy = policy
        self.fallback_regions = fallback_regions
        self._service_model = meta.service_model
        self.service: str = self._service_model.service_name
        self.region: str = meta.region_name or ""
        self._partition: str = meta.partition
        self.endpoint = Endpoint.from_url(meta.partition, self.service, self.region, meta.endpoint_url)
        self._endpoint_name = str(self.endpoint)
        self.retry_mode, configured_attempts = configured_retries(client)
        retry = policy.retry
        if retry is None:
            self.max_attempts = 1
        else:
            self.max_attempts = retry.max_attempts or configured_attempts or DEFAULT_MAX_ATTEMPTS
        self._retry_unsafe = retry is not None and retry.retry_unsafe
        self.throttled_attempts = throttled_attempts(retry, self.max_attempts)
        self._budget_key = self._key("budget", policy.budget, policy.clock)
        self._breaker_key = self._key("breaker", policy.breaker, policy.clock)
        self._limiter_key = self._key("rate", policy.rate_limiter, policy.clock)
        self._bulkhead_key = self._key("bulkhead", policy.bulkhead)
        # The DNS cache is shared per (options, clock) and keyed by host name.
        self.dns_cache: DnsAnswerCache | None = (
            None if policy.dns is None else cache_for(policy.dns, policy.clock)
        )
        telemetry.know_service(self.service, self._service_model.service_id)
        self.dns_requester = Requester(policy.hooks or (), self.service, self.region, policy.telemetry)
        self._operations: dict[str, Operation] = {}
        # Policy has made every value a Safety.
        self._safety_overrides: dict[str, Safety] = names.overrides_for(
            self.service, policy.operation_safety or {}  # type: ignore[arg-type]
        )
        self._hedge_key = self._key("hedge", policy.hedge)
        # Failover: route 0 is this client; the others are built on first use.
        self.asynchronous = asynchronous
        # The shared states this client used, until the registry drops one.
        self._states: dict[StateKey, tuple[int, Any]] = {}
        self._retired: list[ClientRuntime] = []
        self._fallback_clients: Any = None
        if fallback_factory is not None and fallback_regions and policy.failover is not None:
            clients = _async_fallback_clients() if asynchronous else FallbackClients
            self._fallback_clients = clients(
                fallback_factory, endpoint_urls or {}, self._prepare_fallback_client
            )
        self._routes: list[Route | None] = [None] * (1 + len(fallback_regions))
        self._routes[0] = Route(
            0, self.region, self.endpoint, None, self._budget_key, self._breaker_key,
            self._limiter_key,
        )
        self._router_key = (
            StateKey("routing", self.endpoint, ((self.region, *fallback_regions), policy.failover),
                     policy.clock)
            if self._fallback_clients is not None else None
        )
        self._wait = wait_strategy(policy)
        if asynchronous:
            from resilient_cloud._drivers.asyncio import AsyncDriver

            self._async_driver = AsyncDriver(
                clock=policy.clock, hooks=policy.hooks,  # type: ignore[arg-type]  # a tuple once built
                max_hedging=policy.hedge.max_concurrent if policy.hedge else 0,
            )
        else:
            self._driver = SyncDriver(
                clock=policy.clock,
                hooks=policy.hooks,  # type: ignore[arg-type]  # a tuple once Policy is built
                hedge_pool=HedgePool(policy.hedge.max_concurrent) if policy.hedge else None,
            )

    def call(self, send: SendRequest, operation_name: str, api_params: dict[str, Any]) -> Any:
        core, params, telemetry = self.start_call(operation_name, api_params)
        return self._driver.run(core, params, send, self.build_route, telemetry)

    async def call_async(
        self, send: Callable[[str, dict[str, Any]], Awaitable[Any]], operation_name: str,
        api_params: dict[str, Any],
    ) -> Any:
        core, params, telemetry = self.start_call(operation_name, api_params)
        return await self._async_driver.run(
            core, params, send, self.build_route_async, telemetry
        )

    async def aclose(self) -> None:
        """Close the fallback clients built so far, and those of the runtimes
        this one replaced (aiobotocore clients; idempotent)."""
        retired, self._retired = self._retired, []
        for runtime in retired:
            await runtime.aclose()
        if self.asynchronous and self._fallback_clients is not None:
            await self._fallback_clients.aclose()

    def retire(self, earlier: ClientRuntime) -> None:
        """``earlier`` ran this client before (wrapped again): close its
        fallback clients when this runtime closes."""
        self._retired.append(earlier)

    def start_call(
        self, operation_name: str, api_params: dict[str, Any]
    ) -> tuple[CallCore, CallParams, CallTelemetry | None]:
        """A new call's core, parameters and telemetry, for a driver to run."""
        policy = self.policy
        now = policy.clock.monotonic()
        deadline: float | None = policy.deadline  # type: ignore[assignment]  # seconds once Policy is built
        operation = self._operation(operation_name)
        read_only = operation.safety is Safety.READ_ONLY
        params = CallParams(api_params)
        routes = self._call_routes(now, operation) if self._router_key is not None else None
        own = self._routes[0]
        assert own is not None
        call = Call(
            operation=operation,
            service=self.service,
            region=self.region,
            max_attempts=self.max_attempts,
            throttled_attempts=self.throttled_attempts,
            started_at=now,
            deadline_at=None if deadline is None else now + deadline,
            budget=None,
            retry_unsafe=self._retry_unsafe,
            bulkhead=self.bulkhead(),
            route=own,  # with routes, the core starts where they say instead
            routes=routes,
            hedge=self._shared(self._hedge_key, HedgeState) if read_only else None,
            rewindable=params.rewindable,
            has_streams=params.has_streams,
        )
        reported = telemetry.for_call(call, asynchronous=self.asynchronous) if policy.telemetry else None
        core = CallCore(
            call, wait=self._wait, breaker_of=self._breaker, budget_of=self._budget,
            limiter_of=self._limiter, observed=bool(policy.hooks) or reported is not None,
        )
        return core, params, reported

    # -- regions -------------------------------------------------------

    def _call_routes(self, now: float, operation: Operation) -> CallRoutes | None:
        """The regions a call may use, starting where the router says; None
        for a write that may not leave the client's region."""
        failover = self.policy.failover
        assert failover is not None
        if operation.safety is not Safety.READ_ONLY and not failover.allows_write(
            self.service, operation.name
        ):
            return None
        router = self.router()
        assert router is not None
        start, switch = router.start(
            now, self._open_regions(), may_probe=operation.safety is Safety.READ_ONLY
        )
        return CallRoutes(router, start, self._resolve, self._is_open, switch)

    def router(self) -> RegionRouter | None:
        """The region choice shared by this client's group (None without fallback)."""
        key = self._router_key
        if key is None:
            return None
        return REGISTRY.get(
            # The router's key holds (regions, failover): see __init__.
            key, lambda: RegionRouter(*key.options, now=self.policy.clock.monotonic())  # type: ignore[misc]
        )

    def _resolve(self, index: int) -> Route | None:
        """Region ``index``'s route; None before its client is built."""
        return self._routes[index]

    def build_route(self, index: int) -> bool:
        """Build region ``index``'s client and route; False when that fails
        (logged: the call goes on without that region)."""
        if self._routes[index] is not None:
            return True
        assert self._fallback_clients is not None
        region = self.fallback_regions[index - 1]
        try:
            client = self._fallback_clients.get(region)
        except Exception:
            logger.warning("cannot build the %s client for %s", self.service, region, exc_info=True)
            return False
        self._add_route(index, client)
        return True

    async def build_route_async(self, index: int) -> bool:
        """``build_route`` for aiobotocore clients: the build is awaited."""
        if self._routes[index] is not None:
            return True
        assert self._fallback_clients is not None
        region = self.fallback_regions[index - 1]
        try:
            client = await self._fallback_clients.get(region)
        except Exception:
            logger.warning("cannot build the %s client for %s", self.service, region, exc_info=True)
            return False
        self._add_route(index, client)
        return True

    def _add_route(self, index: int, client: Any) -> None:
        region = self.fallback_regions[index - 1]
        endpoint = Endpoint.from_url(self._partition, self.service, region, client.meta.endpoint_url)
        policy = self.policy
        self._routes[index] = Route(  # racing threads build equal routes
            index, region, endpoint, client._make_api_call,
            self._key_for("budget", endpoint, policy.budget, policy.clock),
            self._key_for("breaker", endpoint, policy.breaker, policy.clock),
            self._key_for("rate", endpoint, policy.rate_limiter, policy.clock),
        )

    def endpoints(self) -> list[Endpoint]:
        """This client's endpoint and those of the fallback regions used so far."""
        return [route.endpoint for route in self._routes if route is not None]

    def _open_regions(self) -> frozenset[int]:
        return frozenset(index for index in range(len(self._routes)) if self._is_open(index))

    def _is_open(self, index: int) -> bool:
        route = self._routes[index]  # a region never used has no breaker yet
        breaker = None if route is None else self._breaker(route)
        return breaker is not None and breaker.retry_after(self.policy.clock.monotonic()) is not None

    def _breaker(self, route: Route) -> CircuitBreakerState | None:
        return self._shared(
            route.breaker_key, lambda options: CircuitBreakerState(options, self.policy.random)
        )

    def _budget(self, route: Route) -> RetryBudgetState | None:
        return self._shared(route.budget_key, RetryBudgetState)

    def _limiter(self, route: Route) -> RateLimiterState | None:
        return self._shared(route.limiter_key, RateLimiterState)

    def _prepare_fallback_client(self, client: Any, region: str) -> None:
        """Make a fallback client safe to send our attempts through: no
        retries of its own, attempts watched, the DNS cache installed."""
        requester = Requester(self.policy.hooks or (), self.service, region, self.policy.telemetry)
        if self.asynchronous:
            from resilient_cloud._aiobotocore.client import prepare_unwrapped_async

            prepare_unwrapped_async(client, self.policy.dns, requester, self.policy.clock)
        else:
            prepare_unwrapped(client, self.dns_cache, requester)

    # The shared per-endpoint states (None when the mechanism is off) are
    # looked up on every call, so a state evicted from the bounded registry
    # is replaced for every client at once rather than split between them.

    def bulkhead(self) -> BulkheadState | None:
        return self._shared(self._bulkhead_key, BulkheadState)

    def _shared(self, key: StateKey | None, build: Callable[[Any], T]) -> T | None:
        """The registry's state for ``key`` (None: that mechanism is off),
        built from its options on first use."""
        if key is None:
            return None
        return REGISTRY.get_memoized(key, build, self._states)

    def _key(self, kind: str, options: Any, clock: Any = None) -> StateKey | None:
        return self._key_for(kind, self.endpoint, options, clock)

    @staticmethod
    def _key_for(kind: str, endpoint: Endpoint, options: Any, clock: Any = None) -> StateKey | None:
        return None if options is None else StateKey(kind, endpoint, options, clock)

    def _operation(self, name: str) -> Operation:
        operation = self._operations.get(name)
        if operation is None:
            # Racing threads may both build it; the results are equal.
            operation = operations.describe(self._service_model, name, self._safety_overrides)
            self._operations[name] = operation
        return operation

    def __repr__(self) -> str:
        return (
            f"<ClientRuntime {self.endpoint} max_attempts={self.max_attempts} "
            f"retry_mode={self.retry_mode} fallback_regions={list(self.fallback_regions)}>"
        )




def _async_fallback_clients() -> Any:
    # Imported only for aiobotocore clients: the aio extra may be absent.
    from resilient_cloud._aiobotocore.fallback import AsyncFallbackClients

    return AsyncFallbackClients


def throttled_attempts(retry: Retry | None, max_attempts: int) -> int:
    """Total attempts of a call whose last failure was a throttle: the
    policy's ``throttled_attempts``, never fewer than ``max_attempts``, and
    1 when the policy sends every call once (``max_attempts`` 1)."""
    if retry is None or max_attempts == 1:
        return max_attempts
    return max(max_attempts, retry.throttled_attempts)


def wait_strategy(policy: Policy, rng: random.Random | None = None) -> Any:
    """The tenacity wait the core asks before each retry; its jitter drawn
    from ``rng`` (default: the policy's generator)."""
    rng = policy.random if rng is None else rng
    retry = policy.retry
    if retry is not None and retry.wait is not None:
        return retry.wait
    if retry is not None:
        return wait_full_jitter(
            retry.backoff_base, retry.throttle_backoff_base, retry.backoff_cap, rng
        )
    return wait_full_jitter(0.0, 0.0, 0.0, rng)
