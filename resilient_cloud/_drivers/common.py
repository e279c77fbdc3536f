"""What both drivers do the same way: one call's parameters, and one leg's
bookkeeping around the request (the attempt's trace, the core's verdict)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from resilient_cloud._outcome import CURRENT_TRACE, AttemptTrace


class CallParams:
    """The parameters every attempt starts from, and the streams in them
    with the position each started at (to rewind before a retry)."""

    __slots__ = ("params", "streams")

    def __init__(self, api_params: Mapping[str, Any]) -> None:
        self.params = dict(api_params)
        #: None when a stream cannot be rewound: the call must not be retried.
        self.streams: list[tuple[Any, int]] | None = []
        for value in self.params.values():
            if hasattr(value, "read"):
                position = _start_position(value)
                if position is None:
                    self.streams = None
                    break
                self.streams.append((value, position))

    @property
    def rewindable(self) -> bool:
        return self.streams is not None

    @property
    def has_streams(self) -> bool:
        return self.streams != []

    def rewind(self) -> None:
        for stream, position in self.streams or ():
            stream.seek(position)

    def for_attempt(self, tokens: Mapping[str, str]) -> dict[str, Any]:
        """One attempt's parameters: a fresh shallow copy, because botocore's
        parameter handlers rewrite some values in place (S3 CopySource quoting
        would be applied twice), with the idempotency tokens botocore filled
        on an earlier attempt. botocore fills them itself on the first, at
        ``before-parameter-build`` after the Stubber's check, as without us."""
        attempt = dict(self.params)
        for member, token in tokens.items():
            attempt.setdefault(member, token)
        return attempt


class LegTrace:
    """Watches one leg's request: ``with LegTrace(tokens) as trace:`` around
    the send makes the connection seams and event handlers write into it."""

    __slots__ = ("trace", "_token")

    def __init__(self, tokens: dict[str, str]) -> None:
        self.trace = AttemptTrace(tokens=tokens)

    def __enter__(self) -> AttemptTrace:
        self._token = CURRENT_TRACE.set(self.trace)
        return self.trace

    def __exit__(self, *exc_info: object) -> None:
        CURRENT_TRACE.reset(self._token)


def _start_position(stream: Any) -> int | None:
    seekable = getattr(stream, "seekable", None)
    try:
        if seekable is not None and not seekable():
            return None
        return stream.tell()
    except (AttributeError, OSError, ValueError):
        return None
