"""DynamoDB's x-amz-crc32 body check on aiobotocore responses, whose
``content`` is a coroutine: the check reads the body the response kept."""

from __future__ import annotations

import warnings
import zlib
from typing import Any

import pytest
from botocore.exceptions import ChecksumError

from resilient_cloud._integrity import check_response
from resilient_cloud._outcome import Exchange

aiobotocore_awsrequest = pytest.importorskip("aiobotocore.awsrequest")
pytest.importorskip("botocore.session")

import botocore.session  # noqa: E402

URL = "http://dynamodb.us-east-1.amazonaws.com/"
GET_ITEM = botocore.session.get_session().get_service_model("dynamodb").operation_model("GetItem")
BODY = b'{"Item": {"pk": {"S": "1"}}}'


def _aio_response(body: bytes | None, crc32: int | None) -> Any:
    headers = {} if crc32 is None else {"x-amz-crc32": str(crc32)}
    response = aiobotocore_awsrequest.AioAWSResponse(URL, 200, headers, raw=None)
    response._content = body  # what aiobotocore keeps once it read the body to parse it
    return response


@pytest.mark.parametrize(
    ("body", "crc32", "fails"),
    [
        (BODY, zlib.crc32(BODY), False),
        (BODY, zlib.crc32(BODY) + 1, True),
        (BODY, None, False),
        (None, 1, False),  # a body never read is not checked
    ],
    ids=["matching", "mismatch", "no-header", "unread"],
)
def test_aiobotocore_bodies_are_checked_from_what_was_read(body, crc32, fails) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no coroutine left un-awaited
        error = check_response(Exchange(_aio_response(body, crc32), {}), GET_ITEM)
    assert isinstance(error, ChecksumError) if fails else error is None
