"""``rc.aio.Session``: an aiobotocore session whose clients are resilient."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiobotocore.session import AioSession

from resilient_cloud._aiobotocore.fallback import session_factory
from resilient_cloud._aiobotocore.session import ResilientClientCreatorContext
from resilient_cloud._botocore.client import runtime_of
from resilient_cloud._botocore.regions import fallback_region_names
from resilient_cloud._health import EndpointHealth, health
from resilient_cloud._options import Policy, policy_or_default
from resilient_cloud.aio._wrap import install

if TYPE_CHECKING:
    from resilient_cloud.aio._client_types import SessionCreateClient


class Session(AioSession):
    """An :class:`aiobotocore.session.AioSession` that installs resilience on
    its clients.

    Takes every argument aiobotocore's session takes, plus ``policy`` (the
    default for its clients; ``None`` for :class:`~resilient_cloud.Policy`
    defaults)::

        session = rc.aio.Session(policy=rc.Policy(deadline=2.0))
        async with session.create_client("dynamodb", fallback_regions=["us-west-2"]) as ddb:
            await ddb.get_item(...)

    Clients are real aiobotocore clients: paginators, waiters and
    ``client.exceptions`` work as before.
    """

    def __init__(self, *args: Any, policy: Policy | None = None, **kwargs: Any) -> None:
        self.policy = policy_or_default(policy)
        super().__init__(*args, **kwargs)
        self._runtimes: weakref.WeakSet[Any] = weakref.WeakSet()

    if TYPE_CHECKING:
        # What callers see: one overload per service, generated from botocore's
        # service list (tools/gen_client_overloads.py), each giving the
        # types-aiobotocore client class. The method below implements them.
        # (Not aiobotocore's overloads: ours take policy= and the rest too,
        # and give our context manager.)
        create_client: SessionCreateClient  # type: ignore[assignment]

    def create_client(  # type: ignore[no-redef, override]  # typed by the declaration above
        self,
        *args: Any,
        policy: Policy | None = None,
        fallback_regions: Iterable[str] | None = (),
        endpoint_urls: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ResilientClientCreatorContext[Any]:
        """Create a client as aiobotocore does (``async with``), with
        resilience installed when it is entered.

        Args:
            policy: overrides the session's policy for this client.
            fallback_regions: regions that may serve this client's calls when
                its own region is unhealthy (same partition only). Their
                clients are made by this session on first use, with the same
                arguments, and closed with this client.
            endpoint_urls: ``{region: url}``, needed with ``endpoint_url``
                for every fallback region.
        """
        chosen = policy_or_default(policy, self.policy)
        # Names are checked now; against the client's partition when it exists.
        fallback_regions = fallback_region_names(fallback_regions)

        def on_client(client: Any, arguments: Mapping[str, Any]) -> None:
            install(
                client, chosen, fallback_regions, endpoint_urls,
                lambda _client: session_factory(self, arguments),
            )
            runtime = runtime_of(client)
            if runtime is not None:
                self._runtimes.add(runtime)

        return ResilientClientCreatorContext.create(
            super().create_client, args, kwargs, on_client
        )

    def health(self) -> list[EndpointHealth]:
        """The health of each endpoint this session's live clients have
        called (see :func:`resilient_cloud.health`)."""
        return health({endpoint for runtime in list(self._runtimes) for endpoint in runtime.endpoints()})

    def __repr__(self) -> str:
        return "resilient_cloud.aio.Session()"


def get_session(env_vars: Any = None, *, policy: Policy | None = None) -> Session:
    """As :func:`aiobotocore.session.get_session`, with ``policy``."""
    return Session(env_vars, policy=policy)
