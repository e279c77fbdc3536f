"""Installing the pipeline on an aiobotocore client, in place.

As for botocore clients (:mod:`resilient_cloud._botocore.client`), the
client's class is swapped for a cached subclass whose ``_make_api_call``
hands each operation to the client's runtime; the original class stays in
the MRO, so paginators, waiters, ``client.exceptions`` and ``async with``
behave as before. aiobotocore's ``AioBaseClient._make_api_call(operation_name,
api_params)`` is a coroutine function; so is ours, and the ``send`` the
runtime gets is the bound original (one request per await, botocore's
retries off).

The subclass also closes the fallback-region clients its runtime built when
the client is closed (``close()``) or exited (``__aexit__``): see
:func:`close_fallbacks` for what the runtime must provide.
"""

from __future__ import annotations

from typing import Any

from aiobotocore.client import AioBaseClient
from botocore.client import BaseClient

from resilient_cloud._aiobotocore.dns import install_dns_cache_async
from resilient_cloud._aiobotocore.watch import watch_attempts
from resilient_cloud._botocore.client import RUNTIME_ATTRIBUTE, runtime_of
from resilient_cloud._botocore.events import take_over_retries
from resilient_cloud._clock import Clock
from resilient_cloud._dns.cache import Requester
from resilient_cloud._options import DnsCache
from resilient_cloud._subclass import SubclassCache


class ResilientAsyncClientMixin:
    """Routes every operation through the client's runtime (``call_async``)."""

    async def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        runtime = self.__dict__.get(RUNTIME_ATTRIBUTE)
        send = super()._make_api_call  # type: ignore[misc]
        if runtime is None:
            return await send(operation_name, api_params)
        return await runtime.call_async(send, operation_name, api_params)

    async def close(self) -> None:
        # AioBaseClient.close() closes the endpoint's http session; it does
        # not go through __aexit__, nor __aexit__ through it.
        try:
            await close_fallbacks(self)
        finally:
            await super().close()  # type: ignore[misc]

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            await close_fallbacks(self)
        finally:
            await super().__aexit__(exc_type, exc_val, exc_tb)  # type: ignore[misc]


resilient_async_class = SubclassCache(ResilientAsyncClientMixin)


def check_async_client(client: Any) -> None:
    """TypeError unless ``client`` is an (entered) aiobotocore client."""
    if isinstance(client, AioBaseClient):
        return
    given = type(client).__name__
    if isinstance(client, BaseClient):
        raise TypeError(
            f"rc.aio takes aiobotocore clients; this is a synchronous botocore client ({given}): "
            "use rc.wrap() for it"
        )
    if hasattr(client, "__aenter__") and not hasattr(client, "meta"):
        raise TypeError(
            f"rc.aio takes an aiobotocore client, not the {given} that creates one: "
            "enter it first (async with session.create_client(...) as client)"
        )
    raise TypeError(f"rc.aio takes an aiobotocore client (AioBaseClient), not {given}")


def install_async(client: Any, runtime: Any) -> None:
    """Put ``runtime`` on ``client`` (replacing any earlier one, which the
    caller must ``aclose()``).

    Reads ``runtime.policy.dns``, ``runtime.policy.clock`` and
    ``runtime.dns_requester``; each operation then awaits
    ``runtime.call_async(send, operation_name, api_params)``.
    """
    check_async_client(client)
    prepare_unwrapped_async(client, runtime.policy.dns, runtime.dns_requester, runtime.policy.clock)
    client.__dict__[RUNTIME_ATTRIBUTE] = runtime
    client.__class__ = resilient_async_class(type(client))


def prepare_unwrapped_async(
    client: Any, dns: DnsCache | None, requester: Requester, clock: Clock
) -> None:
    """aiobotocore's retries off, attempts watched, the DNS cache installed:
    what our driver needs of any client it sends through (fallback clients
    included, which are never wrapped themselves). Idempotent.

    aiobotocore registers its retry handlers (``AioClientCreator._register_legacy_retries``,
    ``aiobotocore.retries.standard.register_retry_handler``) under botocore's
    event and unique id, ``needs-retry.<service-id>`` / ``retry-config-<service-id>``,
    and its emitter awaits async handlers and calls plain ones, so botocore's
    ``take_over_retries`` applies as it is. Adaptive mode's rate limiter
    (``aiobotocore.retries.adaptive``) has no unique id and stays.
    """
    take_over_retries(client)
    install_dns_cache_async(client, dns, requester, clock)
    watch_attempts(client)


async def close_fallbacks(client: Any) -> None:
    """Close the fallback clients of ``client``'s runtime, if it has any.

    The runtime provides ``async def aclose()``, which must be idempotent: a
    client may be both closed (``close()``) and exited (``__aexit__``), and
    :class:`~resilient_cloud._aiobotocore.session.ResilientClientCreatorContext`
    closes the fallbacks before exiting the client too.
    """
    aclose = getattr(runtime_of(client), "aclose", None)
    if aclose is not None:
        await aclose()
