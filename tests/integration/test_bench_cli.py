"""A tiny smoke run of `resilient-cloud bench`, as a user would run it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_bench_runs_side_by_side_and_writes_json(tmp_path) -> None:
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [
            sys.executable, "-m", "resilient_cloud._cli", "bench", "outage", "overhead",
            "--subject", "legacy", "--subject", "resilient",
            "--calls", "40", "--cap", "6", "--seed", "3", "--json", str(out),
        ],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "outage" in completed.stdout and "resilient" in completed.stdout
    run = json.loads(out.read_text())
    assert run["seed"] == 3
    assert run["environment"]["botocore"].startswith("1.43.")
    rows = {(r["scenario"], r.get("subject")): r for r in run["results"]}
    legacy, resilient = rows[("outage", "legacy")], rows[("outage", "resilient")]
    assert resilient["calls_finished"] == 40 and resilient["success_ratio"] == 0.0
    # 40 calls earn 8 retries, plus the 10-retry floor.
    assert resilient["server_requests"] <= 40 + 8 + 10
    assert legacy["amplification"] > 3 * resilient["amplification"]
    assert rows[("overhead", None)]["ratio"] > 0


def test_bench_list_and_bad_input() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "resilient_cloud._cli", "bench", "--list"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "outage" in listed and "transient" in listed
    bad = subprocess.run(
        [sys.executable, "-m", "resilient_cloud._cli", "bench", "no-such-scenario"],
        capture_output=True, text=True, check=False,
    )
    assert bad.returncode == 2 and "unknown scenario" in bad.stdout
    bad_calls = subprocess.run(
        [sys.executable, "-m", "resilient_cloud._cli", "bench", "--calls", "0"],
        capture_output=True, text=True, check=False,
    )
    assert bad_calls.returncode == 2 and "must be >= 1" in bad_calls.stderr
