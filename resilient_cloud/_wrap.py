"""``rc.wrap``: install resilience on a client the user already has."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from resilient_cloud._botocore.client import check_sync_client, install
from resilient_cloud._botocore.regions import validate_fallback_regions
from resilient_cloud._options import Policy
from resilient_cloud._runtime import ClientRuntime
from resilient_cloud._switch import is_disabled

T = TypeVar("T")


def wrap(client: T, policy: Policy | None = None, fallback_regions: Iterable[str] = ()) -> T:
    """Install resilience on ``client`` in place and return it.

    ``client`` is a botocore/boto3 client, or a boto3 resource (its
    ``meta.client`` is wrapped). Wrapping again replaces the policy; it never
    stacks. botocore's own retry handler is removed: retries happen once, here.

    Args:
        policy: the :class:`Policy` to apply; ``None`` for the defaults.
        fallback_regions: regions to serve calls from when this client's region
            is unhealthy, checked against botocore's partition data now.
    """
    if policy is None:
        policy = Policy()
    elif not isinstance(policy, Policy):
        raise TypeError(f"policy must be a resilient_cloud.Policy, not {type(policy).__name__}")
    botocore_client: Any = client
    if not hasattr(client, "_make_api_call") and hasattr(getattr(client, "meta", None), "client"):
        botocore_client = client.meta.client  # type: ignore[attr-defined]
    check_sync_client(botocore_client)
    regions = validate_fallback_regions(botocore_client, fallback_regions)
    if is_disabled():
        return client
    install(botocore_client, ClientRuntime(botocore_client, policy, regions))
    return client
