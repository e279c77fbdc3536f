"""botocore's own data the simulated clients use, loaded once per process."""

from __future__ import annotations

import functools
from typing import Any

import botocore.loaders
import botocore.session

from resilient_cloud._botocore import operations
from resilient_cloud._call import Operation


@functools.lru_cache(maxsize=1)
def dynamodb_operation() -> Operation:
    """DynamoDB ``GetItem`` as resilient_cloud describes it (a read)."""
    model = botocore.session.get_session().get_service_model("dynamodb")
    return operations.describe(model, "GetItem", {})


@functools.lru_cache(maxsize=1)
def retry_data() -> dict[str, Any]:
    """botocore's ``_retry.json``, which its legacy retry handlers are built from."""
    data: dict[str, Any] = botocore.loaders.create_loader().load_data("_retry")
    return data
