"""Process-wide state shared per endpoint: bounded, locked, reset after fork.

Budgets, breakers, bulkheads, routers and hedge states are keyed by the endpoint and by
the frozen option object that governs them, so 50 short-lived clients with
one policy share one budget while two different policies never fight over
one state. A forked child starts empty: the parent's counts describe the
parent's traffic, and a lock held at fork time would deadlock the child.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import cachetools

T = TypeVar("T")

# Distinct (endpoint, options) pairs kept; a process talking to more than
# this many endpoints at once loses sharing for the least recently used.
MAX_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where requests go: the identity state is shared under."""

    partition: str
    service: str
    region: str
    host: str

    @classmethod
    def from_url(cls, partition: str, service: str, region: str, url: str) -> Endpoint:
        return cls(partition, service, region or "", urlsplit(url).netloc)

    def __str__(self) -> str:
        return f"{self.service}.{self.region} ({self.host})"


@dataclass(frozen=True, slots=True, eq=False)
class StateKey:
    """What one shared state is kept under: its kind, its endpoint, the frozen
    options that govern it, and the clock it reads (None: it reads none).

    Looked up on every call, so its hash is computed once.
    """

    kind: str
    endpoint: Endpoint
    options: Hashable
    clock: object = None
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.kind, self.endpoint, self.options, self.clock)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, StateKey)
            and self._hash == other._hash
            and (self.kind, self.endpoint, self.options, self.clock)
            == (other.kind, other.endpoint, other.options, other.clock)
        )


class _States(cachetools.LRUCache):  # type: ignore[type-arg]
    """cachetools' LRU cache, saying when it evicts."""

    def __init__(self, maxsize: int, evicted: Callable[[], None]) -> None:
        super().__init__(maxsize)
        self._evicted = evicted

    def popitem(self) -> tuple[Any, Any]:
        item = super().popitem()
        self._evicted()
        return item


class Registry:
    """A bounded, thread-safe map from keys to lazily built shared states."""

    def __init__(self, maxsize: int = MAX_ENTRIES) -> None:
        self._maxsize = maxsize
        self._lock = threading.Lock()
        #: Bumped whenever a state is dropped (evicted, cleared, forked away):
        #: what :meth:`get_memoized` callers check instead of locking.
        self.generation = 0
        self._states = _States(maxsize, self._dropped)

    def get(self, key: Hashable, factory: Callable[[], T]) -> T:
        with self._lock:
            state = self._states.get(key)
            if state is None:
                state = factory()
                self._states[key] = state
            return state

    def get_memoized(
        self, key: StateKey, build: Callable[[Any], T], memo: dict[StateKey, tuple[int, Any]]
    ) -> T:
        """``get(key, lambda: build(key.options))``, remembered in the
        caller's ``memo`` until the registry drops any state: looked up on
        every call, so the common case takes no lock."""
        generation = self.generation  # read first: a drop meanwhile makes the entry stale
        entry = memo.get(key)
        if entry is not None and entry[0] == generation:
            state: T = entry[1]
            return state
        state = self.get(key, lambda: build(key.options))
        memo[key] = (generation, state)
        return state

    def _dropped(self) -> None:
        self.generation += 1

    def items(self) -> list[tuple[Hashable, Any]]:
        with self._lock:
            return list(self._states.items())

    def states_of(self, endpoint: Endpoint) -> dict[StateKey, Any]:
        """The states kept for ``endpoint``, by key."""
        with self._lock:
            return {
                key: state for key, state in self._states.items()
                if isinstance(key, StateKey) and key.endpoint == endpoint
            }

    def endpoints(self) -> list[Endpoint]:
        """Every endpoint some state is kept for."""
        with self._lock:
            found = {key.endpoint for key in self._states if isinstance(key, StateKey)}
        return sorted(found, key=str)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()
            self._dropped()

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._states = _States(self._maxsize, self._dropped)
        self._dropped()

    def __len__(self) -> int:
        return len(self._states)

    def __repr__(self) -> str:
        return f"<Registry {len(self)}/{self._maxsize} states>"


REGISTRY = Registry()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=REGISTRY._after_fork_in_child)
