"""``rc.Session``: a boto3 session whose clients and resources are resilient."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import boto3.session

from resilient_cloud._botocore.client import runtime_of
from resilient_cloud._botocore.fallback import session_factory
from resilient_cloud._health import EndpointHealth, health
from resilient_cloud._options import Policy, policy_or_default
from resilient_cloud._wrap import _install, wrap

if TYPE_CHECKING:
    from boto3.resources.base import ServiceResource
    from botocore.client import BaseClient

    from resilient_cloud._client_types import SessionClient, SessionResource


class Session(boto3.session.Session):
    """A :class:`boto3.session.Session` that installs resilience on its clients.

    Takes every argument boto3's session takes, plus ``policy`` (the default
    for its clients; ``None`` for :class:`Policy` defaults). Clients are real
    botocore clients: paginators, waiters, exceptions and the Stubber work as
    before; ``session.resource(...)`` builds on a resilient client.
    """

    def __init__(self, *args: Any, policy: Policy | None = None, **kwargs: Any) -> None:
        self.policy = policy_or_default(policy)
        super().__init__(*args, **kwargs)
        # The runtimes of this session's clients, for health(); they go
        # with their clients.
        self._runtimes: weakref.WeakSet[Any] = weakref.WeakSet()

    if TYPE_CHECKING:
        # What callers see: one overload per service, generated from botocore's
        # service list (tools/gen_client_overloads.py), each returning the
        # types-boto3 client class. The methods below implement them.
        # (Not boto3's overloads: ours take policy= and the rest too.)
        client: SessionClient  # type: ignore[assignment]
        resource: SessionResource  # type: ignore[assignment]

    def client(  # type: ignore[no-redef, override]  # typed by the declaration above
        self,
        service_name: str,
        *args: Any,
        policy: Policy | None = None,
        fallback_regions: Iterable[str] | None = (),
        endpoint_urls: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> BaseClient:
        """Create a client as boto3 does, with resilience installed.

        Args:
            policy: overrides the session's policy for this client.
            fallback_regions: regions that may serve this client's calls when
                its own region is unhealthy (same partition only; see
                :class:`Failover`). Their clients are made by this session on
                first use, with the same arguments.
            endpoint_urls: ``{region: url}``, needed with ``endpoint_url``
                for every fallback region (a custom endpoint cannot be guessed
                for another region).
        """
        # service_name is a str: the stubs overload literal names only.
        client: BaseClient = super().client(service_name, *args, **kwargs)  # type: ignore[call-overload]
        policy = policy_or_default(policy, self.policy)
        _install(
            client, policy, fallback_regions, endpoint_urls,
            lambda _client: session_factory(self, service_name, args, kwargs),
        )
        runtime = runtime_of(client)
        if runtime is not None:
            self._runtimes.add(runtime)
        return client

    def resource(  # type: ignore[no-redef, override]  # typed by the declaration above
        self, service_name: str, *args: Any, policy: Policy | None = None, **kwargs: Any
    ) -> ServiceResource:
        """Create a boto3 resource whose client is resilient."""
        resource: ServiceResource = super().resource(  # type: ignore[call-overload]  # as in client()
            service_name, *args, **kwargs
        )
        if policy is not None:
            wrap(resource.meta.client, policy=policy)
        return resource

    def health(self) -> list[EndpointHealth]:
        """Breaker, budget, bulkhead, region and hedge state of each endpoint
        this session's live clients have called, fallback regions included
        (see :func:`resilient_cloud.health`)."""
        return health({endpoint for runtime in list(self._runtimes) for endpoint in runtime.endpoints()})

    def __repr__(self) -> str:
        return f"resilient_cloud.Session(region_name={self.region_name!r})"
