"""The clients compared: plain botocore in each retry mode, a naive tenacity
wrapper as many users write it, and resilient_cloud with its defaults."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

import resilient_cloud as rc

Call = Callable[..., Any]


def _config(threads: int, retries: dict[str, Any] | None = None) -> Config:
    # The same pool size and timeouts for every subject.
    return Config(
        retries=retries,
        max_pool_connections=max(10, threads),
        connect_timeout=2,
        read_timeout=10,
    )


def plain(mode: str | None) -> Callable[[str, int, int], Any]:
    def make(region: str, threads: int, seed: int) -> Any:
        retries = {"mode": mode} if mode else None
        return boto3.session.Session().client(
            "dynamodb", region_name=region, use_ssl=False, config=_config(threads, retries)
        )

    return make


def resilient(region: str, threads: int, seed: int) -> Any:
    session = rc.Session(policy=rc.Policy(random=random.Random(seed)))
    return session.client("dynamodb", region_name=region, use_ssl=False, config=_config(threads))


def operation(client: Any, subject: str, name: str) -> Call:
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


SUBJECTS: dict[str, Callable[[str, int, int], Any]] = {
    "legacy": plain(None),
    "standard": plain("standard"),
    "adaptive": plain("adaptive"),
    "tenacity-naive": plain(None),
    "resilient": resilient,
}

DEFAULT_SUBJECTS = ("legacy", "standard", "resilient")
