"""What each operation may repeat: read-only, idempotent or unsafe.

Service models carry no read-only trait (every DynamoDB operation is a POST),
so the answer is layered, first match wins. Each layer is a named rule, and
:func:`classify_with_rule` says which one decided, so the checked-in table of
every botocore operation (``python -m resilient_cloud._safety_table``) shows a
rule change as a diff to review:

1. ``override``: the user's override for ``"service.Operation"`` or ``"Operation"``;
2. ``curated``: the table below (common services, and operations the rules
   get wrong: dequeues and long polls named like reads, PUTs that create);
3. ``rest-method:GET``, ``rest-method:HEAD``: REST reads;
   ``rest-method:DELETE``: idempotent;
4. ``rest-put-name``: a REST PUT named Put*, Update*, Delete*, Tag*, Untag* or
   Set* is idempotent (it replaces state at a name the caller chose);
5. ``name-prefix:<prefix>``: Get*, List*, Describe*, Head*, BatchGet*, Query*,
   Scan*, TransactGet* read;
6. ``idempotency-token``: an ``idempotencyToken`` member makes the operation
   idempotent (the same token is sent on every attempt, so the service
   deduplicates);
7. ``rest-put-other``: any other REST PUT is unsafe: many create a new
   resource per call (``lexv2-models.CreateBotVersion``,
   ``codecatalyst.CreateAccessToken``);
8. ``default-unsafe``: anything else.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class Safety(enum.Enum):
    """How safe an operation is to send more than once."""

    #: Changes nothing: may be retried after any failure, hedged and served
    #: by a fallback region.
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


@dataclass(frozen=True, slots=True)
class Curated:
    """A hand-made answer for one operation, and why the rules were not enough."""

    safety: Safety
    why: str


_DEQUEUE = (
    "dequeue (long poll): a repeat after a lost answer takes a second task, and the first "
    "is held by nobody until it times out"
)
_HANDED_OUT = (
    "hands each job to one poller: a repeat after a lost answer leaves the job with nobody "
    "until it times out"
)
_NEW_CREDENTIALS = "new credentials each time, no state a second call would corrupt"
_NO_STATE = "cryptographic operations change no state"

# Keys are botocore service names. Writes that are only idempotent with a
# condition (PutItem, DeleteItem with ConditionExpression, SQS SendMessage)
# stay unsafe by the default rule.
CURATED: Mapping[str, Mapping[str, Curated]] = {
    "dynamodb": {
        "ExecuteStatement": Curated(_UNSAFE, "PartiQL: may be an INSERT or UPDATE"),
        "BatchExecuteStatement": Curated(_UNSAFE, "PartiQL: may be an INSERT or UPDATE"),
    },
    "s3": {
        "SelectObjectContent": Curated(_READ, "a POST that only reads an object"),
        "DeleteObjects": Curated(_IDEMPOTENT, "a POST; deleting again leaves the keys deleted"),
        "CompleteMultipartUpload": Curated(_IDEMPOTENT, "a POST; completes the same upload ID"),
        "RestoreObject": Curated(_IDEMPOTENT, "a POST; restoring again extends the same copy"),
        # PUTs not named Put*: each writes at a key the caller chose.
        "UploadPart": Curated(_IDEMPOTENT, "a PUT of the same part number replaces the part"),
        "UploadPartCopy": Curated(_IDEMPOTENT, "a PUT of the same part number replaces the part"),
        "CopyObject": Curated(_IDEMPOTENT, "a PUT to the destination key, like PutObject"),
        "CreateBucket": Curated(_IDEMPOTENT, "a PUT of a bucket name; again: BucketAlreadyOwnedByYou"),
    },
    "sqs": {
        "GetQueueUrl": Curated(_READ, "a lookup"),
        # Not idempotent: each receive hides the messages it returns for the
        # visibility timeout and counts against the redrive policy's
        # maxReceiveCount, so a repeat after a lost answer delays them and can
        # move them to the dead-letter queue unprocessed (and blocks a FIFO
        # message group). Consumers poll in a loop: the next poll is the retry.
        "ReceiveMessage": Curated(
            _UNSAFE,
            "dequeue: a repeat hides the lost answer's messages and counts a receive; "
            "override as idempotent when sending ReceiveRequestAttemptId (FIFO)",
        ),
        "DeleteMessage": Curated(_IDEMPOTENT, "deletes by receipt handle"),
        "DeleteMessageBatch": Curated(_IDEMPOTENT, "deletes by receipt handle"),
        "ChangeMessageVisibility": Curated(_IDEMPOTENT, "sets the timeout by receipt handle"),
        "ChangeMessageVisibilityBatch": Curated(_IDEMPOTENT, "sets the timeout by receipt handle"),
    },
    "sns": {
        "Publish": Curated(_UNSAFE, "each call delivers a message"),
        "PublishBatch": Curated(_UNSAFE, "each call delivers messages"),
    },
    "sts": {
        "AssumeRole": Curated(_IDEMPOTENT, _NEW_CREDENTIALS),
        "AssumeRoleWithWebIdentity": Curated(_IDEMPOTENT, _NEW_CREDENTIALS),
        "AssumeRoleWithSAML": Curated(_IDEMPOTENT, _NEW_CREDENTIALS),
        "GetCallerIdentity": Curated(_READ, "a lookup"),
        "GetSessionToken": Curated(_IDEMPOTENT, _NEW_CREDENTIALS),
        "GetFederationToken": Curated(_IDEMPOTENT, _NEW_CREDENTIALS),
    },
    "lambda": {
        "Invoke": Curated(_UNSAFE, "runs the function again"),
        "InvokeWithResponseStream": Curated(_UNSAFE, "runs the function again"),
    },
    "secretsmanager": {"GetRandomPassword": Curated(_READ, "generates, stores nothing")},
    "ssm": {"PutParameter": Curated(_UNSAFE, "each write makes a new parameter version")},
    "kms": {
        name: Curated(_READ, _NO_STATE)
        for name in (
            "Encrypt",
            "Decrypt",
            "ReEncrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "GenerateRandom",
            "GenerateMac",
            "VerifyMac",
            "Sign",
            "Verify",
        )
    },
    # Dequeues, long polls and claims: never hedged, retried only when the
    # request certainly never arrived.
    "stepfunctions": {"GetActivityTask": Curated(_UNSAFE, _DEQUEUE)},
    "swf": {
        "PollForActivityTask": Curated(_UNSAFE, _DEQUEUE),
        "PollForDecisionTask": Curated(_UNSAFE, _DEQUEUE),
    },
    "datapipeline": {"PollForTask": Curated(_UNSAFE, _DEQUEUE)},
    "codepipeline": {
        "PollForJobs": Curated(_UNSAFE, _HANDED_OUT),
        "PollForThirdPartyJobs": Curated(_UNSAFE, _HANDED_OUT),
    },
    "iot-jobs-data": {
        "StartNextPendingJobExecution": Curated(
            _UNSAFE, "moves the next queued job execution to IN_PROGRESS for this caller"
        ),
    },
    "gamelift": {"ClaimGameServer": Curated(_UNSAFE, "reserves a game server for the caller")},
    "appconfigdata": {
        "GetLatestConfiguration": Curated(
            _UNSAFE, "each configuration token is valid for one call: a repeat fails or forks the poll"
        ),
    },
    # Named like reads, but they change state.
    "cognito-idp": {
        "GetTokensFromRefreshToken": Curated(
            _UNSAFE, "with rotation, invalidates the refresh token it was sent"
        ),
        "GetUserAttributeVerificationCode": Curated(
            _UNSAFE, "sends a new code by SMS or email each call"
        ),
    },
    "cognito-identity": {
        "GetId": Curated(_UNSAFE, "without logins, creates a new identity each call"),
    },
    "evs": {
        "GetDepotUrl": Curated(
            _IDEMPOTENT, "rotate=true revokes the last URL: a hedge could return the revoked one"
        ),
    },
    "iot": {
        "ConfirmTopicRuleDestination": Curated(
            _IDEMPOTENT, "a GET that confirms a destination; confirming again changes nothing more"
        ),
    },
    # Named Put*/Update* (PUT), yet each call adds a new record or version.
    "bedrock-agent-runtime": {
        "PutInvocationStep": Curated(_UNSAFE, "adds a new step each call unless its ID is sent"),
    },
    "quicksight": {
        "UpdateDashboard": Curated(_UNSAFE, "each update creates a new dashboard version"),
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

# A REST PUT with one of these names replaces state at a name the caller chose.
# Other PUTs (Create*, Start*, Send*...) may make a new resource per call.
IDEMPOTENT_PUT_PREFIXES = ("Put", "Update", "Delete", "Tag", "Untag", "Set")

_REST_PROTOCOLS = frozenset({"rest-json", "rest-xml"})
_METHOD_SAFETY = {"GET": _READ, "HEAD": _READ, "DELETE": _IDEMPOTENT}


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
    return classify_with_rule(facts, overrides)[0]


def classify_with_rule(
    facts: OperationFacts, overrides: Mapping[str, Safety] | None = None
) -> tuple[Safety, str]:
    """Return how safe ``facts.operation`` is to repeat, and the rule that decided."""
    if overrides:
        for key in (f"{facts.service}.{facts.operation}", facts.operation):
            if key in overrides:
                return overrides[key], "override"
    curated = CURATED.get(facts.service, {}).get(facts.operation)
    if curated is not None:
        return curated.safety, "curated"
    rest_method = facts.http_method.upper() if facts.protocol in _REST_PROTOCOLS else None
    if rest_method in _METHOD_SAFETY:
        return _METHOD_SAFETY[rest_method], f"rest-method:{rest_method}"
    if rest_method == "PUT" and facts.operation.startswith(IDEMPOTENT_PUT_PREFIXES):
        return _IDEMPOTENT, "rest-put-name"
    for prefix in READ_PREFIXES:
        if facts.operation.startswith(prefix):
            return _READ, f"name-prefix:{prefix}"
    if facts.has_idempotency_token:
        return _IDEMPOTENT, "idempotency-token"
    if rest_method == "PUT":
        return _UNSAFE, "rest-put-other"
    return _UNSAFE, "default-unsafe"
