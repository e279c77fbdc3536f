"""An aiohttp resolver built on resilient_cloud's DNS answer cache."""

from __future__ import annotations

import asyncio
import contextvars
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult

from resilient_cloud._clock import SYSTEM_CLOCK, Clock
from resilient_cloud._dns.cache import Requester, cache_for
from resilient_cloud._dns.record import AddrInfo
from resilient_cloud._options import DnsCache, check_hooks
from resilient_cloud._validation import Problems
from resilient_cloud.hooks import Hook

# What aiohttp's own resolvers put in ResolveResult["flags"]: the answer is numeric.
_NUMERIC_FLAGS = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
_NAME_FLAGS = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV


class DnsResolver(AbstractResolver):
    """Answers aiohttp's lookups from the process's DNS cache for ``dns``.

    Shares answers with every sync client whose policy has the same
    :class:`~resilient_cloud.DnsCache` (and clock). A fresh hit is answered
    on the event loop; anything that may block (a lookup, waiting for a
    refresh) runs in the loop's default executor. Failures raise ``OSError``
    (``socket.gaierror``), never an empty list. aiohttp's own cache never
    serves stale; pass ``use_dns_cache=False`` to ``TCPConnector`` so every
    connection asks this resolver.

    Args:
        dns: the cache's options; ``None`` for :class:`~resilient_cloud.DnsCache` defaults.
        hooks: receive the DNS events (stale answers served, failed
            refreshes, recoveries), tagged with ``service`` and ``region``.
        clock: where the cache's time comes from.
        service: tags the events (and telemetry's metrics) with the service.
        region: tags them with the region.
        telemetry: report stale answers and failed lookups through
            OpenTelemetry when an SDK is configured (docs/operating.md).
    """

    def __init__(
        self,
        dns: DnsCache | None = None,
        *,
        hooks: Iterable[Hook] | Hook = (),
        clock: Clock = SYSTEM_CLOCK,
        service: str = "",
        region: str = "",
        telemetry: bool = True,
    ) -> None:
        problems = Problems("DnsResolver")
        if dns is None:
            dns = DnsCache()
        elif not isinstance(dns, DnsCache):
            problems.wrong_type("dns", "a DnsCache or None", dns)
        if not isinstance(clock, Clock):
            problems.wrong_type("clock", "a Clock (monotonic() and sleep())", clock)
        checked_hooks = check_hooks(problems, hooks)  # the same rules as Policy(hooks=)
        problems.raise_if_any()
        self._cache = cache_for(dns, clock)
        self._requester = Requester(checked_hooks, service, region, telemetry)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._cache.fresh(host, port, family)
        if addresses is None:
            loop = asyncio.get_running_loop()
            # In the caller's context: the DNS events it reports mark the
            # attempt's span (run_in_executor alone runs without it).
            context = contextvars.copy_context()
            addresses = await loop.run_in_executor(
                None, context.run, self._cache.lookup, host, port, family, self._requester
            )
        results = [result for info in addresses if (result := _result(host, info)) is not None]
        if not results:
            raise OSError(f"no usable address for {host}")
        return results

    async def close(self) -> None:
        """Nothing to release: the cache is shared by the process."""

    def __repr__(self) -> str:
        return f"<resilient_cloud.aio.DnsResolver {self._cache!r}>"


def _result(hostname: str, info: AddrInfo) -> ResolveResult | None:
    """aiohttp's shape for one address (as its ``ThreadedResolver`` builds it)."""
    family, _type, proto, _canonname, sockaddr = info
    if family == socket.AF_INET6:
        if len(sockaddr) < 3:
            return None  # this Python has no IPv6
        if sockaddr[3]:  # a scope id: link-local addresses need it in the host
            host, service = socket.getnameinfo(sockaddr, _NAME_FLAGS)
            port = int(service)
        else:
            host, port = sockaddr[:2]
    else:
        host, port = sockaddr[:2]
    return ResolveResult(
        hostname=hostname, host=host, port=port, family=family, proto=proto, flags=_NUMERIC_FLAGS
    )
