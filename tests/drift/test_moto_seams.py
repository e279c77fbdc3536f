"""The moto names the fake cloud is built from (resilient_cloud/fakecloud/_server.py):
fail loudly when a moto release moves them. Checked on moto 5.0.0 to 5.2.5."""

from __future__ import annotations

import inspect

import pytest

moto_server = pytest.importorskip("moto.server", reason="the fake cloud needs the bench extra (moto[server])")

from moto.moto_server import werkzeug_app  # noqa: E402
from werkzeug.serving import WSGIRequestHandler  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from resilient_cloud.fakecloud import _server  # noqa: E402


def test_the_app_is_the_one_motos_public_server_builds() -> None:
    """``ThreadedMotoServer`` (moto's public in-process server) serves
    ``DomainDispatcherApplication(create_backend_app)``; so do we."""
    assert "DomainDispatcherApplication(create_backend_app)" in inspect.getsource(
        moto_server.ThreadedMotoServer
    )
    assert _server.DomainDispatcherApplication is werkzeug_app.DomainDispatcherApplication
    assert _server.create_backend_app is werkzeug_app.create_backend_app


def test_a_backend_built_ahead_serves_its_requests() -> None:
    """``build_app(warm=...)`` fills the dispatcher's ``app_instances``, keyed
    by backend name, and the dispatcher then serves that backend's requests
    from it."""
    dispatcher = _server.DomainDispatcherApplication(_server.create_backend_app)
    warmed = dispatcher.app_instances["dynamodb"] = _server.create_backend_app("dynamodb")
    environ = EnvironBuilder(
        path="/",
        method="POST",
        headers={
            "Host": "dynamodb.us-east-1.amazonaws.com",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=AKIDDRIFT/20260101/us-east-1/dynamodb/aws4_request, "
                "SignedHeaders=host;x-amz-target, Signature=0"
            ),
        },
        data=b"{}",
    ).get_environ()
    assert dispatcher.get_application(environ) is warmed


def test_the_request_handler_is_the_one_motos_server_uses() -> None:
    """moto 5.2.5 serves with its ``MotoRequestHandler``; older 5.x releases
    with werkzeug's own. Our handlers derive from the same one."""
    uses_its_own = "request_handler=MotoRequestHandler" in inspect.getsource(moto_server.main)
    expected = werkzeug_app.MotoRequestHandler if uses_its_own else WSGIRequestHandler
    assert _server.MotoRequestHandler is expected
    assert issubclass(_server.FakeRegionHandler, expected)
