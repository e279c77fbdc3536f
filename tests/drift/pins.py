"""The botocore internals resilient_cloud relies on, and their accepted digests.

Each entry names an upstream function or class, the module of ours that
depends on it, and what to re-check when its source changes. A digest is the
SHA-256 of ``inspect.getsource`` (first 16 hex digits).

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
        "unique_id retry-config-<service-id>",
        frozenset({"0fa7eeb1e0c44224", "e2c249c4d2257b99", "e568f5b2d10b75fc"}),
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
        frozenset({"9621767a04c7931a", "fe754d0d1a058691"}),
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
        "is_throttling_error_from_context(context)",
        frozenset({"6dbb09c2bbb17b08", "fa8c24507ba98d23"}),
    ),
    Pin(
        "botocore.retries.standard:ModeledRetryableChecker",
        "resilient_cloud._outcome.classify",
        "is_retryable(context) from the model's retryable trait",
        frozenset({"fe67bedf003eb201"}),
    ),
    Pin(
        "botocore.handlers:generate_idempotent_uuid",
        "resilient_cloud._driver._params_for_every_attempt",
        "fills an absent idempotencyToken member in place with str(uuid4())",
        frozenset({"8a2ce69c34c1235b"}),
    ),
)


if __name__ == "__main__":
    import botocore

    print(f"botocore {botocore.__version__}")
    for pin in PINS:
        print(f"{digest(pin.target)}  {pin.target}")
