"""`resilient-cloud bench --locust` as a user runs it: a master and two
worker processes on loopback, headless, against the fake cloud with an
outage in the middle of the run, bounded in users, time and calls.

Locust is never imported here (it patches the standard library with
gevent): the run is a subprocess, read back from its CSV files.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
import time

import pytest

from resilient_cloud.bench.locust_figures import read_csv

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="needs the locust extra"),
]

USERS, RUN_TIME, WINDOW = 4, 12, (3.0, 8.0)


def _bench(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "resilient_cloud._cli", "bench", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def test_master_and_two_workers_side_by_side_through_an_outage(tmp_path) -> None:
    prefix = tmp_path / "run"
    started = time.monotonic()
    completed = _bench(
        "outage-recovery", "--workers", "2", "--locust",
        "--headless", "-u", str(USERS), "-r", str(USERS), "-t", f"{RUN_TIME}s",
        "--rc-window", f"{WINDOW[0]:g},{WINDOW[1]:g}", "--rc-rate", "4", "--rc-max-calls", "2000",
        "--csv", str(prefix), "PlainStandard", "Resilient",
        timeout=90,
    )
    wall = time.monotonic() - started
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    assert wall < RUN_TIME + 40, wall  # it stopped by itself
    assert "resilient_cloud figures" in completed.stdout

    # Locust's own CSV: one row per subject, every call counted once.
    with open(f"{prefix}_stats.csv", newline="") as file:
        locust_rows = {row["Type"]: row for row in csv.DictReader(file) if row["Name"] != "Aggregated"}
    assert set(locust_rows) == {"plain-standard", "resilient"}
    figures = read_csv(f"{prefix}_rc.csv")
    for subject, row in locust_rows.items():
        # Both workers' figures reached the master: the same calls as Locust counted.
        assert int(row["Request Count"]) == figures[(subject, "all")]["calls"] > 0
        assert figures[(subject, "all")]["calls"] <= 2000

    plain, ours = figures[("plain-standard", "fault")], figures[("resilient", "fault")]
    assert plain["calls"] >= 3 and ours["calls"] >= 3
    # Before the fault, one request per call and every call succeeds.
    for subject in locust_rows:
        before = figures[(subject, "before")]
        assert before["requests_per_call"] == 1.0 and before["success_ratio"] == 1.0
    # During it, plain standard retries every call (3 attempts); the breaker
    # refuses most of ours without a request.
    assert plain["requests_per_call"] > 2.0
    assert ours["requests_per_call"] < 0.6 * plain["requests_per_call"]
    assert ours["refused"] > 0 and plain["refused"] == 0


def test_a_real_account_is_refused_without_the_explicit_flags(tmp_path) -> None:
    completed = _bench(
        "outage", "--locust", "--headless", "-u", "1", "-t", "5s", "--rc-target", "aws",
        "--rc-region", "eu-west-1", timeout=60,
    )
    assert completed.returncode != 0
    for words in ("--rc-allow-real-aws", "--rc-account", "--rc-table"):
        assert words in completed.stderr, completed.stderr[-3000:]
    assert "All users spawned" not in completed.stderr  # no user was started
