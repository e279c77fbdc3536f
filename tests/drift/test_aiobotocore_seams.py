"""Fail loudly when an aiobotocore or aiohttp upgrade changes an internal
resilient_cloud/_aiobotocore relies on (digests in tests/drift/aio_pins.py)."""

from __future__ import annotations

import asyncio
import inspect

import pytest

aiobotocore = pytest.importorskip("aiobotocore", reason="the aio extra is not installed")

import aiohttp  # noqa: E402
from aiobotocore.client import AioBaseClient  # noqa: E402
from aiobotocore.httpsession import AIOHTTPSession  # noqa: E402
from aiobotocore.session import AioSession, ClientCreatorContext  # noqa: E402
from botocore.session import Session as BotocoreSession  # noqa: E402

from resilient_cloud._botocore.events import retry_handler_id, take_over_retries  # noqa: E402

from .aio_pins import PINS  # noqa: E402
from .pins import Pin, digest  # noqa: E402


@pytest.mark.parametrize("pin", PINS, ids=lambda pin: pin.target)
def test_upstream_source_is_one_we_have_read(pin: Pin) -> None:
    found = digest(pin.target)
    assert found in pin.digests, (
        f"aiobotocore {aiobotocore.__version__} / aiohttp {aiohttp.__version__} changed "
        f"{pin.target} (digest {found}). {pin.used_by} assumes: {pin.assumption}. Re-read it, "
        "then add the digest in tests/drift/aio_pins.py (see its docstring)."
    )


def test_the_methods_we_override_are_coroutine_functions_with_our_signatures() -> None:
    assert inspect.iscoroutinefunction(AioBaseClient._make_api_call)
    assert inspect.iscoroutinefunction(AioBaseClient.close)
    assert inspect.iscoroutinefunction(AIOHTTPSession._create_connector)
    assert list(inspect.signature(AIOHTTPSession._create_connector).parameters) == ["self", "proxy_url"]
    assert inspect.iscoroutinefunction(aiohttp.BaseConnector.connect)
    assert list(inspect.signature(aiohttp.BaseConnector.connect).parameters) == [
        "self", "req", "traces", "timeout",
    ]


def test_aiohttp_exceptions_we_map_by_their_bases() -> None:
    """The watch table (resilient_cloud/_aiobotocore/watch.py) reads these
    through aiobotocore's except clauses, which go by base class."""
    assert issubclass(aiohttp.ClientConnectorDNSError, aiohttp.ClientConnectorError)
    assert issubclass(aiohttp.ClientConnectorSSLError, aiohttp.ClientSSLError)
    assert issubclass(aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)
    assert issubclass(aiohttp.ClientSSLError, aiohttp.ClientConnectorError)
    assert issubclass(aiohttp.ClientConnectorError, aiohttp.ClientOSError)
    assert issubclass(aiohttp.ClientOSError, aiohttp.ClientConnectionError)
    assert issubclass(aiohttp.ClientConnectionResetError, aiohttp.ClientConnectionError)
    assert issubclass(aiohttp.ServerDisconnectedError, aiohttp.ClientConnectionError)
    assert issubclass(aiohttp.ConnectionTimeoutError, aiohttp.ServerTimeoutError)
    assert issubclass(aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError)
    assert issubclass(aiohttp.ServerTimeoutError, asyncio.TimeoutError)
    assert not issubclass(aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)


def test_create_client_names_the_same_arguments_as_botocores() -> None:
    ours = list(inspect.signature(AioSession._create_client).parameters)
    botocores = list(inspect.signature(BotocoreSession.create_client).parameters)
    assert ours == botocores


def test_an_aio_client_has_the_seams_we_reach_for() -> None:
    async def main() -> None:
        creator = AioSession().create_client(
            "dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:1"
        )
        assert isinstance(creator, ClientCreatorContext)
        async with creator as client:
            http_session = client._endpoint.http_session
            assert isinstance(http_session, AIOHTTPSession)
            assert isinstance(http_session._connector_args, dict)
            assert http_session._sessions == {}  # entered, nothing built yet
            assert http_session._verify  # True, or the CA bundle botocore found
            assert client._request_signer._credentials is not None
            event, unique_id = retry_handler_id(client)
            handlers = client.meta.events._emitter._unique_id_handlers
            assert unique_id in handlers
            take_over_retries(client)
            assert unique_id not in handlers

    asyncio.run(main())


def test_aiohttp_retries_persistent_connections_only_while_its_flag_is_set() -> None:
    # _aiobotocore/watch.py turns aiohttp's own resend off by this flag.
    import aiohttp.client

    assert "self._retry_connection: bool = True" in inspect.getsource(aiohttp.ClientSession.__init__)
    request = inspect.getsource(aiohttp.client.ClientSession._request)
    assert "self._retry_connection and method in IDEMPOTENT_METHODS" in request
