"""What each operation may repeat: read-only, idempotent or unsafe.

Service models carry no read-only trait (every DynamoDB operation is a POST),
so the answer is layered, first match wins:

1. the user's override for ``"service.Operation"`` or ``"Operation"``;
2. a curated table for common services (below);
3. for REST protocols, the HTTP method: GET/HEAD read, PUT/DELETE idempotent;
4. a conservative name rule: Get*, List*, Describe*, Head*, BatchGet*, Query*,
   Scan*, TransactGet* read;
5. an ``idempotencyToken`` member makes the operation idempotent (the same
   token is sent on every attempt, so the service deduplicates);
6. anything else is unsafe.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Safety(enum.Enum):
    """How safe an operation is to send more than once."""

    #: Changes nothing: may be retried after any failure and served by a
    #: fallback region.
    READ_ONLY = "read-only"
    #: Changes state, but sending it twice leaves the same state as once.
    IDEMPOTENT = "idempotent"
    #: Sending it twice may apply it twice: retried only when the request
    #: certainly never reached the service, unless the policy opts in.
    UNSAFE = "unsafe"

    @property
    def may_repeat(self) -> bool:
        return self is not Safety.UNSAFE


_READ = Safety.READ_ONLY
_IDEMPOTENT = Safety.IDEMPOTENT
_UNSAFE = Safety.UNSAFE

# Operations the method and name rules get wrong. Keys are botocore service
# names. Writes that are only idempotent without a condition (PutItem,
# DeleteItem with ConditionExpression, SQS SendMessage) stay unsafe by rule 6.
CURATED: Mapping[str, Mapping[str, Safety]] = {
    "dynamodb": {
        "ExecuteStatement": _UNSAFE,  # PartiQL: may be an INSERT or UPDATE
        "BatchExecuteStatement": _UNSAFE,
    },
    "s3": {
        # POSTs that do not create a new resource per call.
        "SelectObjectContent": _READ,
        "DeleteObjects": _IDEMPOTENT,
        "CompleteMultipartUpload": _IDEMPOTENT,
        "RestoreObject": _IDEMPOTENT,
    },
    "sqs": {
        "GetQueueUrl": _READ,
        # Receiving again only delays redelivery; SQS is at-least-once.
        "ReceiveMessage": _IDEMPOTENT,
        "DeleteMessage": _IDEMPOTENT,
        "DeleteMessageBatch": _IDEMPOTENT,
        "ChangeMessageVisibility": _IDEMPOTENT,
        "ChangeMessageVisibilityBatch": _IDEMPOTENT,
    },
    "sns": {"Publish": _UNSAFE, "PublishBatch": _UNSAFE},
    "sts": {
        # New credentials each time, no state a second call would corrupt.
        "AssumeRole": _IDEMPOTENT,
        "AssumeRoleWithWebIdentity": _IDEMPOTENT,
        "AssumeRoleWithSAML": _IDEMPOTENT,
        "GetCallerIdentity": _READ,
        "GetSessionToken": _IDEMPOTENT,
        "GetFederationToken": _IDEMPOTENT,
    },
    "lambda": {"Invoke": _UNSAFE, "InvokeWithResponseStream": _UNSAFE},
    "secretsmanager": {"GetRandomPassword": _READ},
    "ssm": {"PutParameter": _UNSAFE},
    "kms": {
        # Cryptographic operations change no state.
        "Encrypt": _READ,
        "Decrypt": _READ,
        "ReEncrypt": _READ,
        "GenerateDataKey": _READ,
        "GenerateDataKeyWithoutPlaintext": _READ,
        "GenerateDataKeyPair": _READ,
        "GenerateDataKeyPairWithoutPlaintext": _READ,
        "GenerateRandom": _READ,
        "GenerateMac": _READ,
        "VerifyMac": _READ,
        "Sign": _READ,
        "Verify": _READ,
    },
}

READ_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Head",
    "BatchGet",
    "Query",
    "Scan",
    "TransactGet",
)

_REST_PROTOCOLS = frozenset({"rest-json", "rest-xml"})
_METHOD_SAFETY = {
    "GET": _READ,
    "HEAD": _READ,
    "PUT": _IDEMPOTENT,
    "DELETE": _IDEMPOTENT,
}


@dataclass(frozen=True, slots=True)
class OperationFacts:
    """What the service model says about one operation (no botocore types)."""

    service: str
    operation: str
    protocol: str
    http_method: str
    has_idempotency_token: bool


def classify(
    facts: OperationFacts, overrides: Mapping[str, Safety] | None = None
) -> Safety:
    """Return how safe ``facts.operation`` is to repeat (rules in the module doc)."""
    if overrides:
        qualified = f"{facts.service}.{facts.operation}"
        if qualified in overrides:
            return overrides[qualified]
        if facts.operation in overrides:
            return overrides[facts.operation]
    curated = CURATED.get(facts.service, {}).get(facts.operation)
    if curated is not None:
        return curated
    if facts.protocol in _REST_PROTOCOLS:
        by_method = _METHOD_SAFETY.get(facts.http_method.upper())
        if by_method is not None:
            return by_method
    if facts.operation.startswith(READ_PREFIXES):
        return _READ
    if facts.has_idempotency_token:
        return _IDEMPOTENT
    return _UNSAFE
