"""Operation safety rules, on real service models."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import botocore.session
import pytest

from resilient_cloud import Safety
from resilient_cloud._botocore.operations import describe, operation_facts
from resilient_cloud._safety import (
    CURATED,
    IDEMPOTENT_PUT_PREFIXES,
    READ_PREFIXES,
    OperationFacts,
    classify,
    classify_with_rule,
)
from resilient_cloud._safety_table import parse

SESSION = botocore.session.get_session()
TABLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "operation_safety.tsv"


def safety_of(service: str, operation: str, overrides=None) -> Safety:
    model = SESSION.get_service_model(service)
    return describe(model, operation, overrides or {}).safety


@pytest.mark.parametrize(
    ("service", "operation", "expected"),
    [
        ("dynamodb", "GetItem", Safety.READ_ONLY),
        ("dynamodb", "Query", Safety.READ_ONLY),
        ("dynamodb", "Scan", Safety.READ_ONLY),
        ("dynamodb", "BatchGetItem", Safety.READ_ONLY),
        ("dynamodb", "TransactGetItems", Safety.READ_ONLY),
        ("dynamodb", "DescribeTable", Safety.READ_ONLY),
        ("dynamodb", "PutItem", Safety.UNSAFE),
        ("dynamodb", "UpdateItem", Safety.UNSAFE),
        ("dynamodb", "DeleteItem", Safety.UNSAFE),
        ("dynamodb", "BatchWriteItem", Safety.UNSAFE),
        ("dynamodb", "ExecuteStatement", Safety.UNSAFE),
        # ClientRequestToken is an idempotencyToken member.
        ("dynamodb", "TransactWriteItems", Safety.IDEMPOTENT),
        ("s3", "GetObject", Safety.READ_ONLY),
        ("s3", "HeadObject", Safety.READ_ONLY),
        ("s3", "PutObject", Safety.IDEMPOTENT),
        ("s3", "DeleteObject", Safety.IDEMPOTENT),
        ("s3", "SelectObjectContent", Safety.READ_ONLY),
        ("s3", "CreateMultipartUpload", Safety.UNSAFE),
        ("sqs", "SendMessage", Safety.UNSAFE),
        ("sqs", "ReceiveMessage", Safety.UNSAFE),
        ("stepfunctions", "GetActivityTask", Safety.UNSAFE),
        ("lexv2-models", "CreateBotVersion", Safety.UNSAFE),
        ("sqs", "GetQueueUrl", Safety.READ_ONLY),
        ("sns", "Publish", Safety.UNSAFE),
        ("sts", "GetCallerIdentity", Safety.READ_ONLY),
        ("lambda", "Invoke", Safety.UNSAFE),
        ("lambda", "GetFunction", Safety.READ_ONLY),
        ("secretsmanager", "GetSecretValue", Safety.READ_ONLY),
        ("secretsmanager", "PutSecretValue", Safety.IDEMPOTENT),
        ("ssm", "PutParameter", Safety.UNSAFE),
        ("kms", "Decrypt", Safety.READ_ONLY),
        ("kms", "CreateKey", Safety.UNSAFE),
    ],
)
def test_classification(service: str, operation: str, expected: Safety) -> None:
    assert safety_of(service, operation) is expected


def test_qualified_override_beats_bare_override_beats_rules() -> None:
    overrides = {"PutItem": Safety.IDEMPOTENT, "dynamodb.PutItem": Safety.READ_ONLY}
    assert safety_of("dynamodb", "PutItem", overrides) is Safety.READ_ONLY
    assert safety_of("dynamodb", "PutItem", {"PutItem": Safety.IDEMPOTENT}) is Safety.IDEMPOTENT
    assert safety_of("dynamodb", "GetItem", {"GetItem": Safety.UNSAFE}) is Safety.UNSAFE


def test_idempotency_token_members_are_found() -> None:
    model = SESSION.get_service_model("dynamodb")
    assert describe(model, "TransactWriteItems", {}).idempotency_token_members == (
        "ClientRequestToken",
    )
    assert describe(model, "GetItem", {}).idempotency_token_members == ()


# -- issue 12, item 4: operations the name and method rules got wrong -------


def rule_of(service: str, operation: str) -> tuple[Safety, str]:
    model = SESSION.get_service_model(service).operation_model(operation)
    return classify_with_rule(operation_facts(model))


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        # Long-poll dequeues: a repeat after a lost answer loses a task.
        ("stepfunctions", "GetActivityTask"),
        ("swf", "PollForActivityTask"),
        ("swf", "PollForDecisionTask"),
        ("datapipeline", "PollForTask"),
        ("codepipeline", "PollForJobs"),
        ("codepipeline", "PollForThirdPartyJobs"),
        ("iot-jobs-data", "StartNextPendingJobExecution"),
        ("sqs", "ReceiveMessage"),
        ("appconfigdata", "GetLatestConfiguration"),
        # Named like reads, but they change state.
        ("cognito-idp", "GetTokensFromRefreshToken"),
        ("cognito-identity", "GetId"),
    ],
)
def test_dequeues_and_state_changing_reads_are_curated_unsafe(service: str, operation: str) -> None:
    assert rule_of(service, operation) == (Safety.UNSAFE, "curated")


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("lexv2-models", "CreateBotVersion"),
        ("connect", "CreateContactFlowVersion"),
        ("codecatalyst", "CreateAccessToken"),
    ],
)
def test_a_rest_put_that_creates_is_unsafe(service: str, operation: str) -> None:
    assert SESSION.get_service_model(service).operation_model(operation).http["method"] == "PUT"
    assert rule_of(service, operation) == (Safety.UNSAFE, "rest-put-other")
    assert safety_of(service, operation) is Safety.UNSAFE


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("lambda", "PutFunctionConcurrency"),
        ("backup", "UpdateFramework"),
        ("clouddirectory", "DeleteDirectory"),
        ("apigateway", "TagResource"),
        ("mediaconvert", "UntagResource"),
        ("glacier", "SetVaultAccessPolicy"),
    ],
)
def test_a_rest_put_named_put_update_delete_tag_untag_set_stays_idempotent(
    service: str, operation: str
) -> None:
    assert rule_of(service, operation) == (Safety.IDEMPOTENT, "rest-put-name")


@pytest.mark.parametrize("operation", ["UploadPart", "UploadPartCopy", "CopyObject", "CreateBucket"])
def test_s3_puts_not_named_put_are_curated_idempotent(operation: str) -> None:
    assert rule_of("s3", operation) == (Safety.IDEMPOTENT, "curated")


def test_a_put_that_creates_with_an_idempotency_token_is_idempotent() -> None:
    assert rule_of("backup", "StartBackupJob") == (Safety.IDEMPOTENT, "idempotency-token")


def test_every_curated_entry_names_a_real_operation_and_says_why() -> None:
    # Against the checked-in table, not the installed botocore: an older
    # botocore lacks newer operations (1.43.3 has no evs.GetDepotUrl).
    _, rows = parse(TABLE.read_text())
    recorded = {(row.service, row.operation) for row in rows}
    for service, entries in CURATED.items():
        for operation, curated in entries.items():
            assert (service, operation) in recorded, f"{service}.{operation}"
            assert isinstance(curated.safety, Safety)
            assert curated.why.strip(), f"{service}.{operation} needs a reason"


# -- the rules, on plain facts ----------------------------------------------


def facts(
    operation: str,
    method: str = "POST",
    *,
    protocol: str = "rest-json",
    token: bool = False,
    service: str = "example",
) -> OperationFacts:
    return OperationFacts(service, operation, protocol, method, token)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (facts("FetchThing", "GET"), (Safety.READ_ONLY, "rest-method:GET")),
        (facts("FetchThing", "get"), (Safety.READ_ONLY, "rest-method:GET")),
        (facts("ProbeThing", "HEAD"), (Safety.READ_ONLY, "rest-method:HEAD")),
        (facts("RemoveThing", "DELETE"), (Safety.IDEMPOTENT, "rest-method:DELETE")),
        (facts("RemoveThing", "DELETE", protocol="rest-xml"), (Safety.IDEMPOTENT, "rest-method:DELETE")),
        (facts("PutThing", "PUT"), (Safety.IDEMPOTENT, "rest-put-name")),
        (facts("PutThing", "put", protocol="rest-xml"), (Safety.IDEMPOTENT, "rest-put-name")),
        (facts("UpdateThing", "PUT"), (Safety.IDEMPOTENT, "rest-put-name")),
        (facts("DeleteThing", "PUT"), (Safety.IDEMPOTENT, "rest-put-name")),
        (facts("TagThing", "PUT"), (Safety.IDEMPOTENT, "rest-put-name")),
        (facts("UntagThing", "PUT"), (Safety.IDEMPOTENT, "rest-put-name")),
        (facts("SetThing", "PUT"), (Safety.IDEMPOTENT, "rest-put-name")),
        (facts("CreateThingVersion", "PUT"), (Safety.UNSAFE, "rest-put-other")),
        (facts("StartThing", "PUT"), (Safety.UNSAFE, "rest-put-other")),
        (facts("CreateThing", "PUT", token=True), (Safety.IDEMPOTENT, "idempotency-token")),
        # The PUT name rule is for REST PUTs only.
        (facts("PutThing", "POST"), (Safety.UNSAFE, "default-unsafe")),
        (facts("PutThing", "PUT", protocol="json"), (Safety.UNSAFE, "default-unsafe")),
        (facts("CreateThing", "PUT", protocol="json"), (Safety.UNSAFE, "default-unsafe")),
        # The method rules are for REST protocols only (every json/query call is a POST).
        (facts("FetchThing", "GET", protocol="json"), (Safety.UNSAFE, "default-unsafe")),
        (facts("RemoveThing", "DELETE", protocol="query"), (Safety.UNSAFE, "default-unsafe")),
        (facts("GetThing", protocol="json"), (Safety.READ_ONLY, "name-prefix:Get")),
        (facts("CreateThing", protocol="json", token=True), (Safety.IDEMPOTENT, "idempotency-token")),
        # A read name wins over a token.
        (facts("GetThing", token=True), (Safety.READ_ONLY, "name-prefix:Get")),
        (facts("CreateThing"), (Safety.UNSAFE, "default-unsafe")),
    ],
)
def test_rules_in_order(given: OperationFacts, expected: tuple[Safety, str]) -> None:
    assert classify_with_rule(given) == expected
    assert classify(given) is expected[0]


# Spelled out, not read from READ_PREFIXES: a prefix dropped by mistake must fail here
# (no botocore operation is read by the Head prefix alone: REST HEADs are read by method).
@pytest.mark.parametrize(
    "prefix", ["Get", "List", "Describe", "Head", "BatchGet", "Query", "Scan", "TransactGet"]
)
def test_each_read_prefix_names_itself(prefix: str) -> None:
    assert classify_with_rule(facts(prefix + "Thing")) == (Safety.READ_ONLY, f"name-prefix:{prefix}")
    assert classify_with_rule(facts(prefix + "Thing", protocol="json")) == (
        Safety.READ_ONLY,
        f"name-prefix:{prefix}",
    )


def test_only_those_names_read() -> None:
    assert READ_PREFIXES == ("Get", "List", "Describe", "Head", "BatchGet", "Query", "Scan", "TransactGet")
    for name in ("Fetch", "Search", "Poll", "Receive", "Count"):
        assert classify_with_rule(facts(name + "Thing")) == (Safety.UNSAFE, "default-unsafe")


def test_the_put_names_trusted_are_exactly_these() -> None:
    assert IDEMPOTENT_PUT_PREFIXES == ("Put", "Update", "Delete", "Tag", "Untag", "Set")


def test_curated_beats_method_and_override_beats_curated() -> None:
    poll = facts("GetLatestConfiguration", "GET", service="appconfigdata")
    assert classify_with_rule(poll) == (Safety.UNSAFE, "curated")
    assert classify_with_rule(poll, {}) == (Safety.UNSAFE, "curated")
    assert classify_with_rule(poll, {"GetLatestConfiguration": Safety.READ_ONLY}) == (
        Safety.READ_ONLY,
        "override",
    )
    assert classify_with_rule(
        poll,
        {"appconfigdata.GetLatestConfiguration": Safety.IDEMPOTENT, "GetLatestConfiguration": Safety.READ_ONLY},
    ) == (Safety.IDEMPOTENT, "override")
    # An override for another service's operation of the same name does not apply.
    assert classify_with_rule(poll, {"sqs.GetLatestConfiguration": Safety.READ_ONLY}) == (
        Safety.UNSAFE,
        "curated",
    )


def test_curated_entries_are_per_service() -> None:
    # "GetActivityTask" is curated for stepfunctions only.
    assert classify_with_rule(facts("GetActivityTask", protocol="json", service="stepfunctions")) == (
        Safety.UNSAFE,
        "curated",
    )
    assert classify_with_rule(facts("GetActivityTask", protocol="json")) == (
        Safety.READ_ONLY,
        "name-prefix:Get",
    )


def test_may_repeat() -> None:
    assert Safety.READ_ONLY.may_repeat and Safety.IDEMPOTENT.may_repeat
    assert not Safety.UNSAFE.may_repeat


def test_facts_and_curated_entries_are_frozen_and_slotted() -> None:
    for value in (facts("GetThing"), CURATED["sqs"]["ReceiveMessage"]):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, dataclasses.fields(value)[0].name, "changed")
        assert not hasattr(value, "__dict__")
