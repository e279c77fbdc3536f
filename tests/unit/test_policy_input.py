"""Bad or unusual input to Policy and wrap gets a clear answer when the object
is built: None switches a field off, every bad field is named."""

from __future__ import annotations

import boto3
import pytest

import resilient_cloud as rc


def test_hooks_and_operation_safety_set_to_none_are_off() -> None:
    policy = rc.Policy(hooks=None, operation_safety=None)
    assert policy.hooks == ()
    assert dict(policy.operation_safety) == {}


def test_a_policy_is_hashable_and_equal_policies_hash_alike() -> None:
    overrides = {"dynamodb.PutItem": "idempotent", "GetActivityTask": rc.Safety.UNSAFE}
    first, second = rc.Policy(operation_safety=overrides), rc.Policy(operation_safety=dict(overrides))
    assert first == second and hash(first) == hash(second)
    assert len({first, second, rc.Policy()}) == 2


def test_operation_safety_is_read_only() -> None:
    policy = rc.Policy(operation_safety={"PutItem": "idempotent"})
    with pytest.raises(TypeError):
        policy.operation_safety["PutItem"] = rc.Safety.UNSAFE  # type: ignore[index]


@pytest.mark.parametrize(
    "key, stored",
    [
        ("dynamodb.put_item", "dynamodb.PutItem"),
        ("dynamodb.PutItem", "dynamodb.PutItem"),
        ("iam.list_mfa_devices", "iam.ListMFADevices"),  # not a plain case change
        ("put_item", "put_item"),  # resolved per client, by its own service
        ("PutItem", "PutItem"),
    ],
)
def test_operation_names_are_accepted_in_both_spellings(key, stored) -> None:
    assert dict(rc.Policy(operation_safety={key: "idempotent"}).operation_safety) == {
        stored: rc.Safety.IDEMPOTENT
    }


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"dynamodb.put_itemz": "unsafe"}, "operation_safety key 'dynamodb.put_itemz' must be an operation of dynamodb"),
        ({"dynamo.PutItem": "unsafe"}, "operation_safety key 'dynamo.PutItem' must be prefixed by a service"),
        ({"put item": "unsafe"}, "operation_safety key must be 'Operation', 'operation_name'"),
        ({"PutItem": "idempotent", "put_item": "unsafe"}, "operation_safety['put_item'] must be given once (it is also 'PutItem')"),
        ({"dynamodb.PutItem": "idempotent", "dynamodb.put_item": "unsafe"}, "must be given once"),
        ({"PutItem": "sometimes"}, "operation_safety['PutItem'] must be one of"),
    ],
)
def test_bad_operation_safety_is_refused_naming_the_key(overrides, message) -> None:
    with pytest.raises(ValueError) as caught:
        rc.Policy(operation_safety=overrides)
    assert message in str(caught.value)


def test_a_snake_case_override_applies_to_the_clients_operation() -> None:
    policy = rc.Policy(operation_safety={"put_item": "idempotent", "dynamodb.update_item": "read-only"})
    client = rc.wrap(boto3.client("dynamodb", region_name="us-east-1"), policy=policy)
    runtime = client._resilient_cloud_runtime
    assert runtime._operation("PutItem").safety is rc.Safety.IDEMPOTENT
    assert runtime._operation("UpdateItem").safety is rc.Safety.READ_ONLY
    assert runtime._operation("DeleteItem").safety is rc.Safety.UNSAFE
    # An unqualified name another service lacks applies nowhere there.
    sqs = rc.wrap(boto3.client("sqs", region_name="us-east-1"), policy=policy)
    assert sqs._resilient_cloud_runtime._operation("SendMessage").safety is rc.Safety.UNSAFE


def test_wrap_takes_fallback_regions_none_as_no_fallback() -> None:
    client = rc.wrap(boto3.client("dynamodb", region_name="us-east-1"), fallback_regions=None)
    assert client._resilient_cloud_runtime.fallback_regions == ()
    session = rc.Session(region_name="us-east-1")
    assert session.client("dynamodb", fallback_regions=None)._resilient_cloud_runtime.fallback_regions == ()


def test_wrap_refuses_fallback_regions_that_are_not_a_sequence() -> None:
    with pytest.raises(TypeError, match="fallback_regions must be a sequence of region names, not int"):
        rc.wrap(boto3.client("dynamodb", region_name="us-east-1"), fallback_regions=3)  # type: ignore[arg-type]
