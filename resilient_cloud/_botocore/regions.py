"""Which regions botocore's partition data knows for a service."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import botocore.session


@functools.lru_cache(maxsize=1)
def _endpoint_data_session() -> botocore.session.Session:
    # Only reads the bundled endpoints.json; no credentials, no network.
    return botocore.session.Session()


def known_regions(service: str, partition: str) -> frozenset[str]:
    session = _endpoint_data_session()
    return frozenset(session.get_available_regions(service, partition_name=partition))


def partition_of(service: str, region: str) -> str | None:
    """The partition whose regions for ``service`` include ``region``, if any."""
    session = _endpoint_data_session()
    for partition in session.get_available_partitions():
        if region in known_regions(service, partition):
            return partition
    return None


def fallback_region_names(regions: Iterable[str] | None) -> tuple[str, ...]:
    """``regions`` as a tuple of names (None: no fallback), or a ``TypeError``
    naming ``fallback_regions``: what can be checked before there is a client."""
    if regions is None:
        return ()
    if isinstance(regions, str):
        raise TypeError(
            "fallback_regions must be a sequence of region names, not a string "
            f"(did you mean [{regions!r}]?)"
        )
    if not isinstance(regions, Iterable):
        raise TypeError(
            f"fallback_regions must be a sequence of region names, not {type(regions).__name__}"
        )
    regions = tuple(regions)
    for region in regions:
        if not isinstance(region, str):
            raise TypeError(f"fallback_regions must hold strings, not {type(region).__name__}")
    return regions


def validate_fallback_regions(client: Any, regions: Iterable[str] | None) -> tuple[str, ...]:
    """Check ``regions`` against the client's service and partition (None:
    no fallback). Raises ``TypeError``/``ValueError`` naming ``fallback_regions``.
    """
    regions = fallback_region_names(regions)
    service = client.meta.service_model.service_name
    partition = client.meta.partition
    primary = client.meta.region_name
    known = known_regions(service, partition)
    problems = []
    for region in regions:
        if region == primary:
            problems.append(f"{region!r} is the client's own region")
        elif region not in known:
            other = partition_of(service, region)
            problems.append(
                f"{region!r} is in partition {other!r}, not the client's {partition!r} "
                "(fallback stays within a partition)"
                if other is not None
                else f"{region!r} is not a region botocore knows for {service} "
                f"in partition {partition!r}"
            )
    if len(set(regions)) != len(regions):
        problems.append("a region is listed twice")
    if problems:
        raise ValueError("invalid fallback_regions: " + "; ".join(problems))
    return regions
