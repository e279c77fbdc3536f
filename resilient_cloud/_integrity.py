"""The checks botocore's retry handlers make on successful responses.

botocore checks DynamoDB's ``x-amz-crc32`` body checksum inside its retry
handler (``crc32body`` policies in ``_retry.json`` for legacy mode,
``RetryDDBChecksumError`` for standard mode), which managed clients have
unregistered. We keep every such check: a 200 whose body fails it raises
botocore's own ``ChecksumError`` (what legacy botocore raises once its
attempts are spent), and the pipeline treats that as a failed attempt that
may have been applied: reads retry, unsafe writes stop.

aiobotocore's responses are read through ``_outcome.readable``: the body
aiobotocore has read and kept; a body never read (a streamed one) is not
checked, as botocore's checker would read it only for the operations
``_retry.json`` names, whose bodies are not streamed.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.loaders
import botocore.translate
from botocore.exceptions import ChecksumError
from botocore.retryhandler import CRC32Checker

from resilient_cloud._outcome import Exchange, readable


@functools.lru_cache(maxsize=1)
def _retry_data() -> dict[str, Any]:
    # Only reads the bundled _retry.json; cached for the process.
    data: dict[str, Any] = botocore.loaders.create_loader().load_data("_retry")
    return data


@functools.lru_cache(maxsize=512)
def body_checks(endpoint_prefix: str, operation: str) -> tuple[CRC32Checker, ...]:
    """botocore's checkers of successful bodies for one operation: the
    ``crc32body`` policies of the service's and the operation's retry config."""
    data = _retry_data()
    config = botocore.translate.build_retry_config(
        endpoint_prefix, data["retry"], data.get("definitions", {})
    )
    headers = []
    for section in ("__default__", operation):
        for policy in config.get(section, {}).get("policies", {}).values():
            header = policy.get("applies_when", {}).get("response", {}).get("crc32body")
            if header is not None and header not in headers:
                headers.append(header)
    return tuple(CRC32Checker(header=header) for header in headers)


def check_response(exchange: Exchange | None, operation_model: Any) -> ChecksumError | None:
    """The error a successful attempt's response fails with, if any."""
    if exchange is None or exchange.http_response is None:
        return None
    checks = body_checks(operation_model.service_model.endpoint_prefix, operation_model.name)
    if not checks:
        return None
    response = (readable(exchange.http_response), exchange.parsed_response)
    for check in checks:
        try:
            # botocore-stubs type these as a mapping and an Exception; botocore's
            # own retry handler passes (http_response, parsed) and None, as here.
            check(attempt_number=1, response=response, caught_exception=None)  # type: ignore[arg-type]
        except ChecksumError as error:
            return error
    return None
