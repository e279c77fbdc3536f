"""The clients compared: plain botocore in each retry mode, a naive tenacity
wrapper as many users write it, resilient_cloud with its defaults, with its
retry budget alone (no breaker), and with hedged reads; and for asyncio,
plain aiobotocore and ``rc.aio`` (:data:`ASYNC_SUBJECTS`)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

import resilient_cloud as rc

if TYPE_CHECKING:
    from resilient_cloud.hooks import Hook


@dataclass(frozen=True)
class ClientSpec:
    """What every subject's client gets, so the comparison is fair."""

    service: str
    region: str
    connect_timeout: float
    read_timeout: float
    pool_size: int
    seed: int
    fallback_regions: tuple[str, ...] = ()
    #: Policy fields for the resilient subjects: {"bulkhead": {"max_concurrent": 4}};
    #: None switches a field off ({"dns": None}).
    policy: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    #: Registered on the client's session before any client is made, so it
    #: also sees the requests of clients made later (fallback regions).
    before_send: Callable[..., Any] | None = None
    #: Instrumentation hooks for the resilient subjects' policy.
    hooks: tuple[Hook, ...] = ()
    #: The fake cloud speaks plain HTTP; a real account (a Locust run
    #: against staging) needs TLS.
    use_ssl: bool = False


def _config(spec: ClientSpec, retries: dict[str, Any] | None = None) -> Config:
    return Config(
        retries=retries,  # type: ignore[arg-type]  # a plain dict, which botocore checks itself
        max_pool_connections=max(10, spec.pool_size),
        connect_timeout=spec.connect_timeout,
        read_timeout=spec.read_timeout,
    )


def _instrument(session: boto3.session.Session, spec: ClientSpec) -> None:
    if spec.before_send is not None:
        session.events.register("before-send", spec.before_send)


def plain(mode: str | None) -> Callable[[ClientSpec], Any]:
    def make(spec: ClientSpec) -> Any:
        retries = {"mode": mode} if mode else None
        session = boto3.session.Session()
        _instrument(session, spec)
        # The service name is data here: the stubs only overload literal names.
        return session.client(  # type: ignore[call-overload]
            spec.service, region_name=spec.region, use_ssl=spec.use_ssl, config=_config(spec, retries)
        )

    return make


_POLICY_FIELDS: dict[str, Callable[..., Any]] = {
    "retry": rc.Retry,
    "budget": rc.RetryBudget,
    "breaker": rc.CircuitBreaker,
    "bulkhead": rc.Bulkhead,
    "dns": rc.DnsCache,
    "failover": rc.Failover,
    "hedge": rc.Hedge,
    "rate_limiter": rc.RateLimiter,
}
#: Policy fields given as plain values rather than option keyword arguments.
_PLAIN_FIELDS = frozenset({"deadline"})

#: The hedge of the ``resilient-hedged`` subject: a fixed 100 ms, many times
#: the fake cloud's healthy latency (a p50 of 4-10 ms on the machines these
#: ran on), so only reads that are really late are hedged.
#: ``resilient-hedged-p90`` uses ``rc.Hedge()``'s adaptive default instead
#: (the p90 of the client's recent first-attempt latencies);
#: ``resilient-hedged-p95`` shows why the default is not p95: when the slow
#: tail is ~5% of requests, p95 falls on the tail's edge and flips between
#: a healthy latency and the tail's.
HEDGE: Mapping[str, Any] = {"delay": 0.1}


def policy_fields(policy: Mapping[str, Any]) -> dict[str, Any]:
    """Policy keyword arguments from ``{"field": {options} or None}`` (and
    ``{"deadline": seconds}``)."""
    known = set(_POLICY_FIELDS) | _PLAIN_FIELDS
    unknown = sorted(set(policy) - known)
    if unknown:
        raise ValueError(f"unknown policy field(s) {unknown}; known: {sorted(known)}")
    return {
        name: options if name in _PLAIN_FIELDS or options is None
        else _POLICY_FIELDS[name](**options)
        for name, options in policy.items()
    }


def resilient_with(defaults: Mapping[str, Mapping[str, Any] | None]) -> Callable[[ClientSpec], Any]:
    """resilient_cloud with ``defaults`` over its policy defaults (the
    scenario's own fields win)."""

    def make(spec: ClientSpec) -> Any:
        fields = policy_fields({**defaults, **spec.policy})
        policy = rc.Policy(random=random.Random(spec.seed), hooks=spec.hooks, **fields)
        session = rc.Session(policy=policy)
        _instrument(session, spec)
        return session.client(
            spec.service,
            region_name=spec.region,
            use_ssl=spec.use_ssl,
            config=_config(spec),
            fallback_regions=spec.fallback_regions,
        )

    return make


resilient = resilient_with({})


def operation(client: Any, subject: str, name: str) -> Callable[..., Any]:
    """The client's method ``name``, wrapped the way the subject calls it."""
    method: Callable[..., Any] = getattr(client, name)
    if subject != "tenacity-naive":
        return method
    import tenacity

    # A decorator as commonly written around a legacy-mode client (1.43's default):
    # every one of its attempts is itself up to 10 botocore attempts.
    return tenacity.retry(
        stop=tenacity.stop_after_attempt(5),
        wait=tenacity.wait_exponential(multiplier=1, max=10),
        reraise=True,
    )(method)


SUBJECTS: dict[str, Callable[[ClientSpec], Any]] = {
    # Named, not botocore's default: the default is legacy up to botocore
    # 1.43 and standard from 1.44.
    "legacy": plain("legacy"),
    "standard": plain("standard"),
    "adaptive": plain("adaptive"),
    "tenacity-naive": plain("legacy"),
    "resilient": resilient,
    # The retry budget alone: with the breaker on, an outage is held to
    # ~0.1 requests per call whatever the budget does, so a broken budget
    # would go unnoticed (benchmarks/check.py foundation).
    "resilient-budget": resilient_with({"breaker": None}),
    "resilient-hedged": resilient_with({"hedge": HEDGE}),
    # rc.Hedge()'s defaults, and a percentile clearly below a 5% tail.
    "resilient-hedged-p95": resilient_with({"hedge": {"percentile": 95.0}}),
    "resilient-hedged-p90": resilient_with({"hedge": {}}),
}

# -- asyncio subjects ---------------------------------------------------------


def _aio_config(spec: ClientSpec, **extra: Any) -> Any:
    """The same pool size and timeouts as :func:`_config`, for aiobotocore
    (``max_pool_connections`` is the aiohttp connector's ``limit``)."""
    from aiobotocore.config import AioConfig

    return AioConfig(
        max_pool_connections=max(10, spec.pool_size),
        connect_timeout=spec.connect_timeout,
        read_timeout=spec.read_timeout,
        **extra,
    )


def _instrument_aio(session: Any, spec: ClientSpec) -> None:
    # aiobotocore's emitter calls a plain handler as it is (and awaits a coroutine one).
    if spec.before_send is not None:
        session.register("before-send", spec.before_send)


async def plain_aio(spec: ClientSpec, stack: AsyncExitStack) -> Any:
    """Plain aiobotocore as most users make it: ``get_session().create_client``
    with no retry settings, so botocore's default mode (``legacy`` on botocore
    1.43, the window aiobotocore 3.x pins: DynamoDB 10 attempts with a fixed
    50 ms doubling backoff) and aiohttp's own DNS cache (10 s)."""
    from aiobotocore.session import get_session

    session = get_session()
    _instrument_aio(session, spec)
    return await stack.enter_async_context(
        session.create_client(  # type: ignore[call-overload]  # the service name is data
            spec.service, region_name=spec.region, use_ssl=False, config=_aio_config(spec)
        )
    )


async def resilient_aio(spec: ClientSpec, stack: AsyncExitStack) -> Any:
    """``rc.aio.Session`` with resilient_cloud's defaults (and the scenario's
    policy fields), ``fallback_regions`` as the sync subject gets them.

    A scenario that switches our DNS cache off (``{"dns": None}``, so that the
    primary's failing record is seen and the client must fail over) also
    switches aiohttp's own 10 s cache off (``use_dns_cache=False``): a sync
    client with ``dns=None`` looks the name up for every new connection, and
    this keeps the two alike."""
    from resilient_cloud import aio

    fields = policy_fields(spec.policy)
    policy = rc.Policy(random=random.Random(spec.seed), hooks=spec.hooks, **fields)
    extra = {"connector_args": {"use_dns_cache": False}} if policy.dns is None else {}
    session = aio.Session(policy=policy)
    _instrument_aio(session, spec)
    return await stack.enter_async_context(
        session.create_client(
            spec.service,
            region_name=spec.region,
            use_ssl=False,
            config=_aio_config(spec, **extra),
            fallback_regions=spec.fallback_regions,
        )
    )


#: asyncio subjects: ``await make(spec, stack)`` makes an entered client
#: (exited with ``stack``). They need the ``aio`` extra (aiobotocore).
ASYNC_SUBJECTS: dict[str, Callable[[ClientSpec, AsyncExitStack], Awaitable[Any]]] = {
    "aiobotocore": plain_aio,
    "resilient-aio": resilient_aio,
}
#: Every subject's name, sync then async.
ALL_SUBJECTS = (*SUBJECTS, *ASYNC_SUBJECTS)

#: Subjects whose reads are hedged (their hedges are counted).
HEDGED_SUBJECTS = frozenset(name for name in SUBJECTS if name.startswith("resilient-hedged"))
#: Subjects built on resilient_cloud (they take hooks and scenario policy fields).
RESILIENT_SUBJECTS = frozenset({"resilient", "resilient-budget", "resilient-aio", *HEDGED_SUBJECTS})
#: Run when no subject is named, unless a scenario names its own
#: (``Scenario.subjects``: the hedged ones where hedging is the point).
#: ``resilient-budget`` runs where a target asks for it (``--subject``), the
#: asyncio subjects when named (``check.py aio`` runs them).
DEFAULT_SUBJECTS = tuple(
    name for name in SUBJECTS if name not in HEDGED_SUBJECTS and name != "resilient-budget"
)
