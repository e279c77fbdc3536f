"""The botocore internals fallback clients are built from (resilient_cloud/_botocore/fallback.py):
fail loudly when an upgrade moves them."""

from __future__ import annotations

import boto3
import botocore.session
import pytest
from botocore.config import Config

from resilient_cloud._botocore.fallback import clone_factory, custom_endpoint_url


def _client(**kwargs: object) -> object:
    kwargs.setdefault("region_name", "us-east-1")
    return boto3.client(
        "dynamodb", aws_access_key_id="AKIDDRIFT", aws_secret_access_key="secret", **kwargs
    )


def test_a_resolved_endpoint_is_not_custom() -> None:
    assert custom_endpoint_url(_client()) is None


def test_an_endpoint_url_argument_is_seen_as_custom() -> None:
    assert custom_endpoint_url(_client(endpoint_url="http://127.0.0.9:8000")) == "http://127.0.0.9:8000"


def test_an_endpoint_url_from_the_environment_is_seen_as_custom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.9:8001")
    assert custom_endpoint_url(_client()) == "http://127.0.0.9:8001"


def test_the_signer_holds_the_clients_credentials_object() -> None:
    client = _client()
    credentials = client._request_signer._credentials  # type: ignore[attr-defined]
    assert credentials.access_key == "AKIDDRIFT"


@pytest.mark.parametrize("verify", [False, "/tmp/some-ca-bundle.pem"])
def test_the_http_session_keeps_the_verify_argument(verify: object) -> None:
    client = _client(verify=verify)
    assert client._endpoint.http_session._verify == verify  # type: ignore[attr-defined]


def test_a_rebuilt_client_shares_credentials_config_and_transport_settings() -> None:
    config = Config(connect_timeout=3, read_timeout=7, max_pool_connections=33)
    primary = _client(config=config, use_ssl=False, verify=False)
    rebuilt = clone_factory(primary)("us-west-2", None)
    assert rebuilt.meta.region_name == "us-west-2"
    assert rebuilt.meta.endpoint_url == "http://dynamodb.us-west-2.amazonaws.com"
    assert rebuilt._request_signer._credentials is primary._request_signer._credentials
    assert rebuilt._endpoint.http_session._verify is False
    assert (rebuilt.meta.config.connect_timeout, rebuilt.meta.config.read_timeout) == (3, 7)
    assert rebuilt.meta.config.max_pool_connections == 33


def test_a_client_keeps_its_sessions_data_loader() -> None:
    # clone_factory hands it to the fallback client's session, so service
    # models are not parsed again (on the event loop, for aiobotocore).
    session = botocore.session.Session()
    client = session.create_client("dynamodb", region_name="us-east-1",
                                   aws_access_key_id="k", aws_secret_access_key="s")
    assert client._loader is session.get_component("data_loader")
