"""``resilient-cloud bench --locust``: Locust as subprocesses.

Locust patches the standard library with gevent when it is imported, so it
never runs in this process: a local run is one ``locust`` process, a run
with ``--workers N`` a master and N workers on loopback (on several
machines, start the workers there by hand: docs/locust.md).
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
from collections.abc import Sequence

#: Seconds the workers get to leave after their master did.
WORKER_EXIT_TIMEOUT = 15.0


def locustfile() -> str:
    """The path of :mod:`resilient_cloud.bench.locust`, found without importing it."""
    spec = importlib.util.find_spec("resilient_cloud.bench.locust")
    assert spec is not None and spec.origin is not None
    return spec.origin


def commands(
    scenario: str, workers: int, locust_args: Sequence[str], seed: int, port: int
) -> tuple[list[str], list[list[str]]]:
    """The master's (or the local run's) command line, and each worker's."""
    base = [sys.executable, "-m", "locust", "-f", locustfile()]
    args = list(locust_args)
    defaults = []
    if "--exit-code-on-error" not in args:
        # In a fault scenario failed calls are the measurement, not a failed run.
        defaults += ["--exit-code-on-error", "0"]
    if "--web-host" not in args:
        # Locust's UI listens on every interface by default; a load generator's
        # controls should not be on the network unless asked for.
        defaults += ["--web-host", "127.0.0.1"]
    main = [*base, "--rc-scenario", scenario, "--rc-seed", str(seed), *defaults, *args]
    if not workers:
        return main, []
    main[len(base):len(base)] = [
        "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        "--expect-workers", str(workers),
    ]
    worker = [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return main, [worker] * workers


def run(scenario: str, workers: int, locust_args: Sequence[str], seed: int) -> int:
    if importlib.util.find_spec("locust") is None:
        print("Locust is not installed: pip install 'resilient-cloud[locust]'", file=sys.stderr)
        return 2
    main, worker_commands = commands(scenario, workers, locust_args, seed, _free_port())
    master = subprocess.Popen(main)
    started = [subprocess.Popen(command) for command in worker_commands]
    try:
        code = master.wait()
    finally:
        if master.poll() is None:
            master.terminate()
            master.wait()
        for process in started:
            try:
                process.wait(WORKER_EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return code


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
