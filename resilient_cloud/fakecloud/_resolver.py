"""Route ``*.amazonaws.com`` lookups to the fake cloud's loopback servers.

botocore (through urllib3) resolves the endpoint's hostname with
``socket.getaddrinfo`` and connects to the sockaddr it returns, so answering
that call with ``(127.0.0.N, server_port)`` sends a client built with
``use_ssl=False`` to the fake region while its ``Host`` header, endpoint
rules and signature stay exactly as in production.

DNS faults (:meth:`Resolver.set_dns`) act here, in the client's process, at
the lookup the client makes for each new connection.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any, NamedTuple

from resilient_cloud.fakecloud._dns import DnsFault, DnsFaults

__all__ = ["HostInfo", "Resolver", "parse_host", "region_of"]

_SUFFIX = ".amazonaws.com"
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
# Endpoints without a region in their name; AWS serves them from us-east-1.
_GLOBAL_SERVICES = frozenset(
    {"s3", "sts", "iam", "route53", "cloudfront", "organizations", "shield", "waf"}
)
# Labels that modify an endpoint without naming the service.
_MODIFIERS = frozenset({"dualstack", "fips"})
# Hostname labels whose signing name differs.
_SERVICE_ALIASES = {"ddb": "dynamodb", "s3-control": "s3", "s3-website": "s3"}


class HostInfo(NamedTuple):
    service: str
    region: str


def parse_host(hostname: str) -> HostInfo | None:
    """Service and region named by an AWS hostname, or None if it names none.

    Handles ``SERVICE.REGION``, ``ACCOUNT.ddb.REGION``, ``[BUCKET.]s3.REGION``,
    ``[BUCKET.]s3-REGION``, ``s3.dualstack.REGION`` and the global forms
    ``[BUCKET.]s3``, ``sts``, ``iam`` (all ``.amazonaws.com``; global ones are
    us-east-1).
    """
    name = hostname.strip().rstrip(".").lower()
    if not name.endswith(_SUFFIX):
        return None
    labels = name[: -len(_SUFFIX)].split(".")
    if not all(labels):
        return None
    last = labels[-1]
    if _REGION.match(last):
        named = [label for label in labels[:-1] if label not in _MODIFIERS]
        if not named:
            return None
        service = named[-1].removesuffix("-fips")
        return HostInfo(_SERVICE_ALIASES.get(service, service), last)
    if last.startswith("s3-"):
        rest = last[3:]
        if rest == "external-1":
            return HostInfo("s3", "us-east-1")
        if _REGION.match(rest):
            return HostInfo("s3", rest)
        return None
    if last in _GLOBAL_SERVICES:
        return HostInfo(last, "us-east-1")
    return None


def region_of(hostname: str) -> str | None:
    """The AWS region an ``*.amazonaws.com`` hostname points at, else None."""
    info = parse_host(hostname)
    return info.region if info else None


def _is_aws_name(hostname: str) -> bool:
    return hostname.strip().rstrip(".").lower().endswith(_SUFFIX)


def _no_such_name(hostname: str, why: str) -> socket.gaierror:
    return socket.gaierror(socket.EAI_NONAME, f"{hostname}: {why}")


# socket.getaddrinfo is process-global: every Resolver patches under one lock.
_PATCH_LOCK = threading.RLock()


class Resolver:
    """A re-entrant patch of ``socket.getaddrinfo`` for one fake cloud.

    Names ending in ``.amazonaws.com`` resolve to the loopback address of the
    region they name, with the server's port in the sockaddr; a name for a
    region this cloud does not serve fails like NXDOMAIN; every other name
    goes to the original resolver untouched.

    ``install``/``uninstall`` nest (a depth count); the original function is
    restored exactly when the outermost use ends. Nested use of *different*
    resolvers must end in reverse order.

    DNS faults set with :meth:`set_dns` change the answers per region or
    service; :meth:`lookups` counts every lookup of an AWS name by outcome.

    Args:
        addresses: region -> ``(ip, port)`` of the server for that region.
    """

    def __init__(self, addresses: Mapping[str, tuple[str, int]]) -> None:
        self._addresses = dict(addresses)
        self._dns = DnsFaults()
        self._depth = 0
        self._original: Any = None
        # One bound-method object, so "is it still our patch?" is an identity test.
        self._hook = self._getaddrinfo

    @property
    def installed(self) -> bool:
        return self._depth > 0

    def install(self) -> None:
        with _PATCH_LOCK:
            if self._depth == 0:
                self._original = socket.getaddrinfo
                socket.getaddrinfo = self._hook
            self._depth += 1

    def uninstall(self) -> None:
        with _PATCH_LOCK:
            if self._depth == 0:
                raise RuntimeError("resolver is not installed")
            if self._depth == 1:
                if socket.getaddrinfo is not self._hook:
                    raise RuntimeError(
                        "socket.getaddrinfo was replaced while the fake cloud "
                        "resolver was installed; uninstall patches in reverse order"
                    )
                socket.getaddrinfo = self._original
                self._original = None
            self._depth -= 1

    def __enter__(self) -> Resolver:
        self.install()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    # -- DNS faults ----------------------------------------------------------

    def set_dns(
        self,
        region: str,
        mode: str,
        *,
        service: str | None = None,
        delay: float = 2.0,
        address: tuple[str, int] | None = None,
    ) -> None:
        """Answer lookups of ``region``'s names (only ``service``'s, if given) per ``mode``.

        ``"ok"`` answers normally; ``"nxdomain"`` fails with ``EAI_NONAME``;
        ``"empty"`` (the name exists, with no addresses) with ``EAI_NODATA``;
        ``"timeout"`` blocks ``delay`` seconds (0 < delay <= 30) then fails with
        ``EAI_AGAIN``; ``"address"`` answers ``address`` (``(ip, port)``, e.g.
        another region's server). A service's own setting wins over the
        region-wide one. Only new connections look names up.
        """
        self._check_region(region)
        if service is not None and (not isinstance(service, str) or not service):
            raise TypeError(f"service must be a non-empty str or None, got {service!r}")
        fault = DnsFault(mode, delay, address)
        self._dns.set(region, fault, service.lower() if service else None)

    def clear_dns(self, region: str | None = None) -> None:
        """Remove the DNS faults of ``region``, or of every region."""
        if region is not None:
            self._check_region(region)
        self._dns.clear(region)

    def dns(self) -> dict[str, Any]:
        """The DNS faults set: ``{region: {service or "*": {"mode": ...}}}``."""
        return self._dns.snapshot()

    def lookups(self) -> dict[str, dict[str, dict[str, int]]]:
        """Lookups of AWS names since the last reset: ``{region: {service: {outcome: n}}}``.

        The outcome is the DNS mode that answered (``"ok"``, ``"nxdomain"``,
        ...), or ``"unserved"`` for a region this cloud does not serve.
        """
        return self._dns.lookups()

    def reset_lookups(self) -> None:
        self._dns.reset_lookups()

    def _check_region(self, region: str) -> None:
        if not isinstance(region, str) or region not in self._addresses:
            raise ValueError(
                f"unknown region {region!r}; this fake cloud serves {', '.join(self._addresses)}"
            )

    # -- answering -----------------------------------------------------------

    def resolve(self, hostname: str) -> list[tuple[str, int]]:
        """The ``(ip, port)`` answers for an AWS hostname; raises ``gaierror``."""
        info = parse_host(hostname)
        if info is None:
            raise _no_such_name(hostname, "not an AWS endpoint the fake cloud knows")
        address = self._addresses.get(info.region)
        if address is None:
            self._dns.count(info.region, info.service, "unserved")
            raise _no_such_name(
                hostname,
                f"region {info.region!r} is not served by this fake cloud "
                f"(serves {', '.join(self._addresses)})",
            )
        return self._answer(hostname, info, [address])

    def _answer(
        self, hostname: str, info: HostInfo, answers: list[tuple[str, int]]
    ) -> list[tuple[str, int]]:
        """The correct answer for ``hostname``, as the DNS fault for it changes it."""
        return self._dns.answer(info.region, info.service, answers)

    def _getaddrinfo(
        self,
        host: Any,
        port: Any,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[tuple[Any, ...]]:
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if not isinstance(name, str) or not _is_aws_name(name):
            answer: list[tuple[Any, ...]] = self._original(host, port, family, type, proto, flags)
            return answer
        if family not in (socket.AF_UNSPEC, socket.AF_INET):
            raise _no_such_name(name, "the fake cloud serves IPv4 only")
        sock_type = type or socket.SOCK_STREAM
        sock_proto = proto or (socket.IPPROTO_TCP if sock_type == socket.SOCK_STREAM else 0)
        canonname = name if flags & socket.AI_CANONNAME else ""
        return [
            (socket.AF_INET, sock_type, sock_proto, canonname, address)
            for address in self.resolve(name)
        ]

    def __repr__(self) -> str:
        return f"Resolver(regions={list(self._addresses)}, installed={self.installed})"
