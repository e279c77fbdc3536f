"""``rc.aio.wrap``: install resilience on an aiobotocore client the user already has."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from resilient_cloud._aiobotocore.client import check_async_client, install_async
from resilient_cloud._aiobotocore.fallback import clone_factory
from resilient_cloud._botocore.client import runtime_of
from resilient_cloud._options import Policy
from resilient_cloud._wrap import build_runtime

T = TypeVar("T")


def wrap(
    client: T,
    policy: Policy | None = None,
    fallback_regions: Iterable[str] | None = (),
    endpoint_urls: Mapping[str, str] | None = None,
) -> T:
    """Install resilience on an entered aiobotocore ``client``, in place, and
    return it::

        async with session.create_client("dynamodb") as client:
            rc.aio.wrap(client, policy=rc.Policy(deadline=2.0))

    As :func:`resilient_cloud.wrap`, with the same arguments. Fallback
    clients are made from this client's credentials, config, TLS
    verification and scheme on first use, and closed when the client is
    closed or exited. Wrapping again replaces the policy; the fallback
    clients of the earlier one are closed with the client.
    """
    return install(client, policy, fallback_regions, endpoint_urls, clone_factory)


def install(
    client: T,
    policy: Policy | None,
    fallback_regions: Iterable[str] | None,
    endpoint_urls: Mapping[str, str] | None,
    factory: Any,
) -> T:
    """``wrap``, with fallback clients made by ``factory(client)``."""
    check_async_client(client)
    runtime = build_runtime(
        client, policy, fallback_regions, endpoint_urls, factory, asynchronous=True
    )
    if runtime is None:
        return client
    earlier = runtime_of(client)
    if earlier is not None:
        runtime.retire(earlier)  # its fallback clients close with the client
    install_async(client, runtime)
    return client
