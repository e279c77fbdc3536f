"""Hooking the creation of aiobotocore clients, for ``rc.aio.Session``.

``AioSession.create_client(*args, **kwargs)`` returns a ``ClientCreatorContext``
(``async with`` creates the client on enter and closes it on exit), not a
client. :class:`ResilientClientCreatorContext` wraps that context: on enter
it enters the real one, then hands the entered client and the arguments it
was created with to a callback (which installs the runtime); on exit it
closes the fallback clients, then exits the client.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Generic, TypeVar

from resilient_cloud._aiobotocore.client import close_fallbacks
from resilient_cloud._aiobotocore.fallback import bind_create_client

#: ``on_client(client, arguments)``; may be a coroutine function.
OnClient = Callable[[Any, Mapping[str, Any]], "Awaitable[None] | None"]


#: The client type ``async with`` gives (types-aiobotocore's, per service).
ClientT = TypeVar("ClientT")


class ResilientClientCreatorContext(Generic[ClientT]):
    """``async with`` it as with aiobotocore's ``ClientCreatorContext``.

    Args:
        creator: what ``AioSession.create_client`` returned (not yet entered).
        arguments: the ``create_client`` arguments by name (:func:`bind_create_client`).
        on_client: called with the entered client and ``arguments`` before
            the client is handed out; if it raises, the client is exited and
            the error propagates.
    """

    def __init__(self, creator: Any, arguments: Mapping[str, Any], on_client: OnClient) -> None:
        self._creator = creator
        self._arguments = arguments
        self._on_client = on_client
        self._client: ClientT | None = None

    @classmethod
    def create(
        cls, create_client: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any],
        on_client: OnClient,
    ) -> ResilientClientCreatorContext[Any]:
        """``create_client(*args, **kwargs)`` wrapped; the arguments are
        checked now, as calling aiobotocore's coroutine function would."""
        arguments = bind_create_client(args, kwargs)
        return cls(create_client(*args, **kwargs), arguments, on_client)

    async def __aenter__(self) -> ClientT:
        client: ClientT = await self._creator.__aenter__()
        try:
            result = self._on_client(client, self._arguments)
            if inspect.isawaitable(result):
                await result
        except BaseException as error:
            await self._creator.__aexit__(type(error), error, error.__traceback__)
            raise
        self._client = client
        return client

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        try:
            if self._client is not None:
                await close_fallbacks(self._client)
        finally:
            await self._creator.__aexit__(exc_type, exc_val, exc_tb)
