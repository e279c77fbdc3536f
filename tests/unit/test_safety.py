"""Operation safety rules, on real service models."""

from __future__ import annotations

import botocore.session
import pytest

from resilient_cloud import Safety
from resilient_cloud._botocore.operations import describe

SESSION = botocore.session.get_session()


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
        ("sqs", "ReceiveMessage", Safety.IDEMPOTENT),
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
