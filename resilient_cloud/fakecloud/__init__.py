"""A fake AWS cloud on loopback, with faults injected at the server edge.

Real botocore clients talk HTTP to one moto server per region, reached by the
real regional hostnames: :meth:`FakeCloud.resolver` patches
``socket.getaddrinfo`` so ``dynamodb.us-east-1.amazonaws.com`` resolves to
``127.0.0.2`` (first region), ``127.0.0.3`` (second), ... with the server's
port. Injected errors carry the bodies and headers the real services send.

::

    import boto3
    from resilient_cloud.fakecloud import FakeCloud, Faults

    with FakeCloud(regions=("us-east-1", "us-west-2")) as cloud, cloud.resolver():
        ddb = boto3.client(
            "dynamodb", region_name="us-east-1", use_ssl=False,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        cloud.set_faults("us-east-1", Faults(error_rate=0.2, seed=7), service="dynamodb")
        ...  # ~20% of DynamoDB calls in us-east-1 now fail with InternalServerError
        cloud.stats("us-east-1")  # {"requests": ..., "outcomes": {"ok": ..., ...}, ...}

Clients must use ``use_ssl=False`` (the servers speak plain HTTP). The
addresses 127.0.0.2+ are routed to loopback on Linux; macOS only serves
127.0.0.1 unless aliases are added. In pytest, the plugin
``resilient_cloud.fakecloud.pytest_plugin`` provides a ``fake_cloud`` fixture.
"""

from __future__ import annotations

import atexit
import http.client
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import IO, Any

from resilient_cloud.fakecloud._faults import ERROR_KINDS, ErrorKind, Faults
from resilient_cloud.fakecloud._resolver import Resolver

__all__ = ["ERROR_KINDS", "ErrorKind", "FakeCloud", "Faults"]

_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
_CONNECTIONS = ("keep-alive", "close")
_CONTROL_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0
# The directory holding the resilient_cloud package, for the child's sys.path.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _child_env() -> dict[str, str]:
    """The parent's environment minus its AWS identity and configuration.

    moto must not pick up real credentials, profiles or endpoint overrides.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env


class _RegionServer:
    """One child process serving one region."""

    def __init__(self, region: str, ip: str, connection: str, env: dict[str, str]) -> None:
        self.region = region
        self.ip = ip
        self.port = 0
        # A file, not a pipe: nobody reads stderr while the child runs, and a
        # full pipe would block it.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "resilient_cloud.fakecloud._server",
                 "--host", ip, "--port", "0", "--connection", connection],
                stdin=subprocess.PIPE,  # held open: the child exits at its EOF
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=env,
            )
        except BaseException:
            self._stderr.close()
            raise

    @property
    def address(self) -> tuple[str, int]:
        return (self.ip, self.port)

    def wait_ready(self, deadline: float) -> None:
        """Read the port line the child prints once it listens."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        data = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in data:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(self._failure("did not report its port in time"))
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, 256)
                if not chunk:
                    self.proc.wait(_STOP_TIMEOUT)
                    raise RuntimeError(self._failure(f"exited with code {self.proc.returncode}"))
                data += chunk
        self.port = int(data.split(b"\n", 1)[0])
        self.proc.stdout.close()

    def stderr_text(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def _failure(self, what: str) -> str:
        return (
            f"fake cloud server for {self.region} on {self.ip} {what}; "
            f"its stderr:\n{self.stderr_text() or '(empty)'}"
        )

    def stop(self) -> None:
        """Ask the child to exit: EOF on its stdin, and SIGTERM."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()

    def reap(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.proc.stdout.close()
        self._stderr.close()


class FakeCloud:
    """Moto servers for ``regions``, one process each, with fault injection.

    Starts the servers at construction (in parallel) and stops them on
    :meth:`close` (also via ``with`` and at interpreter exit). A server also
    exits by itself if this process dies.

    Args:
        regions: region names; the first is served on 127.0.0.2, the next on
            127.0.0.3, and so on.
        connection: ``"keep-alive"`` (HTTP/1.1 persistent connections) or
            ``"close"`` (every response says ``Connection: close``, so clients
            reconnect per request).
        startup_timeout: seconds to wait for all servers to listen.
    """

    def __init__(
        self,
        regions: Iterable[str] = ("us-east-1",),
        connection: str = "keep-alive",
        *,
        startup_timeout: float = 30.0,
    ) -> None:
        self._regions = _check_regions(regions)
        if connection not in _CONNECTIONS:
            raise ValueError(f"connection must be one of {_CONNECTIONS}, got {connection!r}")
        self._connection = connection
        self._lock = threading.Lock()
        self._closed = False
        # A forked copy of this object inherits the atexit hook; only the
        # process that started the servers may stop them.
        self._owner_pid = os.getpid()
        self._servers: dict[str, _RegionServer] = {}
        env = _child_env()
        try:
            # Start every child before waiting on any: each import of moto takes a while.
            for index, region in enumerate(self._regions):
                ip = f"127.0.0.{index + 2}"
                self._servers[region] = _RegionServer(region, ip, connection, env)
            deadline = time.monotonic() + startup_timeout
            for server in self._servers.values():
                server.wait_ready(deadline)
        except BaseException:
            self._shutdown()
            raise
        self._resolver = Resolver({r: s.address for r, s in self._servers.items()})
        atexit.register(self.close)

    # -- introspection -----------------------------------------------------

    @property
    def regions(self) -> tuple[str, ...]:
        return self._regions

    @property
    def connection(self) -> str:
        return self._connection

    @property
    def pids(self) -> dict[str, int]:
        """Process id of each region's server."""
        return {region: server.proc.pid for region, server in self._servers.items()}

    def address(self, region: str) -> tuple[str, int]:
        """``(ip, port)`` of the server for ``region``."""
        return self._server(region).address

    def resolver(self) -> Resolver:
        """The ``socket.getaddrinfo`` patch for this cloud: use it as ``with cloud.resolver():``.

        Re-entrant; restores the original function when the outermost use ends.
        """
        self._check_open()
        return self._resolver

    # -- faults, stats, state ----------------------------------------------

    def set_faults(self, region: str, faults: Faults, *, service: str | None = None) -> None:
        """Apply ``faults`` to ``service`` (a signing name such as ``"dynamodb"``)
        in ``region``, or to every service there when ``service`` is None.

        A service's own faults replace the region-wide ones for that service.
        """
        if not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults, got {type(faults).__name__}")
        if service is not None and (not isinstance(service, str) or not service):
            raise TypeError(f"service must be a non-empty str or None, got {service!r}")
        request = {"service": service, **faults.to_json()}
        self._control(region, "POST", "/_fakecloud/faults", request)

    def clear_faults(self, region: str | None = None) -> None:
        """Remove all faults in ``region``, or in every region."""
        for name in self._targets(region):
            self._control(name, "DELETE", "/_fakecloud/faults")

    def stats(self, region: str) -> dict[str, Any]:
        """Counts of the AWS requests ``region`` received since the last reset.

        ``{"requests": n, "outcomes": {"ok": n, "<ErrorCode>": n},
        "by_service": {"dynamodb": n}, "by_status": {200: n},
        "connections": n}``; "ok" means forwarded to moto (whatever it
        answered), "connections" counts TCP connections that carried them.
        """
        stats: dict[str, Any] = self._control(region, "GET", "/_fakecloud/stats")
        stats["by_status"] = {int(k): v for k, v in stats["by_status"].items()}
        return stats

    def reset_stats(self, region: str | None = None) -> None:
        for name in self._targets(region):
            self._control(name, "DELETE", "/_fakecloud/stats")

    def reset_state(self, region: str | None = None) -> None:
        """Wipe moto's stored data (tables, buckets, ...) in ``region`` or all."""
        for name in self._targets(region):
            self._control(name, "POST", "/moto-api/reset")

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        """Stop every server process; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        if os.getpid() == self._owner_pid:
            self._shutdown()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> FakeCloud:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        where = ", ".join(f"{r}={s.ip}:{s.port}" for r, s in self._servers.items())
        return f"FakeCloud({where}, connection={self._connection!r}, {state})"

    # -- internals ---------------------------------------------------------

    def _shutdown(self) -> None:
        servers = list(self._servers.values())
        for server in servers:
            server.stop()
        for server in servers:
            server.reap(_STOP_TIMEOUT)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this FakeCloud is closed")

    def _server(self, region: str) -> _RegionServer:
        self._check_open()
        server = self._servers.get(region) if isinstance(region, str) else None
        if server is None:
            raise ValueError(
                f"unknown region {region!r}; this fake cloud serves {', '.join(self._regions)}"
            )
        return server

    def _targets(self, region: str | None) -> tuple[str, ...]:
        if region is None:
            self._check_open()
            return self._regions
        return (self._server(region).region,)

    def _control(self, region: str, method: str, path: str, payload: Any = None) -> Any:
        """One request to a server's control API, straight to its IP:port.

        The socket is connected by hand so no getaddrinfo patch (ours or a
        test's) can reroute or fail control traffic.
        """
        server = self._server(region)
        body = json.dumps(payload).encode() if payload is not None else None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        conn = http.client.HTTPConnection(server.ip, server.port, timeout=_CONTROL_TIMEOUT)
        try:
            sock.settimeout(_CONTROL_TIMEOUT)
            sock.connect(server.address)
            conn.sock = sock
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except OSError as exc:
            raise RuntimeError(
                f"fake cloud server for {region} ({server.ip}:{server.port}) failed "
                f"{method} {path}: {exc}; its stderr:\n{server.stderr_text() or '(empty)'}"
            ) from exc
        finally:
            conn.close()
            sock.close()
        answer = json.loads(data) if data else None
        if response.status == 400 and isinstance(answer, dict) and "error" in answer:
            raise ValueError(answer["error"])
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} on {region}: HTTP {response.status}: {data!r}")
        return answer


def _check_regions(regions: Iterable[str]) -> tuple[str, ...]:
    names = (regions,) if isinstance(regions, str) else tuple(regions)
    if not names:
        raise ValueError("regions must name at least one region")
    for name in names:
        if not isinstance(name, str) or not _REGION.match(name):
            raise ValueError(f"not a region name: {name!r} (expected e.g. 'us-east-1')")
    if len(set(names)) != len(names):
        raise ValueError(f"regions must be unique, got {names}")
    if len(names) > 253:
        raise ValueError("at most 253 regions fit on 127.0.0.2-127.0.0.254")
    return names
