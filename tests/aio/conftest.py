"""Fixtures for the aiobotocore seam tests: a moto server on loopback, no
proxies. The tests run their coroutines with ``asyncio.run`` (no async test
plugin is a test dependency)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

if importlib.util.find_spec("aiobotocore") is None:
    # The `newest` CI environment has no aio extra.
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # aiobotocore takes proxies from the environment (botocore's ProxyConfiguration).
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of moto's in-process server (every service)."""
    server_module = pytest.importorskip("moto.server", reason="needs the bench extra (moto[server])")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
