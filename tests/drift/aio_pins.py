"""The aiobotocore and aiohttp internals resilient_cloud/_aiobotocore relies on,
and their accepted digests (as :mod:`tests.drift.pins` does for botocore).

Digests cover aiobotocore 3.8.0 (the floor of the ``aio`` extra), 3.9.0 and
3.10.0, and aiohttp 3.12.0 (the floor aiobotocore 3.8.0 declares) and
3.14.5 (what 3.8.0 to 3.10.0 resolve with today; 3.10.0 declares >= 3.14.0).

When supporting a new version: run ``python -m tests.drift.aio_pins`` with it
installed, re-read every upstream object whose digest is new, and if our
assumption still holds, ADD the digest. When raising a floor, REPLACE the
digests with those of the versions still supported.
"""

from __future__ import annotations

from tests.drift.pins import Pin, digest

AIOBOTOCORE_PINS = (
    # -- the client seam (resilient_cloud._aiobotocore.client) -----------------
    Pin(
        "aiobotocore.client:AioBaseClient._make_api_call",
        "resilient_cloud._aiobotocore.client.ResilientAsyncClientMixin",
        "a coroutine function taking (operation_name, api_params); emits "
        "before-call (a response short-circuits the request) and raises "
        "ClientError for >= 300",
        frozenset({"2be96199935a4b8c"}),
    ),
    Pin(
        "aiobotocore.client:AioBaseClient.close",
        "resilient_cloud._aiobotocore.client.ResilientAsyncClientMixin.close",
        "closes the endpoint's http session directly, not through __aexit__",
        frozenset({"e2851d4d9d556645"}),
    ),
    Pin(
        "aiobotocore.client:AioBaseClient.__aexit__",
        "resilient_cloud._aiobotocore.client.ResilientAsyncClientMixin.__aexit__",
        "exits the endpoint's http session, not through close()",
        frozenset({"092a98414034202b"}),
    ),
    Pin(
        "aiobotocore.client:AioClientCreator._register_retries",
        "resilient_cloud._botocore.events.take_over_retries",
        "legacy, standard and adaptive modes register through the three "
        "functions pinned below",
        frozenset({"5b4e25ef22c6d248"}),
    ),
    Pin(
        "aiobotocore.client:AioClientCreator._register_legacy_retries",
        "resilient_cloud._botocore.events.take_over_retries",
        "legacy retry handler registered on needs-retry.<service-id> with "
        "unique_id retry-config-<service-id>",
        frozenset({"78106687f3b1da54"}),
    ),
    Pin(
        "aiobotocore.retries.standard:register_retry_handler",
        "resilient_cloud._botocore.events.take_over_retries",
        "standard retry handler registered on needs-retry.<service-id> with "
        "unique_id retry-config-<service-id>",
        frozenset({"024d7fc2e3ff4d25", "041249de79bda975", "668c8effb2337524"}),
    ),
    Pin(
        "aiobotocore.retries.adaptive:register_retry_handler",
        "resilient_cloud._botocore.events.take_over_retries",
        "adaptive rate limiter registered on before-send and needs-retry "
        "WITHOUT the retry-config unique id (so it survives our unregister)",
        frozenset({"6a75ae3431f3e9ea", "08957459f24997f7"}),
    ),
    Pin(
        "aiobotocore.endpoint:AioEndpoint._send_request",
        "resilient_cloud._botocore.events.record_exchange",
        "needs-retry is emitted after every response or transport exception",
        frozenset({"45299be64199a2eb"}),
    ),
    Pin(
        "aiobotocore.endpoint:AioEndpoint._needs_retry",
        "resilient_cloud._botocore.events.record_exchange",
        "needs-retry carries response=(http, parsed) and caught_exception",
        frozenset({"e0e1e14d904d1f83", "b2d3b8f6a16af469"}),
    ),
    Pin(
        "aiobotocore.hooks:AioHierarchicalEmitter._emit",
        "resilient_cloud._botocore.events (plain handlers on an aio emitter)",
        "calls each handler and awaits only what is awaitable",
        frozenset({"1d720dc37d4e9888"}),
    ),
    # -- the http session: DNS and watch seams ---------------------------------
    Pin(
        "aiobotocore.endpoint:AioEndpointCreator.create_endpoint",
        "resilient_cloud._aiobotocore.dns.install_dns_cache_async",
        "the http session gets the config's connector_args",
        frozenset({"d97b414e9ea847fe", "4137bfb392515ddf"}),
    ),
    Pin(
        "aiobotocore.httpsession:AIOHTTPSession.__init__",
        "resilient_cloud._aiobotocore.dns / watch / fallback.clone_factory",
        "keeps _connector_args (the config's dict, or defaults), _sessions "
        "(None until entered) and _verify",
        frozenset({"ed72f5104696dd32", "ce6061a8d5623e9d"}),
    ),
    Pin(
        "aiobotocore.httpsession:AIOHTTPSession._create_connector",
        "resilient_cloud._aiobotocore.watch.WatchedSessionMixin, dns",
        "a coroutine building the TCPConnector from **self._connector_args, "
        "read when it is called",
        frozenset({"b902e9e7f91a58d5", "c50b21f7cb09709f"}),
    ),
    Pin(
        "aiobotocore.httpsession:AIOHTTPSession._get_session",
        "resilient_cloud._aiobotocore.dns._retire_sessions, watch.watch_attempts",
        "one aiohttp ClientSession per proxy URL in self._sessions, built on "
        "first use through _create_connector and entered in self._exit_stack",
        frozenset({"9050ac5aa443ec89", "db7f79bf3484073c"}),
    ),
    Pin(
        "aiobotocore.httpsession:AIOHTTPSession.__aexit__",
        "resilient_cloud._aiobotocore.dns._retire_sessions",
        "closes every session entered in self._exit_stack (retired ones too)",
        frozenset({"2b55ee6e3187def0", "448bbe12ba0a19a4"}),
    ),
    Pin(
        "aiobotocore.httpsession:AIOHTTPSession.send",
        "resilient_cloud._aiobotocore.watch (the table in its docstring)",
        "maps aiohttp's exceptions to botocore's as the watch table says; "
        "ClientConnectionError (a reset after writing included) becomes "
        "EndpointConnectionError",
        frozenset({"9633db7fc585c5fb", "0424179d5be0fbd7"}),
    ),
    # -- sessions and fallback clients ------------------------------------------
    Pin(
        "aiobotocore.session:ClientCreatorContext",
        "resilient_cloud._aiobotocore.session.ResilientClientCreatorContext",
        "__aenter__ creates and enters the client and returns it; __aexit__ "
        "exits it",
        frozenset({"51425e79e0d5829f"}),
    ),
    Pin(
        "aiobotocore.session:AioSession.create_client",
        "resilient_cloud._aiobotocore.session, fallback.session_factory",
        "returns ClientCreatorContext(self._create_client(*args, **kwargs))",
        frozenset({"c1a6629525cfd31c"}),
    ),
    Pin(
        "aiobotocore.session:AioSession._create_client",
        "resilient_cloud._aiobotocore.fallback.bind_create_client",
        "its signature names create_client's arguments; credentials come "
        "from the credential_provider component when no keys are given",
        frozenset({"e87fdfc754f67bdc", "3b3dbf9ac092ace5"}),
    ),
    Pin(
        "aiobotocore.credentials:AioCredentialResolver.load_credentials",
        "resilient_cloud._aiobotocore.fallback.clone_factory",
        "awaits each provider's load() and returns the first non-None",
        frozenset({"97833ff8b3b87eee"}),
    ),
)

AIOHTTP_PINS = (
    Pin(
        "aiohttp.connector:BaseConnector.connect",
        "resilient_cloud._aiobotocore.watch.WatchedConnectorMixin",
        "connect(req, traces, timeout) does everything before the request is "
        "written (pool, reuse, DNS, TCP, proxy CONNECT, TLS) and returns the "
        "Connection",
        frozenset({"b9fe1f4d3e57ad12", "ea0170a99b4bab78"}),
    ),
    Pin(
        "aiohttp.client:ClientSession._request",
        "resilient_cloud._aiobotocore.watch",
        "awaits connector.connect(req, traces=, timeout=) in the caller's "
        "task, then req.send(conn); a connect timeout becomes "
        "ConnectionTimeoutError('Connection timeout to host ...'); idempotent "
        "methods are sent again once after ClientOSError/ServerDisconnectedError",
        frozenset({"32986b8105faf5f8", "ca9ec82ee71410ca"}),
    ),
    Pin(
        "aiohttp.connector:TCPConnector._resolve_host",
        "resilient_cloud._aiobotocore.dns",
        "with use_dns_cache=False every lookup asks self._resolver.resolve("
        "host, port, family=); IP literals never reach the resolver",
        frozenset({"cebf1e6422a848ab", "868acc1b54d624f7"}),
    ),
    Pin(
        "aiohttp.client_proto:ResponseHandler.connection_lost",
        "resilient_cloud._aiobotocore.watch (the table in its docstring)",
        "a connection lost before the answer is complete raises "
        "ServerDisconnectedError when closed cleanly, ClientOSError otherwise",
        frozenset({"84b98dfd8035e493", "0d5cb82ee2c7ed2c"}),
    ),
)

PINS = AIOBOTOCORE_PINS + AIOHTTP_PINS


if __name__ == "__main__":
    import aiobotocore
    import aiohttp

    print(f"aiobotocore {aiobotocore.__version__}, aiohttp {aiohttp.__version__}")
    for pin in PINS:
        print(f"{digest(pin.target)}  {pin.target}")
