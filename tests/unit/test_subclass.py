"""Cached subclasses: one per class, named as the class, and freed with it."""

from __future__ import annotations

import gc
import weakref

import resilient_cloud as rc
from resilient_cloud._subclass import SubclassCache


class Mixin:
    pass


def test_one_subclass_per_class_named_like_it() -> None:
    cache = SubclassCache(Mixin)

    class Original:
        pass

    subclass = cache(Original)
    assert subclass.__mro__[1:3] == (Mixin, Original)
    assert (subclass.__name__, subclass.__qualname__, subclass.__module__) == (
        "Original", Original.__qualname__, Original.__module__,
    )
    assert cache(Original) is subclass and cache(subclass) is subclass

    class Child(Original):  # a subclass of a cached class gets its own
        pass

    assert cache(Child) is not subclass and cache(Child).__mro__[2] is Child


def test_a_class_and_its_subclass_are_freed_together() -> None:
    cache = SubclassCache(Mixin)
    Original = type("Original", (), {})
    cache(Original)
    gone = weakref.ref(Original)
    del Original
    gc.collect()
    assert gone() is None


def test_wrapped_clients_of_short_lived_sessions_do_not_pile_up() -> None:
    # botocore makes a client class per session; each one was kept for ever.
    client = rc.Session(region_name="us-east-1").client("dynamodb")
    botocore_class = weakref.ref(type(client).__mro__[2])
    assert botocore_class() is not None and botocore_class().__name__ == "DynamoDB"
    del client
    gc.collect()
    assert botocore_class() is None
