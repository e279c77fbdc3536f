"""Objects renewed in a forked child, before any of the child's threads runs.

A lock held by another thread at ``fork()`` stays held in the child for
ever, and the parent's threads do not exist there. Objects that own locks,
semaphores or threads register here (weakly) and implement
``_after_fork_in_child()``; one ``os.register_at_fork`` hook calls them all.
"""

from __future__ import annotations

import os
import weakref
from typing import Any

_renewed: weakref.WeakSet[Any] = weakref.WeakSet()


def renew_after_fork(obj: Any) -> None:
    """Call ``obj._after_fork_in_child()`` in every forked child while ``obj`` lives."""
    _renewed.add(obj)


def _after_fork_in_child() -> None:
    for obj in list(_renewed):
        obj._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
