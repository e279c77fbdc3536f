"""Cached subclasses for swapping an object's class in place.

The seam style of :mod:`resilient_cloud._botocore.client`: an object keeps
its state and gains a mixin by having ``__class__`` set to a subclass of its
own class. One subclass per original class, built once, with the original's
name, module and qualname so reprs and tracebacks read as before. The lock is
renewed in a forked child (a lock held by another thread at ``fork()`` would
stay held there for ever).
"""

from __future__ import annotations

import os
import threading
import weakref


class SubclassCache:
    """``cache(cls)``: the subclass of ``cls`` with ``mixin`` first in its MRO."""

    def __init__(self, mixin: type) -> None:
        self._mixin = mixin
        self._subclasses: weakref.WeakKeyDictionary[type, type] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        _ALL.add(self)

    def __call__(self, cls: type) -> type:
        if issubclass(cls, self._mixin):
            return cls
        subclass = self._subclasses.get(cls)
        if subclass is not None:
            return subclass
        with self._lock:
            subclass = self._subclasses.get(cls)
            if subclass is None:
                subclass = type(
                    cls.__name__,
                    (self._mixin, cls),
                    {"__module__": cls.__module__, "__qualname__": cls.__qualname__},
                )
                self._subclasses[cls] = subclass
            return subclass

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()


_ALL: weakref.WeakSet[SubclassCache] = weakref.WeakSet()


def _renew_locks_in_child() -> None:
    for cache in list(_ALL):
        cache._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_locks_in_child)
