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

Beyond errors and latency: a capacity model (``Faults(capacity=...,
queue_timeout=...)``, where retries pile into a queue), TCP faults at the
server (``cloud.set_tcp(region, "refuse" | "reset" | "blackhole")``) and DNS
faults in the client's resolver (``cloud.set_dns(region, "nxdomain" |
"empty" | "timeout" | "address", ...)``).

Every AWS response carries an ``x-fakecloud-region`` header
(:data:`REGION_HEADER`) naming the region whose server answered (and
:data:`DELAY_HEADER` on an answer it delayed): botocore
passes it on in ``ResponseMetadata["HTTPHeaders"]``, so a caller can see
which region served a call that failed over.

Each server has a data port (AWS traffic) and a control port (this API), so
control keeps working whatever the data port suffers. Another process
controls the same servers with ``RemoteCloud(cloud.describe())``.

Clients must use ``use_ssl=False`` (the servers speak plain HTTP). The
addresses 127.0.0.2+ are routed to loopback on Linux; macOS only serves
127.0.0.1 unless aliases are added. In pytest, the plugin
``resilient_cloud.fakecloud.pytest_plugin`` provides a ``fake_cloud`` fixture.
"""

from __future__ import annotations

import atexit
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import IO

from resilient_cloud.fakecloud._control import CONNECTIONS, RemoteCloud, check_regions
from resilient_cloud.fakecloud._dns import DNS_MODES
from resilient_cloud.fakecloud._faults import DELAY_HEADER, ERROR_KINDS, REGION_HEADER, ErrorKind, Faults
from resilient_cloud.fakecloud._tcp import TCP_MODES

__all__ = [
    "DNS_MODES",
    "ERROR_KINDS",
    "ErrorKind",
    "FakeCloud",
    "Faults",
    "DELAY_HEADER",
    "REGION_HEADER",
    "RemoteCloud",
    "TCP_MODES",
]

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
        self.control_port = 0
        # A file, not a pipe: nobody reads stderr while the child runs, and a
        # full pipe would block it.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "resilient_cloud.fakecloud._server",
                 "--host", ip, "--port", "0", "--control-port", "0",
                 "--connection", connection, "--region", region],
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

    @property
    def control_address(self) -> tuple[str, int]:
        return (self.ip, self.control_port)

    def wait_ready(self, deadline: float) -> None:
        """Read the two port lines (data, control) the child prints once it listens."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        data = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while data.count(b"\n") < 2:
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
        data_port, control_port = data.split(b"\n")[:2]
        self.port, self.control_port = int(data_port), int(control_port)
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


class FakeCloud(RemoteCloud):
    """Moto servers for ``regions``, one process each, with fault injection.

    Starts the servers at construction (in parallel) and stops them on
    :meth:`close` (also via ``with`` and at interpreter exit). A server also
    exits by itself if this process dies. Every control method comes from
    :class:`RemoteCloud`; this class adds owning the processes.

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
        names = check_regions(regions)
        if connection not in CONNECTIONS:
            raise ValueError(f"connection must be one of {CONNECTIONS}, got {connection!r}")
        self._lock = threading.Lock()
        self._closed = False
        # A forked copy of this object inherits the atexit hook; only the
        # process that started the servers may stop them.
        self._owner_pid = os.getpid()
        self._servers: dict[str, _RegionServer] = {}
        env = _child_env()
        try:
            # Start every child before waiting on any: each import of moto takes a while.
            for index, region in enumerate(names):
                ip = f"127.0.0.{index + 2}"
                self._servers[region] = _RegionServer(region, ip, connection, env)
            deadline = time.monotonic() + startup_timeout
            for server in self._servers.values():
                server.wait_ready(deadline)
            super().__init__(
                {
                    "regions": list(names),
                    "connection": connection,
                    "addresses": {r: list(s.address) for r, s in self._servers.items()},
                    "control": {r: list(s.control_address) for r, s in self._servers.items()},
                }
            )
        except BaseException:
            self._shutdown()
            raise
        atexit.register(self.close)

    @property
    def pids(self) -> dict[str, int]:
        """Process id of each region's server."""
        return {region: server.proc.pid for region, server in self._servers.items()}

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
        return f"FakeCloud({self._where()}, connection={self._connection!r}, {state})"

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

    def _failure_detail(self, region: str) -> str:
        server = self._servers[region]
        return f"; its stderr:\n{server.stderr_text() or '(empty)'}"
