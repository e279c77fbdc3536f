"""What a DNS cache hit costs a new connection, against urllib3's own lookup.

Before connecting, plain urllib3 checks the name (IDNA), picks the address
family and calls ``socket.getaddrinfo``; a resilient client's connection
asks the cache instead (``cached_addresses``). Both run here on the same
name, through the resolver the benchmark's clients call: the fake cloud's
in-process getaddrinfo hook, which answers in microseconds where a real
lookup takes far longer, so this ratio is the least flattering one. For
scale, the same rounds time the C library's getaddrinfo of ``localhost``,
answered from /etc/hosts without any network: the floor of a real uncached
lookup. Time is the calling thread's CPU time; short rounds alternate, and
each figure is the median of the per-round ratios (as in ``overhead.py``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSHTTPConnectionPool
from urllib3.util import connection as urllib3_connection

from resilient_cloud._botocore.dns import cached_dns_pool
from resilient_cloud._clock import SYSTEM_CLOCK
from resilient_cloud._dns.cache import DnsAnswerCache, Requester
from resilient_cloud._options import DnsCache
from resilient_cloud.bench.scenarios import PRIMARY
from resilient_cloud.bench.stats import median

NAME = f"dynamodb.{PRIMARY}.amazonaws.com"
ROUNDS = 40
LOOKUPS_PER_ROUND = 2000


def _time(lookup: Callable[[], Any], times: int) -> float:
    start = time.thread_time()
    for _ in range(times):
        lookup()
    return time.thread_time() - start


def measure(rounds: int = ROUNDS, per_round: int = LOOKUPS_PER_ROUND) -> dict[str, Any]:
    """Needs the fake cloud's resolver installed (``with cloud.resolver():``)."""
    cache = DnsAnswerCache(DnsCache(), SYSTEM_CLOCK)
    pool: Any = cached_dns_pool(AWSHTTPConnectionPool, cache, Requester((), "dynamodb", PRIMARY))
    connection = pool.ConnectionCls(host=NAME, port=80)

    def urllib3_lookup(host: str = connection._dns_host) -> Any:
        host.encode("idna")  # what create_connection does before connecting
        family = urllib3_connection.allowed_gai_family()
        return socket.getaddrinfo(host, connection.port, family, socket.SOCK_STREAM)

    cache_hit = connection.cached_addresses
    assert cache_hit() == tuple(urllib3_lookup())  # the one miss; same answer
    libc_lookup = lambda: urllib3_lookup("localhost")  # noqa: E731
    timed = {"uncached": urllib3_lookup, "hit": cache_hit, "libc": libc_lookup}
    for lookup in timed.values():
        _time(lookup, per_round // 10)  # warm up
    times: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(rounds):
        for name, lookup in timed.items():
            times[name].append(_time(lookup, per_round))
    ratios = [hit / plain for hit, plain in zip(times["hit"], times["uncached"])]
    libc_ratios = [hit / libc for hit, libc in zip(times["hit"], times["libc"])]
    return {
        "lookups_per_subject": rounds * per_round,
        "getaddrinfo_us": 1e6 * median(times["uncached"]) / per_round,  # type: ignore[operator]  # never empty
        "cache_hit_us": 1e6 * median(times["hit"]) / per_round,  # type: ignore[operator]  # never empty
        "hit_ratio": median(ratios),
        "hit_ratio_min": min(ratios),
        "hit_ratio_max": max(ratios),
        "libc_localhost_us": 1e6 * median(times["libc"]) / per_round,  # type: ignore[operator]  # never empty
        "hit_ratio_vs_libc": median(libc_ratios),
    }
