"""Facts about an operation, read from botocore's service model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from resilient_cloud._call import Operation
from resilient_cloud._safety import OperationFacts, Safety, classify


def describe(
    service_model: Any, operation_name: str, overrides: Mapping[str, Safety]
) -> Operation:
    model = service_model.operation_model(operation_name)
    return Operation(
        name=operation_name,
        model=model,
        safety=classify(operation_facts(model), overrides),
        idempotency_token_members=idempotency_token_members(model),
    )


def operation_facts(model: Any) -> OperationFacts:
    """What the safety rules read from one botocore ``OperationModel`` (the
    client's calls and the operation-safety table both come through here)."""
    service_model = model.service_model
    return OperationFacts(
        service=service_model.service_name,
        operation=model.name,
        protocol=service_model.protocol,
        http_method=model.http.get("method", "POST"),
        has_idempotency_token=bool(idempotency_token_members(model)),
    )


def idempotency_token_members(model: Any) -> tuple[str, ...]:
    """Input members the model marks ``idempotencyToken`` (botocore fills them)."""
    input_shape = model.input_shape
    members = input_shape.members if input_shape is not None else {}
    return tuple(
        name for name, shape in members.items() if shape.metadata.get("idempotencyToken")
    )
