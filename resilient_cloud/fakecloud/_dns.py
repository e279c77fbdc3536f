"""DNS faults for the fake cloud's names, applied in the client's process.

The resolver answers the ``getaddrinfo`` call urllib3 makes for every new
connection; a fault set here changes that answer for a region (or one service
in it): no such name, a record with no addresses (DynamoDB, October 2025), a
lookup that hangs and then fails, or a record that points somewhere else.
Every lookup is counted, so a test or benchmark sees how many fresh lookups
clients made.
"""

from __future__ import annotations

import ipaddress
import math
import numbers
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["DNS_MODES", "DnsFault", "DnsFaults", "check_address"]

DNS_MODES = ("ok", "nxdomain", "empty", "timeout", "address")
# A "timeout" lookup blocks the calling thread; bounded so a typo cannot hang a suite.
MAX_DELAY = 30.0
# glibc's answer for a name that exists with no addresses; not every platform has it.
EAI_NODATA: int = getattr(socket, "EAI_NODATA", socket.EAI_NONAME)


def check_address(name: str, value: object) -> tuple[str, int]:
    """``value`` as an ``(IPv4, port)`` pair; errors name the field ``name``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be an (ip, port) pair, got {value!r}")
    ip, port = value
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        raise ValueError(f"{name} must hold an IPv4 address, got {ip!r}") from None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"{name} must hold a port in 1-65535, got {port!r}")
    return (str(ip), port)


@dataclass(frozen=True)
class DnsFault:
    """How lookups of one region's (or service's) names are answered.

    Args:
        mode: one of :data:`DNS_MODES`.
        delay: seconds a ``"timeout"`` lookup blocks before failing, in (0, 30].
        address: ``(ip, port)`` answered in ``"address"`` mode (required there,
            refused elsewhere).
    """

    mode: str = "ok"
    delay: float = 2.0
    address: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.mode, str) or self.mode not in DNS_MODES:
            raise ValueError(f"mode must be one of {', '.join(DNS_MODES)}; got {self.mode!r}")
        delay = self.delay
        if isinstance(delay, bool) or not isinstance(delay, numbers.Real):
            raise TypeError(f"delay must be a number, got {type(delay).__name__}: {delay!r}")
        if not (math.isfinite(delay) and 0 < delay <= MAX_DELAY):
            raise ValueError(f"delay must be > 0 and <= {MAX_DELAY:g} seconds, got {delay!r}")
        object.__setattr__(self, "delay", float(delay))
        if self.mode == "address":
            if self.address is None:
                raise ValueError("mode 'address' needs address=(ip, port), got None")
            object.__setattr__(self, "address", check_address("address", self.address))
        elif self.address is not None:
            raise ValueError(f"address is only used with mode 'address', not {self.mode!r}")


_OK = DnsFault()


class DnsFaults:
    """DNS faults per ``(region, service)`` and counts of lookups; thread-safe.

    A service's own fault wins over the region-wide one (``service=None``).

    Args:
        sleep: how a ``"timeout"`` lookup blocks (replaceable in unit tests).
    """

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep
        self._lock = threading.Lock()
        self._faults: dict[tuple[str, str | None], DnsFault] = {}
        self._lookups: Counter[tuple[str, str, str]] = Counter()

    def set(self, region: str, fault: DnsFault, service: str | None = None) -> None:
        with self._lock:
            self._faults[(region, service)] = fault

    def clear(self, region: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._faults if region is None or k[0] == region]:
                del self._faults[key]

    def _fault(self, region: str, service: str) -> DnsFault:
        return self._faults.get((region, service)) or self._faults.get((region, None)) or _OK

    def count(self, region: str, service: str, outcome: str) -> None:
        with self._lock:
            self._lookups[(region, service, outcome)] += 1

    def lookups(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{region: {service: {outcome: n}}}``; outcomes are the modes applied."""
        with self._lock:
            items = sorted(self._lookups.items())
        nested: dict[str, dict[str, dict[str, int]]] = {}
        for (region, service, outcome), n in items:
            nested.setdefault(region, {}).setdefault(service, {})[outcome] = n
        return nested

    def reset_lookups(self) -> None:
        with self._lock:
            self._lookups.clear()

    def answer(
        self, region: str, service: str, answers: list[tuple[str, int]]
    ) -> list[tuple[str, int]]:
        """The answer a lookup gets under the current fault; raises ``gaierror``.

        ``answers`` is the correct answer. The lookup is counted first, so a
        hanging lookup is visible while it hangs.
        """
        with self._lock:
            fault = self._fault(region, service)
            self._lookups[(region, service, fault.mode)] += 1
        if fault.mode == "ok":
            return answers
        if fault.mode == "nxdomain":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if fault.mode == "empty":
            raise socket.gaierror(EAI_NODATA, "No address associated with hostname")
        if fault.mode == "timeout":
            self._sleep(fault.delay)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        assert fault.address is not None  # "address": checked at construction
        return [fault.address]

    def snapshot(self) -> dict[str, Any]:
        """``{region: {service or "*": {"mode": ..., ...}}}`` of the faults set."""
        with self._lock:
            items = list(self._faults.items())
        table: dict[str, Any] = {}
        for (region, service), fault in items:
            entry: dict[str, Any] = {"mode": fault.mode}
            if fault.mode == "timeout":
                entry["delay"] = fault.delay
            if fault.address is not None:
                entry["address"] = list(fault.address)
            table.setdefault(region, {})[service or "*"] = entry
        return table
