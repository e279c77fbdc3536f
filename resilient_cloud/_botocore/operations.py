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
    input_shape = model.input_shape
    members = input_shape.members if input_shape is not None else {}
    tokens = tuple(
        name for name, shape in members.items() if shape.metadata.get("idempotencyToken")
    )
    facts = OperationFacts(
        service=service_model.service_name,
        operation=operation_name,
        protocol=service_model.protocol,
        http_method=model.http.get("method", "POST"),
        has_idempotency_token=bool(tokens),
    )
    return Operation(
        name=operation_name,
        model=model,
        safety=classify(facts, overrides),
        idempotency_token_members=tokens,
    )
