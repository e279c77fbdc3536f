"""botocore event handlers: turning its retries off and watching each attempt."""

from __future__ import annotations

from typing import Any

from resilient_cloud._outcome import CURRENT_TRACE, Exchange

RECORDER_ID = "resilient-cloud-exchange-recorder"
TOKENS_ID = "resilient-cloud-token-keeper"


def retry_handler_id(client: Any) -> tuple[str, str]:
    """The event and unique id botocore registers its retry handler under.

    Both legacy (``ClientCreator._register_legacy_retries``) and standard
    (``botocore.retries.standard.register_retry_handler``) modes use
    ``needs-retry.<service-id>`` with ``retry-config-<service-id>``.
    """
    service_event_name = client.meta.service_model.service_id.hyphenize()
    return f"needs-retry.{service_event_name}", f"retry-config-{service_event_name}"


def take_over_retries(client: Any) -> None:
    """Unregister botocore's retry handler and start watching attempts.

    Adaptive mode's client-side rate limiter is registered without a unique
    id on ``before-send`` and ``needs-retry``; it stays, so ``adaptive`` keeps
    its rate limiting while our pipeline owns the retries. Idempotent.
    """
    event, unique_id = retry_handler_id(client)
    client.meta.events.unregister(event, unique_id=unique_id)
    client.meta.events.register("needs-retry", record_exchange, unique_id=RECORDER_ID)
    # Last, so it sees the tokens botocore's generate_idempotent_uuid filled.
    client.meta.events.register_last("before-parameter-build", note_tokens, unique_id=TOKENS_ID)


def record_exchange(
    response: Any = None, caught_exception: Exception | None = None, **kwargs: Any
) -> None:
    """``needs-retry`` handler: note what the attempt got, never ask for a retry.

    botocore emits needs-retry after every response or transport exception,
    so an attempt with no exchange sent no request (a ``before-call`` handler
    such as the Stubber answered it). The last exchange of an attempt wins.
    """
    trace = CURRENT_TRACE.get()
    if trace is not None:
        http_response, parsed = response if response is not None else (None, None)
        trace.exchange = Exchange(http_response, parsed, caught_exception)
    return None


def note_tokens(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
    """``before-parameter-build`` handler, after botocore's own: keep the
    idempotency tokens this attempt sends, so later attempts send them too."""
    trace = CURRENT_TRACE.get()
    if trace is None:
        return
    for member in model.idempotent_members:
        if member in params:
            trace.tokens.setdefault(member, params[member])
