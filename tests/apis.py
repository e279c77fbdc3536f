"""The sync and async APIs, for suites that state one behaviour for both.

A conftest imports the fixtures it needs from here (``api``, ``loop``,
``clients``); a test that takes ``api`` (directly or through a fixture) runs
twice: for botocore clients made by ``rc.Session``/``rc.wrap`` ("sync") and
for aiobotocore clients made by ``rc.aio.Session``/``rc.aio.wrap``
("async"), which the test sees through :class:`SyncView`, so its body is
the same for both. A test marked ``@pytest.mark.sync_only("why")`` runs for
the sync API alone.

The async API's loop runs in debug mode with ``slow_callback_duration =
1.0``; a callback that slow, or a task exception nobody retrieved, fails
the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import inspect
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

HAS_AIO = importlib.util.find_spec("aiobotocore") is not None


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> str:
    if request.param == "async":
        if not HAS_AIO:
            pytest.skip("the async API needs the aio extra")
        marker = request.node.get_closest_marker("sync_only")
        if marker is not None:
            pytest.skip(f"sync API only: {marker.args[0] if marker.args else ''}")
    return request.param


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """What earlier tests left on the heap is not a test loop's to collect:
    frozen, a full garbage collection during the test does not walk it (on
    this suite's heap one took 0.5-0.8 s, and 1.3 s on a loaded machine:
    a slow callback in debug mode)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop in debug mode that fails the test on any unretrieved
    task exception it reports, and on a slow callback asyncio logs (see
    :class:`AsyncioLog`)."""
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 1.0
    reported: list[str] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context.get("message", "")))
    logged = AsyncioLog()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(logged)
    with contextlib.ExitStack() as cleanup:
        cleanup.enter_context(frozen_heap())
        cleanup.callback(asyncio_logger.removeHandler, logged)
        cleanup.callback(loop.close)
        yield loop
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        assert not pending, f"tasks left behind: {pending}"
    assert not reported, f"the event loop reported: {reported}"
    assert logged.messages == [], f"asyncio logged: {logged.messages}"


class SyncView:
    """An aiobotocore client driven from a sync test: each public method
    that returns an awaitable (the operations) runs to completion on the
    test's loop; everything else (``meta``, ``exceptions``...) is the
    client's own."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.aio_client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.aio_client, name)
        if not callable(attribute) or name.startswith("_"):
            return attribute

        def run(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            return self._loop.run_until_complete(result) if inspect.isawaitable(result) else result

        return run


def is_async(client: Any) -> bool:
    """``client`` is an aiobotocore client (or a :class:`SyncView` of one)."""
    return isinstance(client, SyncView)


def unwrapped(client: Any) -> Any:
    """The client itself: the aiobotocore client behind a :class:`SyncView`."""
    return client.aio_client if isinstance(client, SyncView) else client


# -- making real clients of either API ---------------------------------------


class EnteredClient(SyncView):
    """A :class:`SyncView` of a client entered with ``async with``;
    ``close()`` exits it (once), as leaving the ``async with`` block would:
    its fallback clients close with it."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop, exit_: Callable[[], None]) -> None:
        super().__init__(client, loop)
        self._exit = exit_
        self._exited = False

    def close(self) -> None:
        if not self._exited:
            self._exited = True
            self._exit()


class AsyncSessionView:
    """An ``rc.aio.Session`` used as an ``rc.Session``: ``client(service,
    **kwargs)`` creates and enters an aiobotocore client in the session's
    region (``create_client`` takes ``region_name``); every other attribute
    (``health()``...) is the session's own."""

    def __init__(self, session: Any, region_name: str | None, clients: Clients) -> None:
        self.aio_session = session
        self._region_name = region_name
        self._clients = clients

    def client(self, service: str, **kwargs: Any) -> EnteredClient:
        kwargs.setdefault("region_name", self._region_name)
        return self._clients.enter(self.aio_session.create_client(service, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.aio_session, name)


class Clients:
    """Real clients of one API (``name`` is "sync" or "async"), with the
    sync API's entry points; async clients are entered on ``loop``, seen
    through :class:`EnteredClient`, and exited when the fixture ends (sync
    clients are the caller's to close, as botocore's are)."""

    def __init__(self, name: str, loop: asyncio.AbstractEventLoop | None) -> None:
        self.name = name
        self.loop = loop
        self._entered: list[EnteredClient] = []

    @property
    def is_async(self) -> bool:
        return self.name == "async"

    def session(self, region_name: str | None = None, **kwargs: Any) -> Any:
        """``rc.Session(region_name=..., **kwargs)``, or an ``rc.aio.Session``
        that makes its clients in ``region_name``."""
        import resilient_cloud as rc

        if not self.is_async:
            return rc.Session(region_name=region_name, **kwargs)
        import resilient_cloud.aio

        return AsyncSessionView(resilient_cloud.aio.Session(**kwargs), region_name, self)

    def plain(self, service: str, **kwargs: Any) -> Any:
        """A client without resilience: ``boto3.client(service, **kwargs)``,
        or aiobotocore's ``AioSession().create_client(service, **kwargs)``
        entered."""
        if not self.is_async:
            import boto3

            return boto3.client(service, **kwargs)
        from aiobotocore.session import AioSession

        return self.enter(AioSession().create_client(service, **kwargs))

    def wrap(self, client: Any, **kwargs: Any) -> Any:
        """``rc.wrap(client, **kwargs)``, or ``rc.aio.wrap`` for an async
        client; returns what it returns (the view, for a view)."""
        import resilient_cloud as rc

        if not is_async(client):
            return rc.wrap(client, **kwargs)
        import resilient_cloud.aio

        wrapped = resilient_cloud.aio.wrap(client.aio_client, **kwargs)
        return client if wrapped is client.aio_client else wrapped

    def run(self, awaitable: Any) -> Any:
        assert self.loop is not None
        return self.loop.run_until_complete(awaitable)

    def enter(self, creator: Any) -> EnteredClient:
        """Enter ``creator`` (``async with``) on the loop."""
        client = self.run(creator.__aenter__())
        entered = EnteredClient(client, self.loop, lambda: self.run(creator.__aexit__(None, None, None)))
        self._entered.append(entered)
        return entered

    def close(self) -> None:
        """Exit every client entered, the last first."""
        while self._entered:
            self._entered.pop().close()


class AsyncioLog(logging.Handler):
    """Keeps what asyncio logs at WARNING and above: in debug mode, a
    callback slower than ``slow_callback_duration`` ("Executing ... took")."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # Entering or exiting a client: aiobotocore loads and parses the
        # service model on the loop, without yielding (0.1-0.4 s per
        # DynamoDB client measured here, more on a loaded machine); that is
        # aiobotocore's cost, not a callback of ours.
        if "CreatorContext.__aenter__()" not in message and "CreatorContext.__aexit__()" not in message:
            self.messages.append(message)


@pytest.fixture
def clients(api: str, request: pytest.FixtureRequest) -> Iterator[Clients]:
    """Real clients of the API under test; async ones are exited at the end
    (on the ``loop`` fixture's loop, which fails the test on what asyncio
    reports or logs)."""
    # Set up before this fixture, so torn down after its clients are exited.
    loop: asyncio.AbstractEventLoop | None = request.getfixturevalue("loop") if api == "async" else None
    made = Clients(api, loop)
    yield made
    made.close()
