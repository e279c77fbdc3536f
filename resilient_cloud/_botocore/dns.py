"""Connecting a botocore client's new connections through the DNS cache.

botocore's ``URLLib3Session`` keeps a urllib3 ``PoolManager`` whose
``pool_classes_by_scheme`` builds ``AWSHTTP(S)ConnectionPool``s, whose
``ConnectionCls`` is ``AWSHTTP(S)Connection``. urllib3 2 resolves the host
in ``HTTPConnection._new_conn``. We give the client's own manager pool
subclasses whose connection class overrides ``_new_conn`` alone: the socket
goes to an address from the cache, while the host name still drives SNI, the
``Host`` header and certificate verification (``connect`` uses ``self.host``
after ``_new_conn`` returns). Proxied connections (botocore's proxy managers
keep the original classes) resolve as before. The same classes watch where
an attempt fails (:mod:`resilient_cloud._botocore.watch`), so they are
installed even with the DNS cache off (``dns_cache`` None: urllib3 resolves).
Every attribute touched here is pinned in ``tests/drift``.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.awsrequest import AWSHTTPConnectionPool, AWSHTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from resilient_cloud._botocore.watch import WatchedConnectionMixin
from resilient_cloud._dns.cache import DnsAnswerCache, Requester
from resilient_cloud._dns.record import AddrInfo

if TYPE_CHECKING:
    from urllib3 import HTTPConnectionPool

# urllib3's own, before anyone patches it: its answer depends on HAS_IPV6 alone.
_URLLIB3_ALLOWED_GAI_FAMILY = urllib3_connection.allowed_gai_family

# The manager's classes before we replaced them, kept on the http session.
_ORIGINAL_CLASSES = "_resilient_cloud_pool_classes"


class CachedDnsConnectionMixin:
    """``_new_conn`` of urllib3 2's ``HTTPConnection``, with the lookup
    answered by the DNS cache; set ``dns_cache`` (None: urllib3 resolves)
    and ``dns_requester`` on a subclass, which then gets the
    ``cached_addresses`` made for them (:func:`_cached_addresses`)."""

    dns_cache: DnsAnswerCache | None
    dns_requester: Requester
    cached_addresses: ClassVar[Callable[[Any], tuple[AddrInfo, ...] | None]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "dns_cache" in cls.__dict__ or "dns_requester" in cls.__dict__:
            cls.cached_addresses = _cached_addresses(cls.dns_cache, cls.dns_requester)

    def _new_conn(self) -> socket.socket:
        addresses = self.cached_addresses()
        if addresses is None:
            return super()._new_conn()  # type: ignore[misc,no-any-return]
        conn: Any = self
        try:
            sock = connect_first(addresses, conn.timeout, conn.source_address, conn.socket_options)
        except TimeoutError as error:
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
            ) from error
        except OSError as error:
            raise NewConnectionError(conn, f"Failed to establish a new connection: {error}") from error
        sys.audit("http.client.connect", conn, conn.host, conn.port)
        return sock


def _cached_addresses(
    cache: DnsAnswerCache | None, requester: Requester
) -> Callable[[Any], tuple[AddrInfo, ...] | None]:
    """The ``cached_addresses`` method of a connection class on ``cache``:
    the addresses to try, from the cache; None when urllib3 should resolve
    as usual (no cache, a proxy in the way, or a bracketed IPv6 literal).
    IP literals are cached like names: getaddrinfo answers them at once.

    It runs for every new connection, so the fresh hit is inlined here, on
    the cache's own lock-free table and clock (``DnsAnswerCache.fresh_reader``),
    rather than costing a second call: one tuple, one dict read, one clock
    read. Everything else goes through ``cache.lookup``. A bracketed name is
    never a hit (its getaddrinfo fails, and only good answers are fresh), so
    it is turned away after the fresh read, off the hit path.
    """
    if cache is None:

        def urllib3_resolves(self: Any) -> None:
            return None

        return urllib3_resolves
    fresh_get, now = cache.fresh_reader()
    lookup = cache.lookup
    urllib3_allowed_family = _URLLIB3_ALLOWED_GAI_FAMILY

    def cached_addresses(self: Any) -> tuple[AddrInfo, ...] | None:
        if self.proxy is not None or self._tunnel_host is not None:
            return None
        host = self._dns_host
        # Through the module, so a patched allowed_gai_family or HAS_IPV6 (forcing
        # IPv4) applies; urllib3's own function, inlined (pinned in tests/drift).
        allowed_family = urllib3_connection.allowed_gai_family
        if allowed_family is urllib3_allowed_family:
            family = socket.AF_UNSPEC if urllib3_connection.HAS_IPV6 else socket.AF_INET
        else:
            family = allowed_family()
        key = (host, self.port, family)
        answer = fresh_get(key)
        if answer is not None and now() < answer.fresh_until:
            return answer.addresses
        if host.startswith("["):
            return None
        try:
            return lookup(*key, requester)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error

    return cached_addresses


def connect_first(
    addresses: Iterable[AddrInfo],
    timeout: Any,
    source_address: tuple[str, int] | None,
    socket_options: Any,
) -> socket.socket:
    """A socket connected to the first address that accepts, in answer order
    (as ``urllib3.util.connection.create_connection`` does); raises the last
    error when none does."""
    error: OSError | None = None
    for family, sock_type, proto, _canonname, sockaddr in addresses:
        sock = None
        try:
            sock = socket.socket(family, sock_type, proto)
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as failed:
            error = failed
            if sock is not None:
                sock.close()
    if error is None:
        raise OSError("the DNS cache returned no addresses")
    raise error


def cached_dns_pool(pool: type[HTTPConnectionPool], cache: DnsAnswerCache | None, requester: Requester) -> type:
    connection = type(
        f"CachedDns{pool.ConnectionCls.__name__}",
        (CachedDnsConnectionMixin, WatchedConnectionMixin, pool.ConnectionCls),
        {"dns_cache": cache, "dns_requester": requester, "__module__": __name__},
    )
    return type(f"CachedDns{pool.__name__}", (pool,), {"ConnectionCls": connection, "__module__": __name__})


def _routes_through(classes: dict[str, type], cache: DnsAnswerCache | None, requester: Requester) -> bool:
    connections = [getattr(pool, "ConnectionCls", None) for pool in classes.values()]
    return all(
        getattr(connection, "dns_cache", None) is cache
        and getattr(connection, "dns_requester", None) == requester
        for connection in connections
    )


def install_dns_cache(client: Any, cache: DnsAnswerCache | None, requester: Requester) -> bool:
    """Route ``client``'s new direct connections through ``cache`` (``None``:
    urllib3's own lookups) and our watched connection class. Idle pooled
    connections are dropped so the next request connects the new way. False
    if the client's HTTP layer is not botocore's ``URLLib3Session``."""
    http_session = client._endpoint.http_session
    manager: Any = getattr(http_session, "_manager", None)  # a urllib3 PoolManager
    classes = getattr(manager, "pool_classes_by_scheme", None)
    if not isinstance(classes, dict):
        return False
    original = http_session.__dict__.setdefault(_ORIGINAL_CLASSES, classes)
    if _routes_through(classes, cache, requester):
        return True  # wrapped again alike: keep the classes and the idle connections
    # Only the direct manager: proxy managers share `original` and keep it.
    manager.pool_classes_by_scheme = {
        "http": cached_dns_pool(original.get("http", AWSHTTPConnectionPool), cache, requester),
        "https": cached_dns_pool(original.get("https", AWSHTTPSConnectionPool), cache, requester),
    }
    manager.clear()
    return True
