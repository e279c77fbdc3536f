"""One name's cached answer and what a lookup may do with it.

Pure: every method takes ``now`` from the injected clock and changes nothing
but the record. The cache (``cache.py``) holds the lock, runs lookups and
reports; this module decides.
"""

from __future__ import annotations

import enum
import socket
from dataclasses import dataclass
from typing import Any

#: One getaddrinfo result: (family, type, proto, canonname, sockaddr). Kept
#: whole: the fake cloud's resolver answers unprivileged ports.
AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]

# Not every platform defines EAI_NODATA (the name exists, with no addresses).
EAI_NODATA: int = getattr(socket, "EAI_NODATA", socket.EAI_NONAME)


class Verdict(enum.Enum):
    """What a lookup does with the record it found."""

    FRESH = "fresh"  # serve the answer
    EXPIRED = "expired"  # refresh, waiting a bounded time; the old answer is the fallback
    STALE = "stale"  # a refresh failed recently: serve the old answer at once
    NEGATIVE = "negative"  # failed recently with nothing good to serve: fail at once
    MISSING = "missing"  # nothing usable: resolve and wait for it


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a lookup failed, kept instead of the exception (which is per raise)."""

    errno: int
    reason: str

    @classmethod
    def from_error(cls, error: OSError) -> Failure:
        if isinstance(error, socket.gaierror) and error.errno is not None:
            return cls(error.errno, error.strerror or str(error))
        return cls(socket.EAI_AGAIN, str(error) or type(error).__name__)

    def error(self, host: str) -> socket.gaierror:
        return socket.gaierror(self.errno, f"{self.reason} (resolving {host})")


EMPTY_ANSWER = Failure(EAI_NODATA, "the resolver answered no addresses")


@dataclass(frozen=True, slots=True)
class Answer:
    """A good answer; replaced whole, so a reader without the lock sees one."""

    addresses: tuple[AddrInfo, ...]
    fresh_until: float


class NameRecord:
    """The state of one (name, port, family); guarded by the cache's lock."""

    __slots__ = ("answer", "usable_until", "stale_since", "last_failure",
                 "negative_until", "next_refresh_at")

    def __init__(self) -> None:
        self.answer: Answer | None = None
        # The last moment the answer may be served stale: expiry + max_stale.
        self.usable_until = float("-inf")
        # When a refresh of the current answer first failed (None: not stale).
        self.stale_since: float | None = None
        self.last_failure: Failure | None = None
        self.negative_until = float("-inf")
        self.next_refresh_at = float("-inf")

    def verdict(self, now: float) -> Verdict:
        answer = self.answer
        if answer is not None:
            if now < answer.fresh_until:
                return Verdict.FRESH
            if now <= self.usable_until:
                return Verdict.EXPIRED if self.stale_since is None else Verdict.STALE
        if now < self.negative_until:
            return Verdict.NEGATIVE
        return Verdict.MISSING

    def refresh_due(self, now: float) -> bool:
        """Whether a background refresh of a stale answer may start now."""
        return now >= self.next_refresh_at

    def refresh_started(self, now: float, interval: float) -> None:
        self.next_refresh_at = now + interval

    def stale_for(self, now: float) -> float:
        return 0.0 if self.stale_since is None else now - self.stale_since

    def succeeded(
        self, now: float, addresses: tuple[AddrInfo, ...], ttl: float, max_stale: float
    ) -> float | None:
        """A fresh answer replaces whatever was there; returns how long the
        record had been stale (None if it was not)."""
        recovered_after = None if self.stale_since is None else now - self.stale_since
        self.answer = Answer(addresses, now + ttl)
        self.usable_until = now + ttl + max_stale
        self.stale_since = None
        self.last_failure = None
        self.negative_until = float("-inf")
        self.next_refresh_at = float("-inf")
        return recovered_after

    def failed(self, now: float, failure: Failure, negative_ttl: float, interval: float) -> bool:
        """Record a failed lookup; True if a stale answer is still served.

        A good answer within its stale bound is kept, and the next background
        refresh waits ``interval``. Without one the failure itself is cached
        for ``negative_ttl``.
        """
        self.last_failure = failure
        if self.answer is not None and now <= self.usable_until:
            if self.stale_since is None:
                self.stale_since = now
            self.next_refresh_at = max(self.next_refresh_at, now + interval)
            return True
        self.answer = None
        self.stale_since = None
        self.negative_until = now + negative_ttl
        return False
