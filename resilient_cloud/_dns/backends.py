"""Where answers come from: the system resolver, or dnspython for real TTLs.

A backend's ``resolve(host, port, family)`` returns the getaddrinfo-shaped
addresses and their TTL (None when the backend cannot know it), and raises
``socket.gaierror`` when the lookup fails. An empty answer is returned as is:
the cache decides that it is a failure.
"""

from __future__ import annotations

import socket
import time
from typing import Any, Protocol

from resilient_cloud._dns.record import EAI_NODATA, AddrInfo
from resilient_cloud._options import DnsCache

Resolution = tuple[tuple[AddrInfo, ...], "float | None"]


class Backend(Protocol):
    def resolve(self, host: str, port: int, family: int) -> Resolution: ...


class SystemBackend:
    """``socket.getaddrinfo``, looked up at each call: ``/etc/hosts``, nsswitch
    and anything that patches it (the fake cloud's resolver) still apply."""

    __slots__ = ()

    def resolve(self, host: str, port: int, family: int) -> Resolution:
        return tuple(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)), None

    def __repr__(self) -> str:
        return "SystemBackend()"


class DnspythonBackend:
    """A ``dns.resolver.Resolver`` asked for A/AAAA records, with their TTLs.

    It talks to DNS servers directly: ``/etc/hosts`` does not apply.
    """

    __slots__ = ("_resolver", "_errors")

    def __init__(self, resolver: Any = None) -> None:
        import dns.exception
        import dns.resolver

        self._resolver = resolver if resolver is not None else dns.resolver.Resolver()
        # The most specific first: NXDOMAIN and NoAnswer are DNSExceptions too.
        self._errors = (
            (dns.resolver.NXDOMAIN, socket.EAI_NONAME),
            (dns.resolver.NoAnswer, EAI_NODATA),
            (dns.exception.Timeout, socket.EAI_AGAIN),
            (dns.exception.DNSException, socket.EAI_FAIL),
        )

    def resolve(self, host: str, port: int, family: int) -> Resolution:
        try:
            answers = self._resolver.resolve_name(host, family)
        except Exception as error:
            for kind, errno in self._errors:
                if isinstance(error, kind):
                    raise socket.gaierror(errno, f"{type(error).__name__}: {error}") from error
            raise
        addresses = tuple(
            _addrinfo(address, address_family, port)
            for address, address_family in answers.addresses_and_families(family)
        )
        # What is left of the chain's smallest TTL (a CNAME may expire before
        # its target); dnspython's own cache, if the resolver has one, hands
        # back answers with their original TTL but the same expiration.
        expirations = [answer.expiration for answer in answers.values()]
        return addresses, max(0.0, min(expirations) - time.time()) if expirations else None

    def __repr__(self) -> str:
        return f"DnspythonBackend(nameservers={self._resolver.nameservers!r})"


def _addrinfo(address: str, family: int, port: int) -> AddrInfo:
    sockaddr: tuple[Any, ...] = (address, port) if family == socket.AF_INET else (address, port, 0, 0)
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)


def backend_for(options: DnsCache) -> Backend:
    if options.backend == "system":
        return SystemBackend()
    if options.backend == "dnspython":
        return DnspythonBackend()
    return DnspythonBackend(options.backend)
