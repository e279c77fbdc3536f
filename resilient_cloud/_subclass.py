"""Cached subclasses for swapping an object's class in place.

An object keeps its state and gains a mixin by having ``__class__`` set to a
subclass of its own class: how clients (botocore and aiobotocore) get our
``_make_api_call`` and aiohttp sessions and connectors get watched. One
subclass per original class, built once, with the original's name, module
and qualname so reprs and tracebacks read as before.

The subclass is kept on the original class itself, not in a table keyed by
it: a subclass refers to its base, so a table (even a weak-keyed one) would
keep every class it ever saw alive. botocore makes a client class per
session, so that was a leak of one client class (its methods, docstrings
and service model) per session. On the class, the pair is a cycle the
garbage collector frees with the class.
"""

from __future__ import annotations

import threading

from resilient_cloud._forking import renew_after_fork


class SubclassCache:
    """``cache(cls)``: the subclass of ``cls`` with ``mixin`` first in its MRO."""

    def __init__(self, mixin: type) -> None:
        self._mixin = mixin
        # Where the subclass is kept on its base (one name per mixin).
        self._attribute = f"_resilient_cloud_{mixin.__name__}"
        self._lock = threading.Lock()
        renew_after_fork(self)

    def __call__(self, cls: type) -> type:
        if issubclass(cls, self._mixin):
            return cls
        subclass: type | None = cls.__dict__.get(self._attribute)  # not inherited
        if subclass is not None:
            return subclass
        with self._lock:
            subclass = cls.__dict__.get(self._attribute)
            if subclass is None:
                subclass = type(
                    cls.__name__,
                    (self._mixin, cls),
                    {"__module__": cls.__module__, "__qualname__": cls.__qualname__},
                )
                setattr(cls, self._attribute, subclass)
            return subclass

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
