"""Installing the pipeline on a botocore client, in place.

The client's class is swapped for a subclass (one per original class, cached)
whose ``_make_api_call`` runs the pipeline; the original class stays in the
MRO, so paginators, waiters, resources, ``client.meta``, ``client.exceptions``
and the Stubber behave as before. Wrapping again only replaces the runtime.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from botocore.client import BaseClient

from resilient_cloud._botocore.dns import install_dns_cache
from resilient_cloud._botocore.events import take_over_retries
from resilient_cloud._subclass import SubclassCache

RUNTIME_ATTRIBUTE = "_resilient_cloud_runtime"
logger = logging.getLogger("resilient_cloud")


class ResilientClientMixin:
    """Routes every operation through the client's runtime."""

    def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        runtime = self.__dict__.get(RUNTIME_ATTRIBUTE)
        send = super()._make_api_call  # type: ignore[misc]
        if runtime is None:
            return send(operation_name, api_params)
        return runtime.call(send, operation_name, api_params)


resilient_class = SubclassCache(ResilientClientMixin)


def check_sync_client(client: Any) -> None:
    if not isinstance(client, BaseClient):
        raise TypeError(
            "rc.wrap() takes a botocore/boto3 client (or a boto3 resource), "
            f"not {type(client).__name__}"
        )
    # _make_api_call and _endpoint: private, not in the stubs (pinned in tests/drift).
    if inspect.iscoroutinefunction(type(client)._make_api_call):  # type: ignore[attr-defined]
        raise TypeError(
            "rc.wrap() takes synchronous botocore clients; this is an "
            "aiobotocore client, which the async API (rc.aio) will cover"
        )


def install(client: BaseClient, runtime: Any) -> None:
    """Put ``runtime`` on ``client`` (replacing any earlier one)."""
    prepare_unwrapped(client, runtime.dns_cache, runtime.dns_requester)
    client.__dict__[RUNTIME_ATTRIBUTE] = runtime
    client.__class__ = resilient_class(type(client))


def prepare_unwrapped(client: BaseClient, dns_cache: Any, requester: Any) -> None:
    """botocore's retries off, attempts watched, the DNS cache installed:
    what our driver needs of any client it sends through."""
    take_over_retries(client)
    if not install_dns_cache(client, dns_cache, requester) and dns_cache:
        logger.warning(
            "DNS cache not installed on the %s client for %s: its HTTP session (%s) is not "
            "botocore's URLLib3Session",
            client.meta.service_model.service_name, client.meta.region_name,
            type(client._endpoint.http_session).__name__,  # type: ignore[attr-defined]
        )


def runtime_of(client: Any) -> Any:
    return getattr(client, "__dict__", {}).get(RUNTIME_ATTRIBUTE)


def configured_retries(client: BaseClient) -> tuple[str, int | None]:
    """The retry mode and total attempts the client's botocore config asked for.

    botocore folds ``Config(retries=...)``, ``AWS_MAX_ATTEMPTS``/``AWS_RETRY_MODE``
    and the profile's ``max_attempts``/``retry_mode`` into
    ``client.meta.config.retries`` (``ClientArgsCreator._compute_retry_config``),
    normalising every attempt count to ``total_max_attempts``.
    """
    retries = client.meta.config.retries or {}  # type: ignore[attr-defined]  # set by botocore, not in the stubs
    return retries.get("mode", "legacy"), retries.get("total_max_attempts")
