"""The control client of a fake cloud, usable from any process.

:class:`RemoteCloud` is built from a description (:meth:`RemoteCloud.describe`,
JSON-serialisable) and talks to each region's control port; it owns no
processes. :class:`~resilient_cloud.fakecloud.FakeCloud`, which starts the
servers, is a RemoteCloud that also owns them, so both share this code.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterable, Mapping
from typing import Any

from resilient_cloud.fakecloud._dns import check_address
from resilient_cloud.fakecloud._faults import Faults
from resilient_cloud.fakecloud._resolver import Resolver
from resilient_cloud.fakecloud._tcp import check_tcp_mode

__all__ = ["CONNECTIONS", "RemoteCloud", "check_regions"]

_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")
CONNECTIONS = ("keep-alive", "close")
_CONTROL_TIMEOUT = 10.0
_DESCRIPTION_KEYS = ("regions", "connection", "addresses", "control")


def check_regions(regions: Iterable[str]) -> tuple[str, ...]:
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


def _check_connection(connection: object) -> str:
    if not isinstance(connection, str) or connection not in CONNECTIONS:
        raise ValueError(f"connection must be one of {CONNECTIONS}, got {connection!r}")
    return connection


def _check_table(
    name: str, table: object, regions: tuple[str, ...]
) -> dict[str, tuple[str, int]]:
    """``description[name]``: an ``(ip, port)`` per region, for exactly ``regions``."""
    field = f"description[{name!r}]"
    if not isinstance(table, Mapping):
        raise TypeError(f"{field} must map region -> [ip, port], got {table!r}")
    if set(table) != set(regions):
        raise ValueError(
            f"{field} must cover exactly the regions {list(regions)}, got {sorted(table)}"
        )
    return {region: check_address(f"{field}[{region!r}]", table[region]) for region in regions}


class RemoteCloud:
    """Control of a fake cloud whose servers another process started.

    The same control methods as :class:`~resilient_cloud.fakecloud.FakeCloud`
    (faults, stats, state, TCP and DNS faults, the resolver), for e.g. a
    benchmark worker subprocess::

        spec = json.dumps(cloud.describe())          # in the parent
        remote = RemoteCloud(json.loads(spec))       # in the worker
        with remote.resolver():
            ...

    Server-side settings (faults, TCP modes, stats, state) are shared by
    every controller of the same servers; DNS faults live in this process's
    resolver.

    Args:
        description: ``{"regions": [...], "connection": ..., "addresses":
            {region: [ip, data_port]}, "control": {region: [ip, control_port]}}``.
    """

    def __init__(self, description: Mapping[str, Any]) -> None:
        if not isinstance(description, Mapping):
            raise TypeError(f"description must be a mapping, got {type(description).__name__}")
        missing = [k for k in _DESCRIPTION_KEYS if k not in description]
        if missing:
            raise ValueError(f"description lacks {', '.join(map(repr, missing))}")
        regions = description["regions"]
        if not isinstance(regions, (list, tuple)):
            raise TypeError(f"description['regions'] must be a list, got {regions!r}")
        self._regions = check_regions(regions)
        self._connection = _check_connection(description["connection"])
        self._addresses = _check_table("addresses", description["addresses"], self._regions)
        self._controls = _check_table("control", description["control"], self._regions)
        self._resolver = Resolver(self._addresses)

    # -- introspection -----------------------------------------------------

    @property
    def regions(self) -> tuple[str, ...]:
        return self._regions

    @property
    def connection(self) -> str:
        return self._connection

    def address(self, region: str) -> tuple[str, int]:
        """``(ip, port)`` of the data (AWS) listener for ``region``."""
        return self._addresses[self._region(region)]

    def control_address(self, region: str) -> tuple[str, int]:
        """``(ip, port)`` of the control listener for ``region``."""
        return self._controls[self._region(region)]

    def describe(self) -> dict[str, Any]:
        """What :class:`RemoteCloud` needs to control these servers; JSON-serialisable."""
        self._check_open()
        return {
            "regions": list(self._regions),
            "connection": self._connection,
            "addresses": {r: list(a) for r, a in self._addresses.items()},
            "control": {r: list(a) for r, a in self._controls.items()},
        }

    def resolver(self) -> Resolver:
        """This process's ``socket.getaddrinfo`` patch for the cloud: ``with cloud.resolver():``.

        Re-entrant; restores the original function when the outermost use
        ends. One resolver per controller: its DNS faults and lookup counts.
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
        """Remove all server-side faults in ``region`` (or every region),
        TCP faults included. DNS faults stay: see :meth:`clear_dns`."""
        for name in self._targets(region):
            self._control(name, "DELETE", "/_fakecloud/faults")
            self._control(name, "POST", "/_fakecloud/tcp", {"mode": "ok"})

    def stats(self, region: str) -> dict[str, Any]:
        """Counts of the AWS requests ``region`` received since the last reset.

        ``{"requests": n, "outcomes": {"ok": n, "<ErrorCode>": n,
        "overloaded": n, "reset": n, "blackholed": n}, "by_service":
        {"dynamodb": n}, "by_status": {200: n}, "connections": n, "queued": n,
        "max_queue_wait": seconds, "dropped_connections": n}``. "ok" means
        forwarded to moto (whatever it answered); "overloaded" requests were
        shed by the capacity model; "reset" and "blackholed" ones were read
        and never answered (no status). "connections" counts TCP connections
        that carried requests; "queued" the requests that waited for a
        capacity slot; "dropped_connections" the open connections a
        ``"refuse"`` closed.
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

    # -- TCP faults (at the server) ----------------------------------------

    def set_tcp(self, region: str, mode: str) -> None:
        """Set the TCP fault of ``region``'s data port (every service there).

        ``"ok"``; ``"refuse"`` (the server is down: listener and open
        connections closed; ``"ok"`` re-opens the same port, data intact);
        ``"reset"`` (each request read, then the connection reset
        mid-response); ``"blackhole"`` (requests read, never answered, held
        up to 60 s).
        """
        self._control(region, "POST", "/_fakecloud/tcp", {"mode": check_tcp_mode(mode)})

    def tcp_mode(self, region: str) -> str:
        """The TCP fault in force on ``region``'s data port."""
        mode: str = self._control(region, "GET", "/_fakecloud/tcp")["mode"]
        return mode

    # -- DNS faults (in this process's resolver) -----------------------------

    def set_dns(
        self,
        region: str,
        mode: str,
        *,
        service: str | None = None,
        delay: float = 2.0,
        address: tuple[str, int] | None = None,
    ) -> None:
        """:meth:`Resolver.set_dns` on :meth:`resolver`: this process's lookups only."""
        self.resolver().set_dns(region, mode, service=service, delay=delay, address=address)

    def clear_dns(self, region: str | None = None) -> None:
        """:meth:`Resolver.clear_dns` on :meth:`resolver`."""
        self.resolver().clear_dns(region)

    # -- internals ---------------------------------------------------------

    def __repr__(self) -> str:
        return f"RemoteCloud({self._where()}, connection={self._connection!r})"

    def _where(self) -> str:
        return ", ".join(f"{region}={ip}:{port}" for region, (ip, port) in self._addresses.items())

    def _check_open(self) -> None:
        """Raise if this controller may no longer be used (a closed FakeCloud)."""

    def _failure_detail(self, region: str) -> str:
        """Extra words for a failed control request (a FakeCloud adds the server's stderr)."""
        return ""

    def _region(self, region: str) -> str:
        self._check_open()
        if not isinstance(region, str) or region not in self._addresses:
            raise ValueError(
                f"unknown region {region!r}; this fake cloud serves {', '.join(self._regions)}"
            )
        return region

    def _targets(self, region: str | None) -> tuple[str, ...]:
        if region is None:
            self._check_open()
            return self._regions
        return (self._region(region),)

    def _control(self, region: str, method: str, path: str, payload: Any = None) -> Any:
        """One request to ``region``'s control port, straight to its IP:port.

        The socket is connected by hand so no getaddrinfo patch (ours or a
        test's) can reroute or fail control traffic.
        """
        ip, port = self.control_address(region)
        body = json.dumps(payload).encode() if payload is not None else None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        conn = http.client.HTTPConnection(ip, port, timeout=_CONTROL_TIMEOUT)
        try:
            sock.settimeout(_CONTROL_TIMEOUT)
            sock.connect((ip, port))
            conn.sock = sock
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except OSError as exc:
            raise RuntimeError(
                f"fake cloud server for {region} (control {ip}:{port}) failed "
                f"{method} {path}: {exc}{self._failure_detail(region)}"
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
