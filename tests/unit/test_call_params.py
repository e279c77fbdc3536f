"""A call's parameters: the streams in them, rewinding them before a retry,
and each attempt's own copy with the idempotency tokens of the first."""

from __future__ import annotations

import io
from typing import Any

import pytest

from resilient_cloud._drivers.common import CallParams


class Unseekable(io.BytesIO):
    def seekable(self) -> bool:
        return False


class NoTell:
    """Reads, but cannot say where it is (a socket-like body)."""

    def read(self, size: int = -1) -> bytes:
        return b""


class BrokenTell(io.BytesIO):
    def tell(self) -> int:
        raise OSError("closed")


def test_streams_are_found_with_where_each_started_and_rewound_there() -> None:
    body = io.BytesIO(b"0123456789")
    body.seek(3)
    other = io.BytesIO(b"abc")
    params = CallParams({"Body": body, "Other": other, "Key": "k"})
    assert params.rewindable and params.has_streams
    assert params.streams == [(body, 3), (other, 0)]
    body.read()
    other.read()
    params.rewind()
    assert (body.tell(), other.tell()) == (3, 0)


def test_parameters_without_streams_need_no_rewinding() -> None:
    params = CallParams({"Key": "k", "Count": 3})
    assert params.rewindable and not params.has_streams
    assert params.streams == []
    params.rewind()  # nothing to do


@pytest.mark.parametrize("stream", [Unseekable(b"x"), NoTell(), BrokenTell(b"x")],
                         ids=["unseekable", "no-tell", "tell-fails"])
def test_a_stream_that_cannot_be_rewound_makes_the_call_unrewindable(stream: Any) -> None:
    before = io.BytesIO(b"x")
    params = CallParams({"First": before, "Body": stream, "After": io.BytesIO(b"y")})
    assert not params.rewindable and params.has_streams
    assert params.streams is None
    params.rewind()  # does nothing, raises nothing


def test_each_attempt_gets_its_own_copy_with_the_first_attempts_tokens() -> None:
    given = {"TableName": "t", "Item": {"pk": "1"}}
    params = CallParams(given)
    given["TableName"] = "changed later"
    first = params.for_attempt({})
    assert first == {"TableName": "t", "Item": {"pk": "1"}}
    first["TableName"] = "rewritten by a handler"
    second = params.for_attempt({"ClientRequestToken": "tok"})
    assert second == {"TableName": "t", "Item": {"pk": "1"}, "ClientRequestToken": "tok"}
    # A token the caller gave is kept, never replaced.
    own = CallParams({"ClientRequestToken": "mine"}).for_attempt({"ClientRequestToken": "tok"})
    assert own == {"ClientRequestToken": "mine"}
