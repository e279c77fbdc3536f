"""Operation names as botocore's bundled service models spell them.

Users name operations in ``Policy(operation_safety=...)`` either as the API
does (``PutItem``) or as the client method does (``put_item``). A name
qualified with its service is checked against the model when the policy is
built; an unqualified one is matched per client, against its own service.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TypeVar

import botocore.loaders
from botocore import xform_name

T = TypeVar("T")


@functools.lru_cache(maxsize=1)
def _loader() -> botocore.loaders.Loader:
    # Only reads the bundled models; no credentials, no network.
    return botocore.loaders.create_loader()


@functools.lru_cache(maxsize=1)
def services() -> frozenset[str]:
    return frozenset(_loader().list_available_services("service-2"))


@functools.lru_cache(maxsize=64)
def operation_names(service: str) -> dict[str, str]:
    """``{spelling: OperationName}`` for both spellings of every operation."""
    model = _loader().load_service_model(service, "service-2")
    names: dict[str, str] = {}
    for name in model["operations"]:
        names[name] = name
        names.setdefault(xform_name(name), name)
    return names


def resolve(service: str, name: str) -> str | None:
    """The API's name for ``name`` (either spelling) in ``service``, if any."""
    return operation_names(service).get(name)


def overrides_for(service: str, overrides: Mapping[str, T]) -> dict[str, T]:
    """The entries of ``overrides`` that can apply to ``service``'s
    operations, every unqualified name in the API's spelling."""
    own: dict[str, T] = {}
    for key, value in overrides.items():
        qualifier, _, name = key.rpartition(".")
        if qualifier:
            if qualifier == service:
                own[key] = value
            continue
        resolved = resolve(service, name)
        if resolved is not None:
            own[resolved] = value  # Policy refuses both spellings of one name
    return own
