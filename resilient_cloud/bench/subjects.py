"""The clients compared: plain botocore in each retry mode, a naive tenacity
wrapper as many users write it, and resilient_cloud with its defaults."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

import resilient_cloud as rc


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
    #: Policy fields for the resilient subject: {"bulkhead": {"max_concurrent": 4}}.
    policy: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _config(spec: ClientSpec, retries: dict[str, Any] | None = None) -> Config:
    return Config(
        retries=retries,
        max_pool_connections=max(10, spec.pool_size),
        connect_timeout=spec.connect_timeout,
        read_timeout=spec.read_timeout,
    )


def plain(mode: str | None) -> Callable[[ClientSpec], Any]:
    def make(spec: ClientSpec) -> Any:
        retries = {"mode": mode} if mode else None
        return boto3.session.Session().client(
            spec.service, region_name=spec.region, use_ssl=False, config=_config(spec, retries)
        )

    return make


_POLICY_FIELDS = {"retry": rc.Retry, "budget": rc.RetryBudget, "breaker": rc.CircuitBreaker, "bulkhead": rc.Bulkhead}


def resilient(spec: ClientSpec) -> Any:
    fields = {name: _POLICY_FIELDS[name](**options) for name, options in spec.policy.items()}
    session = rc.Session(policy=rc.Policy(random=random.Random(spec.seed), **fields))
    return session.client(
        spec.service,
        region_name=spec.region,
        use_ssl=False,
        config=_config(spec),
        fallback_regions=spec.fallback_regions,
    )


def operation(client: Any, subject: str, name: str) -> Callable[..., Any]:
    """The client's method ``name``, wrapped the way the subject calls it."""
    method = getattr(client, name)
    if subject != "tenacity-naive":
        return method
    import tenacity

    # A decorator as commonly written around a default (legacy) client:
    # every one of its attempts is itself up to 10 botocore attempts.
    return tenacity.retry(
        stop=tenacity.stop_after_attempt(5),
        wait=tenacity.wait_exponential(multiplier=1, max=10),
        reraise=True,
    )(method)


SUBJECTS: dict[str, Callable[[ClientSpec], Any]] = {
    "legacy": plain(None),
    "standard": plain("standard"),
    "adaptive": plain("adaptive"),
    "tenacity-naive": plain(None),
    "resilient": resilient,
}

DEFAULT_SUBJECTS = tuple(SUBJECTS)
