"""``rc.wrap``: install resilience on a client the user already has."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from resilient_cloud._botocore.client import check_sync_client, install
from resilient_cloud._botocore.fallback import ClientFactory, check_endpoint_urls, clone_factory
from resilient_cloud._botocore.regions import validate_fallback_regions
from resilient_cloud._options import Policy, policy_or_default
from resilient_cloud._runtime import ClientRuntime
from resilient_cloud._switch import is_disabled

T = TypeVar("T")


def wrap(
    client: T,
    policy: Policy | None = None,
    fallback_regions: Iterable[str] | None = (),
    endpoint_urls: Mapping[str, str] | None = None,
) -> T:
    """Install resilience on ``client`` in place and return it.

    ``client`` is a botocore/boto3 client, or a boto3 resource (its
    ``meta.client`` is wrapped). Wrapping again replaces the policy; it never
    stacks. botocore's own retry handler is removed: retries happen once, here.

    Args:
        policy: the :class:`Policy` to apply; ``None`` for the defaults.
        fallback_regions: regions to serve calls from when this client's region
            is unhealthy (see :class:`Failover`), checked against botocore's
            partition data now. Their clients are built on first use from this
            client's credentials, config, TLS verification and scheme (event
            handlers registered on this client are not copied; clients made
            by :meth:`Session.client` are copied exactly).
        endpoint_urls: ``{region: url}`` for clients with a custom
            ``endpoint_url``, which cannot be guessed for another region.
    """
    return _install(client, policy, fallback_regions, endpoint_urls, clone_factory)


def _install(
    client: T,
    policy: Policy | None,
    fallback_regions: Iterable[str] | None,
    endpoint_urls: Mapping[str, str] | None,
    factory: Callable[[Any], ClientFactory],
) -> T:
    """``wrap``, with fallback clients made by ``factory(botocore_client)``."""
    botocore_client: Any = client
    if not hasattr(client, "_make_api_call") and hasattr(getattr(client, "meta", None), "client"):
        botocore_client = client.meta.client  # type: ignore[attr-defined]
    check_sync_client(botocore_client)
    runtime = build_runtime(botocore_client, policy, fallback_regions, endpoint_urls, factory)
    if runtime is not None:
        install(botocore_client, runtime)
    return client


def build_runtime(
    client: Any,
    policy: Policy | None,
    fallback_regions: Iterable[str] | None,
    endpoint_urls: Mapping[str, str] | None,
    factory: Callable[[Any], Any],
    *,
    asynchronous: bool = False,
) -> ClientRuntime | None:
    """The runtime for a client already checked to be of the right kind:
    ``policy``, ``fallback_regions`` and ``endpoint_urls`` are checked now
    (errors name them); None when resilient_cloud is switched off."""
    policy = policy_or_default(policy)
    regions = validate_fallback_regions(client, fallback_regions)
    urls = check_endpoint_urls(client, regions, endpoint_urls)
    if is_disabled():
        return None
    return ClientRuntime(
        client, policy, regions, factory(client) if regions else None, urls,
        asynchronous=asynchronous,
    )
