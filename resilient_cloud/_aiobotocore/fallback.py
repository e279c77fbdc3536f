"""Fallback-region clients for an aiobotocore client: built on first use, once.

A factory is ``factory(region, endpoint_url) -> async context manager of a
client``: aiobotocore's own shape (``AioSession.create_client`` returns a
``ClientCreatorContext``), so whoever enters it owns closing it. Here that
is :class:`AsyncFallbackClients`, which enters every client it builds in one
``contextlib.AsyncExitStack`` and closes them all in :meth:`~AsyncFallbackClients.aclose`.

Like the sync ones (:mod:`resilient_cloud._botocore.fallback`), a fallback
client is plain aiobotocore with its retries off and the DNS cache on
(``prepare``), never wrapped itself: our driver sends its attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from aiobotocore.credentials import AioCredentialResolver
from aiobotocore.session import AioSession

from resilient_cloud._botocore.fallback import SameCredentials
from resilient_cloud._botocore.fallback import clone_factory as sync_clone_factory

#: ``(region, endpoint_url or None) -> async context manager of an aiobotocore client``
AsyncClientFactory = Callable[[str, "str | None"], contextlib.AbstractAsyncContextManager[Any]]


def bind_create_client(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``create_client``'s arguments by name (only those given), as
    ``AioSession._create_client(service_name, region_name=None, ...)``, which
    ``AioSession.create_client(*args, **kwargs)`` forwards to, takes them.
    Raises TypeError for arguments it would not take."""
    # _create_client: private, not in the stubs (pinned in tests/drift/aio_pins.py).
    bound = inspect.signature(AioSession._create_client).bind(None, *args, **kwargs)  # type: ignore[attr-defined]
    arguments = dict(bound.arguments)
    arguments.pop("self", None)
    return arguments


def session_factory(session: AioSession, arguments: Mapping[str, Any]) -> AsyncClientFactory:
    """Fallback clients made as ``session.create_client(**arguments)`` made
    the primary (``arguments`` from :func:`bind_create_client`), with the
    region and endpoint replaced. aiobotocore's own ``create_client`` is
    called, so a session subclass that wraps its clients does not wrap these."""
    arguments = {
        name: value for name, value in arguments.items() if name not in ("region_name", "endpoint_url")
    }

    def make(region: str, endpoint_url: str | None) -> contextlib.AbstractAsyncContextManager[Any]:
        return AioSession.create_client(session, region_name=region, endpoint_url=endpoint_url, **arguments)

    return make


class _AsyncSameCredentials(SameCredentials):
    """The primary client's credentials object (``AioCredentials`` or
    ``AioRefreshableCredentials``): aiobotocore's resolver awaits ``load()``."""

    async def load(self) -> Any:
        return self._credentials


def clone_factory(client: Any) -> AsyncClientFactory:
    """Fallback clients rebuilt from an aiobotocore client whose session is
    unknown (``rc.aio.wrap``), as the sync ``clone_factory`` rebuilds them;
    each ``make`` returns aiobotocore's ``create_client`` context."""
    return sync_clone_factory(client, AioSession, AioCredentialResolver, _AsyncSameCredentials)


class AsyncFallbackClients:
    """Builds each fallback region's client once, on first use.

    Concurrent callers for one region await a single build, run as its own
    task so that a caller cancelled meanwhile does not cancel it for the
    others. Built clients are entered in one ``AsyncExitStack``;
    :meth:`aclose` closes them all (and is idempotent). Safe across tasks of
    one event loop, which is where an aiobotocore client lives; not across
    threads.
    """

    def __init__(
        self, factory: AsyncClientFactory, endpoint_urls: Mapping[str, str],
        prepare: Callable[[Any, str], None],
    ) -> None:
        self._factory = factory
        self._endpoint_urls = dict(endpoint_urls)
        self._prepare = prepare
        self._clients: dict[str, Any] = {}
        self._builds: dict[str, asyncio.Task[Any]] = {}
        self._stack = contextlib.AsyncExitStack()
        self._closed = False

    async def get(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is not None:
            return client
        if self._closed:
            raise RuntimeError(f"the fallback clients are closed: no client for {region}")
        build = self._builds.get(region)
        if build is None:
            build = asyncio.get_running_loop().create_task(
                self._build(region), name=f"resilient-cloud-fallback-client-{region}"
            )
            self._builds[region] = build
            build.add_done_callback(self._build_done(region))
        try:
            return await asyncio.shield(build)
        except asyncio.CancelledError:
            # aclose() cancelled the build, not our caller: say so. (Python
            # 3.10 cannot tell a caller cancelled at the same moment apart.)
            if self._closed and build.cancelled() and not _cancelling():
                raise RuntimeError(f"the fallback clients were closed while building {region}'s") from None
            raise

    async def _build(self, region: str) -> Any:
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(
                self._factory(region, self._endpoint_urls.get(region))
            )
            self._prepare(client, region)
            # Entered and ready: from now on aclose() closes it.
            self._stack.push_async_exit(stack.pop_all())
        self._clients[region] = client
        return client

    def _build_done(self, region: str) -> Callable[[asyncio.Future[Any]], None]:
        def done(build: asyncio.Future[Any]) -> None:
            if self._builds.get(region) is build:
                del self._builds[region]  # a failed build is tried again by the next caller
            if not build.cancelled():
                build.exception()  # retrieved, even when every caller was cancelled

        return done

    def built(self) -> dict[str, Any]:
        return dict(self._clients)

    async def aclose(self) -> None:
        """Close every client built so far; builds in flight are cancelled."""
        if self._closed:
            return
        self._closed = True
        builds = list(self._builds.values())
        for build in builds:
            build.cancel()
        # Their own failures are theirs; a cancellation of aclose() itself propagates.
        await asyncio.gather(*builds, return_exceptions=True)
        self._clients.clear()
        await self._stack.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"built={sorted(self._clients)}"
        return f"<AsyncFallbackClients {state}>"


def _cancelling() -> int:
    """How many cancellations of the current task are pending (0 before Python 3.11)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling() if cancelling is not None else 0
