"""Clients for a client's fallback regions: checked at wrap time, built on
first use, from the same session (or credentials), config and arguments.

A fallback client is a plain botocore client with botocore's retries off and
the policy's DNS cache installed: our driver sends its attempts, so nothing
retries below us.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import boto3.session
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver

from resilient_cloud._forking import renew_after_fork

logger = logging.getLogger("resilient_cloud")

#: ``(region, endpoint_url or None) -> client``
ClientFactory = Callable[[str, "str | None"], Any]

_SDK_ENDPOINT = "SDK::Endpoint"  # botocore.regions.EndpointRulesetResolver.SDK_ENDPOINT


def custom_endpoint_url(client: Any) -> str | None:
    """The endpoint URL the client was given (argument, ``AWS_ENDPOINT_URL``
    or profile), or None when botocore resolved it for the region.

    botocore hands a given URL to the endpoint ruleset as the
    ``SDK::Endpoint`` builtin (``ClientArgsCreator.compute_endpoint_resolver_builtin_defaults``).
    """
    resolver = getattr(client, "_ruleset_resolver", None)
    builtins = getattr(resolver, "_builtins", None) or {}
    return builtins.get(_SDK_ENDPOINT)


def check_endpoint_urls(
    client: Any, fallback_regions: tuple[str, ...], endpoint_urls: Mapping[str, str] | None
) -> dict[str, str]:
    """Validate ``endpoint_urls`` ({region: url}) against the client.

    A custom endpoint cannot be guessed for another region, so a client
    that has one needs a URL for every fallback region.
    """
    if endpoint_urls is None:
        endpoint_urls = {}
    if not isinstance(endpoint_urls, Mapping):
        raise TypeError(
            f"endpoint_urls must be a mapping of region to URL, not {type(endpoint_urls).__name__}"
        )
    own_region = client.meta.region_name
    problems = []
    for region, url in endpoint_urls.items():
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            problems.append(f"the URL for {region!r} must be an http(s) URL, got {url!r}")
        elif region == own_region:
            # Allowed so one mapping can serve every region, if it agrees.
            if url.rstrip("/") != client.meta.endpoint_url.rstrip("/"):
                problems.append(
                    f"the URL for the client's own region {region!r} ({url}) differs from "
                    f"its endpoint ({client.meta.endpoint_url})"
                )
        elif region not in fallback_regions:
            problems.append(f"{region!r} is neither the client's region nor a fallback region")
    if fallback_regions and custom_endpoint_url(client) is not None:
        missing = [region for region in fallback_regions if region not in endpoint_urls]
        if missing:
            problems.append(
                "the client has a custom endpoint_url, which cannot be guessed for another "
                f"region: give endpoint_urls={{region: url}} for {', '.join(missing)}"
            )
    if problems:
        raise ValueError("invalid endpoint_urls: " + "; ".join(problems))
    return dict(endpoint_urls)


def session_factory(
    session: boto3.session.Session, service_name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> ClientFactory:
    """Fallback clients made the way ``session.client(service_name, *args,
    **kwargs)`` made the primary, with the region and endpoint replaced."""
    bound = inspect.signature(boto3.session.Session.client).bind(
        session, service_name, *args, **kwargs
    )
    arguments = dict(bound.arguments)
    for name in ("self", "service_name", "region_name", "endpoint_url"):
        arguments.pop(name, None)

    def make(region: str, endpoint_url: str | None) -> Any:
        # **arguments: whatever the primary was made with, checked by bind() above.
        return boto3.session.Session.client(  # type: ignore[call-overload]
            session, service_name, region_name=region, endpoint_url=endpoint_url, **arguments
        )

    return make


class SameCredentials(CredentialProvider):
    """Hands out the primary client's credentials object, so refreshable
    credentials keep refreshing and both clients sign as one identity."""

    METHOD = "resilient-cloud-primary-client"
    CANONICAL_NAME = "resilient-cloud-primary-client"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


def clone_factory(
    client: Any,
    session_class: type = botocore.session.Session,
    resolver_class: type = CredentialResolver,
    provider_class: type = SameCredentials,
) -> ClientFactory:
    """Fallback clients rebuilt from a client whose session is unknown
    (``rc.wrap``, or ``rc.aio.wrap`` with aiobotocore's session, resolver
    and an async provider): each a new ``session_class`` given ``client``'s
    credentials object and data loader (service models already parsed:
    parsing DynamoDB's again costs 0.1-0.3 s, on the event loop for
    aiobotocore), made with its service, config, TLS verification and
    scheme. Event handlers registered on the client itself are not copied."""
    credentials, loader = client._request_signer._credentials, client._loader
    arguments = {
        "service_name": client.meta.service_model.service_name,
        "config": client.meta.config,
        # URLLib3Session, AIOHTTPSession and HttpxSession all keep it here.
        "verify": client._endpoint.http_session._verify,
        "use_ssl": urlsplit(client.meta.endpoint_url).scheme != "http",
    }

    def make(region: str, endpoint_url: str | None) -> Any:
        session = session_class()
        session.register_component("data_loader", loader)
        session.register_component("credential_provider", resolver_class([provider_class(credentials)]))
        return session.create_client(region_name=region, endpoint_url=endpoint_url, **arguments)

    return make


class FallbackClients:
    """Builds each fallback region's client once, on first use (thread-safe)."""

    def __init__(
        self, factory: ClientFactory, endpoint_urls: Mapping[str, str],
        prepare: Callable[[Any, str], None],
    ) -> None:
        self._factory = factory
        self._endpoint_urls = dict(endpoint_urls)
        self._prepare = prepare
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        renew_after_fork(self)

    def _after_fork_in_child(self) -> None:
        # A lock held by another thread at fork() stays held in the child for ever.
        self._lock = threading.Lock()

    def get(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = self._factory(region, self._endpoint_urls.get(region))
                self._prepare(client, region)
                self._clients[region] = client
            return client

    def built(self) -> dict[str, Any]:
        return dict(self._clients)

