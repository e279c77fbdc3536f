"""Canned service answers, shaped as the real services send them."""

from __future__ import annotations

import json

from resilient_cloud.testing import Reply

_DDB = "com.amazonaws.dynamodb.v20120810#"


def ddb_error(code: str, status: int) -> Reply:
    body = json.dumps({"__type": _DDB + code, "message": f"injected {code}"}).encode()
    return Reply(status, body, {"Content-Type": "application/x-amz-json-1.0"})


DDB_500 = ddb_error("InternalServerError", 500)
DDB_THROTTLE = ddb_error("ProvisionedThroughputExceededException", 400)
DDB_VALIDATION = ddb_error("ValidationException", 400)
DDB_ITEM = Reply(200, json.dumps({"Item": {"pk": {"S": "1"}}}).encode())
DDB_EMPTY = Reply(200, b"{}")
