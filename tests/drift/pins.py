"""The botocore internals resilient_cloud relies on, and their accepted digests.

Each entry names an upstream function or class, the module of ours that
depends on it, and what to re-check when its source changes. A digest is the
SHA-256 of ``inspect.getsource`` (first 16 hex digits). botocore digests cover
1.43.3 (the floor), .11, .47, .60, .115, .117 and .127, and 1.44.0, .4 and .8;
urllib3 ones 2.0.4 (the floor), 2.0.7, 2.2.3, 2.5.0 and 2.8.0.

When supporting a new botocore version: run ``python -m tests.drift.pins`` with
it installed, re-read every upstream object whose digest is new, and if our
assumption still holds, ADD the digest. When raising the minimum version,
REPLACE the digests with the ones of the versions still supported.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from dataclasses import dataclass


@dataclass(frozen=True)
class Pin:
    target: str  # "module:qualname"
    used_by: str
    assumption: str
    digests: frozenset[str]


def resolve(target: str) -> object:
    module_name, qualname = target.split(":")
    obj: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def digest(target: str) -> str:
    source = inspect.getsource(resolve(target))  # type: ignore[arg-type]
    return hashlib.sha256(source.encode()).hexdigest()[:16]


PINS = (
    Pin(
        "botocore.client:BaseClient._make_api_call",
        "resilient_cloud._botocore.client.ResilientClientMixin",
        "takes (operation_name, api_params); emits before-call (a response "
        "short-circuits the HTTP request) and raises ClientError for >= 300",
        frozenset({"75ba491f61ffbd4e"}),
    ),
    Pin(
        "botocore.client:ClientCreator._register_legacy_retries",
        "resilient_cloud._botocore.events.take_over_retries",
        "legacy retry handler registered on needs-retry.<service-id> with "
        "unique_id retry-config-<service-id>",
        frozenset({"78106687f3b1da54"}),
    ),
    Pin(
        "botocore.retries.standard:register_retry_handler",
        "resilient_cloud._botocore.events.take_over_retries",
        "standard retry handler registered on needs-retry.<service-id> with "
        "unique_id retry-config-<service-id> (its request-created max-attempts "
        "seeder, unique_id seed-max-attempts-<service-id>, only writes a header)",
        frozenset({"e568f5b2d10b75fc", "0fa7eeb1e0c44224", "8731ec89f494603d"}),
    ),
    Pin(
        "botocore.retries.adaptive:register_retry_handler",
        "resilient_cloud._botocore.events.take_over_retries",
        "adaptive rate limiter registered on before-send and needs-retry "
        "WITHOUT the retry-config unique id (so it survives our unregister)",
        frozenset({"78db908dc200b323"}),
    ),
    Pin(
        "botocore.endpoint:Endpoint._send_request",
        "resilient_cloud._botocore.events.record_exchange",
        "needs-retry is emitted after every response or transport exception",
        frozenset({"af914535237dd087"}),
    ),
    Pin(
        "botocore.endpoint:Endpoint._needs_retry",
        "resilient_cloud._botocore.events.record_exchange",
        "needs-retry kwargs: response=(http, parsed) or None, caught_exception",
        frozenset({"9621767a04c7931a"}),
    ),
    Pin(
        "botocore.args:ClientArgsCreator._compute_retry_max_attempts",
        "resilient_cloud._botocore.client.configured_retries",
        "Config, env and profile attempts normalised to retries['total_max_attempts']",
        frozenset({"f24c605aa05ae60b"}),
    ),
    Pin(
        "botocore.retries.standard:RetryContext",
        "resilient_cloud._outcome.classify",
        "constructor keywords and get_error_code()",
        frozenset({"4b1a2883f6a8f790"}),
    ),
    Pin(
        "botocore.retries.standard:TransientRetryableChecker",
        "resilient_cloud._outcome.classify",
        "is_retryable(context): transient codes, 5xx statuses, ConnectionError/HTTPClientError",
        frozenset({"be16c60ff6f03cc5"}),
    ),
    Pin(
        "botocore.retries.standard:ThrottlingErrorDetector",
        "resilient_cloud._outcome.classify",
        "is_throttling_error_from_context(context) (from 1.43.3); from 1.44 a 429 "
        "with an error code the operation does not model is throttling too "
        "(test_what_botocore_calls_a_throttle)",
        frozenset({"fa8c24507ba98d23", "aebb71c470c48d8f"}),
    ),
    Pin(
        "botocore.retries.standard:ModeledRetryableChecker",
        "resilient_cloud._outcome.classify",
        "is_retryable(context) from the model's retryable trait",
        frozenset({"fe67bedf003eb201"}),
    ),
    Pin(
        "botocore.handlers:generate_idempotent_uuid",
        "resilient_cloud._botocore.events.note_tokens",
        "at before-parameter-build, fills an absent idempotencyToken member of "
        "params in place with str(uuid4()); a member already present is kept",
        frozenset({"8a2ce69c34c1235b"}),
    ),
    Pin(
        "botocore.stub:Stubber.activate",
        "resilient_cloud._botocore.events.note_tokens",
        "the Stubber checks expected_params on before-parameter-build, registered "
        "first (so before botocore fills tokens), and answers on before-call",
        frozenset({"c7d558d51016aa81"}),
    ),
    # -- checks of successful responses (resilient_cloud._integrity) ---------------
    Pin(
        "botocore.retryhandler:CRC32Checker",
        "resilient_cloud._integrity.check_response",
        "CRC32Checker(header)(attempt_number, response=(http, parsed), caught_exception) "
        "raises ChecksumError when crc32(http.content) differs from the header",
        frozenset({"14db0b0651a66a00"}),
    ),
    Pin(
        "botocore.translate:build_retry_config",
        "resilient_cloud._integrity.body_checks",
        "(endpoint_prefix, retry model, definitions) -> {'__default__' or operation: "
        "{'policies': {name: {'applies_when': {'response': {'crc32body': header}}}}}}",
        frozenset({"5cf42c9662b38270"}),
    ),
    # -- where an attempt failed (resilient_cloud._outcome, _botocore.watch) -------
    Pin(
        "botocore.httpsession:URLLib3Session.send",
        "resilient_cloud._outcome.classify",
        "urllib3 SSLError -> SSLError (handshake or mid-response alike); "
        "NewConnectionError/gaierror -> EndpointConnectionError; ProxyError -> "
        "ProxyConnectionError; ConnectTimeoutError -> ConnectTimeoutError; "
        "ReadTimeoutError -> ReadTimeoutError; ProtocolError -> ConnectionClosedError; "
        "non-streaming bodies are read inside the same try",
        frozenset({"777bb3b743bd1acf", "e9e5027655943f69"}),
    ),
    Pin(
        "botocore.awsrequest:AWSConnection.send",
        "resilient_cloud._botocore.watch.WatchedConnectionMixin",
        "request bytes reach the socket through send() (our override runs first)",
        frozenset({"71dc1fba547f654c"}),
    ),
    Pin(
        "urllib3.connectionpool:HTTPSConnectionPool._validate_conn",
        "resilient_cloud._botocore.watch.WatchedConnectionMixin",
        "an HTTPS connection is connected (TLS handshake included) before its request is written",
        frozenset({"1733e081ae57da06", "32d72a014bcc8b2b"}),
    ),
    Pin(
        "urllib3.connectionpool:HTTPConnectionPool._make_request",
        "resilient_cloud._botocore.watch.WatchedConnectionMixin",
        "_validate_conn (connect) runs before conn.request (writes); handshake "
        "timeouts surface as ReadTimeoutError, resets as ProtocolError",
        frozenset({"34d8501e40be381b", "824d74123561457d", "ae0ef7d9e273685b"}),
    ),
    Pin(
        "urllib3.connection:HTTPConnection.request",
        "resilient_cloud._botocore.watch.WatchedConnectionMixin",
        "headers and body are written through endheaders()/send(), never the socket directly",
        frozenset({"751c8aa0eb50e741"}),
    ),
    # -- the DNS cache's connection seam (resilient_cloud._botocore.dns) -------
    Pin(
        "botocore.httpsession:URLLib3Session.__init__",
        "resilient_cloud._botocore.dns.install_dns_cache",
        "direct requests go through self._manager, a PoolManager whose "
        "pool_classes_by_scheme is the dict self._pool_classes_by_scheme",
        frozenset({"9feaa1cb12588f9a"}),
    ),
    Pin(
        "botocore.httpsession:URLLib3Session._get_proxy_manager",
        "resilient_cloud._botocore.dns.install_dns_cache",
        "proxy managers take self._pool_classes_by_scheme, not _manager's "
        "attribute, so replacing the latter leaves proxied requests alone",
        frozenset({"a4b04a61c23c9e54"}),
    ),
    Pin(
        "botocore.awsrequest:AWSHTTPSConnectionPool",
        "resilient_cloud._botocore.dns.cached_dns_pool",
        "a pool class whose ConnectionCls is AWSHTTPSConnection (same for HTTP)",
        frozenset({"d6a91be403fa7227"}),
    ),
    Pin(
        "urllib3.connection:HTTPConnection._new_conn",
        "resilient_cloud._botocore.dns.CachedDnsConnectionMixin._new_conn",
        "resolves (self._dns_host, self.port) via create_connection with "
        "self.timeout, source_address and socket_options; maps gaierror to "
        "NameResolutionError, timeouts to ConnectTimeoutError, OSError to "
        "NewConnectionError; audits http.client.connect",
        frozenset({"bd1169442b039283", "83e6a5dd7db98a0a"}),
    ),
    Pin(
        "urllib3.util.connection:create_connection",
        "resilient_cloud._botocore.dns.connect_first",
        "tries every getaddrinfo answer in order, raising the last error",
        frozenset({"ebc7b96a8ed79d81"}),
    ),
    Pin(
        "urllib3.util.connection:allowed_gai_family",
        "resilient_cloud._botocore.dns._cached_addresses",
        "returns AF_UNSPEC when the module's HAS_IPV6 is true, else AF_INET, "
        "and nothing else (the hit path inlines it while it is unpatched)",
        frozenset({"6a5b19e439bd6c82"}),
    ),
    Pin(
        "urllib3.connection:HTTPSConnection.connect",
        "resilient_cloud._botocore.dns.CachedDnsConnectionMixin",
        "takes the socket from self._new_conn(), then verifies the "
        "certificate and sends SNI for self.host (not the peer address)",
        frozenset({"c9ad3161e53b3951", "41a09882a79091d2", "7153c05a133dc445", "2a2e1795406d7f38"}),
    ),
)


if __name__ == "__main__":
    import botocore
    import urllib3

    print(f"botocore {botocore.__version__}, urllib3 {urllib3.__version__}")
    for pin in PINS:
        print(f"{digest(pin.target)}  {pin.target}")
