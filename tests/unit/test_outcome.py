"""How each attempt's outcome is judged (docs/configuration.md, "How each
outcome is judged"): may it have reached the service, is it retryable, and
what does it say about the endpoint and the region."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import (
    ChecksumError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ProxyConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)

from resilient_cloud._integrity import body_checks, check_response
from resilient_cloud._outcome import AttemptTrace, Exchange, classify

URL = "https://dynamodb.us-east-1.amazonaws.com/"
GET_ITEM = botocore.session.get_session().get_service_model("dynamodb").operation_model("GetItem")


def _transport(error: Exception, **trace: bool) -> tuple[Exception, AttemptTrace]:
    return error, AttemptTrace(exchange=Exchange(caught_exception=error), **trace)


def _answer(status: int, code: str) -> tuple[Exception, AttemptTrace]:
    parsed = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    response = AWSResponse(URL, status, {}, None)
    return ClientError(parsed, "GetItem"), AttemptTrace(exchange=Exchange(response, parsed))


def _judge(case: tuple[Exception, AttemptTrace]) -> tuple[Any, ...]:
    outcome = classify(case[0], case[1], GET_ITEM)
    # Only a throttle is paced as one (the throttle backoff and budget cost).
    assert outcome.throttled is (outcome.kind == "throttled")
    return (outcome.kind, outcome.may_have_reached_service, outcome.retryable,
            outcome.endpoint_failed, outcome.region_sick)


NOT_SENT = ("connection-failed", False, True, True, True)
BROKEN_AFTER_WRITING = ("connection-closed", True, True, True, True)
CASES = {
    # Failed before any byte was written.
    "dns or refused": (_transport(EndpointConnectionError(endpoint_url=URL)), NOT_SENT),
    "connect timeout": (_transport(ConnectTimeoutError(endpoint_url=URL)), NOT_SENT),
    # ...unless writing had started: aiobotocore raises EndpointConnectionError
    # for every aiohttp ClientConnectionError, a reset after writing included.
    "reset after writing, named refused": (
        _transport(EndpointConnectionError(endpoint_url=URL), connecting=True, writing=True),
        BROKEN_AFTER_WRITING,
    ),
    "proxy connect": (_transport(ProxyConnectionError(proxy_url="http://proxy")), NOT_SENT),
    # TLS: where it failed decides.
    "tls handshake": (_transport(SSLError(endpoint_url=URL, error="x"), connecting=True), NOT_SENT),
    "tls after writing": (
        _transport(SSLError(endpoint_url=URL, error="x"), connecting=True, writing=True),
        BROKEN_AFTER_WRITING,
    ),
    "tls on a reused connection": (
        _transport(SSLError(endpoint_url=URL, error="x"), writing=True), BROKEN_AFTER_WRITING,
    ),
    "tls, nobody watching": (_transport(SSLError(endpoint_url=URL, error="x")), BROKEN_AFTER_WRITING),
    # Sent, or maybe sent.
    "closed or reset": (_transport(ConnectionClosedError(endpoint_url=URL)), BROKEN_AFTER_WRITING),
    # A reset or a timeout during the handshake: urllib3 names them as if
    # the response were being read, but nothing was written.
    "reset while connecting": (_transport(ConnectionClosedError(endpoint_url=URL), connecting=True), NOT_SENT),
    "timeout while connecting": (_transport(ReadTimeoutError(endpoint_url=URL), connecting=True), NOT_SENT),
    "timeout on a reused connection": (
        _transport(ReadTimeoutError(endpoint_url=URL), writing=True), ("timeout", True, True, True, True),
    ),
    "response streaming": (
        _transport(ResponseStreamingError(error="IncompleteRead")), BROKEN_AFTER_WRITING,
    ),
    "other http client error": (_transport(HTTPClientError(error="x")), BROKEN_AFTER_WRITING),
    "read timeout": (_transport(ReadTimeoutError(endpoint_url=URL)), ("timeout", True, True, True, True)),
    "checksum mismatch": (
        (ChecksumError(checksum_type="crc32", expected_checksum=1, actual_checksum=2),
         AttemptTrace(exchange=Exchange(AWSResponse(URL, 200, {}, None), {}))),
        ("checksum-mismatch", True, True, True, None),
    ),
    # Answers.
    "500": (_answer(500, "InternalServerError"), ("server-error", True, True, True, True)),
    "503": (_answer(503, "ServiceUnavailable"), ("server-error", True, True, True, True)),
    "throttled": (
        _answer(400, "ProvisionedThroughputExceededException"), ("throttled", False, True, False, False),
    ),
    "throttled 429": (_answer(429, "TooManyRequestsException"), ("throttled", False, True, False, False)),
    "retryable 4xx": (
        _answer(400, "RequestTimeoutException"), ("client-retryable", True, True, False, False),
    ),
    "not found": (
        _answer(400, "ResourceNotFoundException"), ("client-error", True, False, False, False),
    ),
    "condition failed": (
        _answer(400, "ConditionalCheckFailedException"), ("client-error", True, False, False, False),
    ),
}


@pytest.mark.parametrize("case, expected", CASES.values(), ids=CASES.keys())
def test_each_outcome_is_judged_by_where_it_failed(case, expected) -> None:
    assert _judge(case) == expected


def _parsed_only(code: str) -> tuple[Exception, AttemptTrace]:
    """An error botocore parsed without an HTTP response to read a status from."""
    parsed = {"Error": {"Code": code, "Message": "m"}}
    return ClientError(parsed, "GetItem"), AttemptTrace(exchange=Exchange(None, parsed))


@pytest.mark.parametrize(
    "case, expected",
    [
        (_parsed_only("RequestTimeout"), ("transient-error", True, True, True, True)),
        (_parsed_only("SomethingElse"), ("client-error", True, False, False, False)),
        ((ValueError("bad"), AttemptTrace(exchange=Exchange(caught_exception=ValueError("bad")))),
         ("error", True, False, None, None)),
    ],
    ids=["transient-without-status", "client-error-without-status", "not-botocore"],
)
def test_outcomes_without_a_status(case, expected) -> None:
    assert _judge(case) == expected


@pytest.mark.parametrize(
    "case, name",
    [
        (_answer(400, "ProvisionedThroughputExceededException"), "ProvisionedThroughputExceededException"),
        (_answer(500, "InternalServerError"), "InternalServerError"),
        (_transport(ReadTimeoutError(endpoint_url=URL)), "ReadTimeoutError"),
        ((ClientError({"Error": {}}, "GetItem"), AttemptTrace(exchange=Exchange(None, {}))), "ClientError"),
    ],
)
def test_an_outcome_names_the_error_code_or_class(case, name) -> None:
    assert classify(case[0], case[1], GET_ITEM).error == name


def test_a_failure_of_our_callers_making_says_nothing_about_the_endpoint() -> None:
    outcome = classify(ValueError("bad parameter"), AttemptTrace(), GET_ITEM)
    assert (outcome.kind, outcome.endpoint_failed, outcome.region_sick) == ("error", None, None)


def test_an_answer_from_a_before_call_handler_was_not_sent() -> None:
    error = ClientError({"Error": {"Code": "X"}}, "GetItem")
    outcome = classify(error, AttemptTrace(), GET_ITEM)
    assert (outcome.kind, outcome.retryable, outcome.endpoint_failed) == ("not-sent", False, None)


def test_an_interruption_says_nothing_about_the_endpoint() -> None:
    outcome = classify(KeyboardInterrupt(), AttemptTrace(writing=True), GET_ITEM)
    assert (outcome.kind, outcome.endpoint_failed, outcome.region_sick) == ("interrupted", None, None)


def test_success() -> None:
    outcome = classify(None, AttemptTrace(), GET_ITEM)
    assert outcome.succeeded and outcome.endpoint_failed is False and outcome.region_sick is False
    assert (outcome.error, outcome.throttled, outcome.retryable) == (None, False, False)


def test_wrote_nothing_needs_both_facts() -> None:
    assert AttemptTrace(connecting=True).wrote_nothing
    assert not AttemptTrace(connecting=True, writing=True).wrote_nothing
    assert not AttemptTrace(writing=True).wrote_nothing
    assert not AttemptTrace().wrote_nothing


def test_botocore_body_checks_are_kept_for_dynamodb_only() -> None:
    assert [check._header_name for check in body_checks("dynamodb", "GetItem")] == ["x-amz-crc32"]
    assert body_checks("s3", "GetObject") == ()


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self._body


def _crc_response(body: bytes, crc32: int | None) -> Exchange:
    headers = {} if crc32 is None else {"x-amz-crc32": str(crc32)}
    return Exchange(AWSResponse(URL, 200, headers, _Body(body)), {})


def test_a_body_that_fails_its_crc32_is_a_checksum_error() -> None:
    error = check_response(_crc_response(b'{"Item": {}}', 1), GET_ITEM)
    assert isinstance(error, ChecksumError)


@pytest.mark.parametrize(
    "exchange",
    [None, Exchange(), _crc_response(b"{}", 2745614147), _crc_response(b"{}", None)],
    ids=["no-request", "no-response", "matching", "no-header"],
)
def test_nothing_to_check_or_a_matching_body_passes(exchange) -> None:
    assert check_response(exchange, GET_ITEM) is None
