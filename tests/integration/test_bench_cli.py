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
    # The summary leads: the outage's row, its verdict, and the overhead's line.
    summary = completed.stdout.splitlines()
    assert any(line.startswith("outage ") and "→" in line for line in summary), completed.stdout
    assert any(line.startswith("  better: requests") for line in summary), completed.stdout
    assert "overhead: " in completed.stdout and "x plain's per-call cost" in completed.stdout
    assert "--detail" in completed.stdout
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


def run_bench(tmp_path, *args: str) -> dict:
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "resilient_cloud._cli", "bench", *args, "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return {(r["scenario"], r.get("subject")): r for r in json.loads(out.read_text())["results"]}


def test_time_phased_scenario_with_timelines_and_plot(tmp_path) -> None:
    plot = tmp_path / "timeline.png"
    rows = run_bench(
        tmp_path, "dns-empty", "--quick", "--subject", "legacy", "--subject", "resilient", "--plot", str(plot)
    )
    legacy = rows[("dns-empty", "legacy")]
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert legacy["step_errors"] == []
    # Every request opens a connection, so every attempt in the window needed a
    # fresh lookup, and those lookups failed.
    lookups = legacy["dns_lookups"]["us-east-1"]["dynamodb"]
    assert lookups.get("empty", 0) > 0
    assert legacy["attempts_per_finished_call"] > 1.0
    assert sum(legacy["timeline"]["offered"]) > 0 and len(legacy["timeline"]["t"]) >= 4
    # The resilient client connects as often but asks the resolver once: its
    # answer is still fresh, so the empty record never reaches it.
    resilient = rows[("dns-empty", "resilient")]
    assert resilient["window_success_ratio"] == 1.0
    assert resilient["dns_lookups"]["us-east-1"]["dynamodb"] == {"ok": 1}
    cost = rows[("dns-empty", None)]
    assert cost["probe"] == "dns-hit-cost"
    assert 0 < cost["cache_hit_us"] < cost["getaddrinfo_us"]


def test_baselines_reproduce_botocores_known_behaviour(tmp_path) -> None:
    """Legacy DynamoDB sends 10 requests per failing call; standard mode's
    500-token quota per client caps its retries at 100 (5 tokens each)."""
    legacy = run_bench(tmp_path, "outage", "--subject", "legacy", "--calls", "16", "--cap", "40")
    row = legacy[("outage", "legacy")]
    assert row["calls_finished"] == 16 and row["server_requests"] == 160
    assert row["attempts_per_finished_call"] == 10.0
    standard = run_bench(tmp_path, "outage", "--subject", "standard", "--calls", "200", "--cap", "60")
    row = standard[("outage", "standard")]
    assert row["calls_finished"] == 200 and row["server_requests"] == 300


def test_region_outage_and_slow_tail_say_which_region_served(tmp_path) -> None:
    rows = run_bench(
        tmp_path, "region-outage-500", "slow-tail", "--quick",
        "--subject", "standard", "--subject", "resilient", "--subject", "resilient-hedged",
    )
    outage = rows[("region-outage-500", "resilient")]
    # The fallback region is passed and holds the data: the resilient client
    # reads from it while the primary fails, and the server says so.
    assert outage["window_success_ratio"] == 1.0
    assert outage["served_by"]["us-west-2"] > 0 and outage["fallback_served"] > 0
    assert outage["requests_by_region"]["us-west-2"] == outage["fallback_requests"] > 0
    assert outage["region_switches"][0]["after"] == "us-west-2"
    assert outage["step_errors"] == [] and len(outage["steps_applied"]) == 2
    # Attempts sent through the fallback region's client are counted too.
    assert outage["attempts_per_finished_call"] >= 1.0
    plain = rows[("region-outage-500", "standard")]
    assert set(plain["served_by"]) == {"us-east-1"} and plain["fallback_requests"] == 0
    # A quick window holds a dozen or so calls: one that straddles the
    # fault's edge is 5-10% of them (seen: 1 of 14 on a loaded CI run).
    assert plain["window_success_during_fault"] <= 0.15
    assert plain["window_success_during_fault"] < outage["window_success_during_fault"]
    # Hedged reads: counted by hooks, and seen by the fallback region's server.
    hedged = rows[("slow-tail", "resilient-hedged")]
    assert hedged["hedges_fired"] == hedged["requests_by_region"]["us-west-2"] > 0
    assert hedged["hedges_won"] == hedged["served_by"].get("us-west-2", 0)
    assert rows[("slow-tail", "resilient")]["requests_by_region"]["us-west-2"] == 0
    assert "hedges_fired" not in rows[("slow-tail", "resilient")]


def test_asyncio_subjects_side_by_side(tmp_path) -> None:
    """Plain aiobotocore (legacy mode, as botocore 1.43's default) and rc.aio
    through the same load; the storm leaves its counts."""
    pytest.importorskip("aiobotocore")
    rows = run_bench(
        tmp_path, "region-outage-500", "cancel-storm", "--quick", "--calls", "40",
        "--subjects", "aiobotocore,resilient-aio",
    )
    plain, resilient = rows[("region-outage-500", "aiobotocore")], rows[("region-outage-500", "resilient-aio")]
    assert plain["client"]["retries"] == {"mode": "legacy"}
    assert plain["fallback_requests"] == 0 and resilient["fallback_requests"] > 0
    assert resilient["window_success_ratio"] == 1.0 and resilient["step_errors"] == []
    assert resilient["attempts_per_finished_call"] >= 1.0 and resilient["region_switches"]
    storm = rows[("cancel-storm", "resilient-aio")]
    assert storm["calls_started"] == 40 and storm["cancelled"] + storm["unfinished"] == 40
    assert set(storm["after"]) >= {"bulkhead_in_use", "tasks", "hedges_open"}
    assert ("cancel-storm", "aiobotocore") in rows  # asyncio subjects named: both run it


def test_live_view_and_what_the_library_saw(tmp_path) -> None:
    """--live shows the resilient subject's health as it runs; the JSON keeps
    its samples (the breaker opening) and the metrics it exported."""
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [
            sys.executable, "-m", "resilient_cloud._cli", "bench", "outage-recovery", "--quick",
            "--subject", "resilient", "--live", "--json", str(out),
        ],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "live: outage-recovery" in completed.stdout
    [resilient] = json.loads(out.read_text())["results"]
    samples = resilient["telemetry"]["samples"]
    assert len(samples) >= 2 and samples[-1]["t"] >= samples[0]["t"]
    states = {e["breaker"] for s in samples for e in s["endpoints"] if e["endpoint"] == "dynamodb.us-east-1"}
    assert "open" in states  # the outage opened it
    assert samples[-1]["retries"] > 0
    metrics = resilient["telemetry"]["metrics"]
    calls = sum(point["value"] for point in metrics["resilient_cloud.calls"])
    assert calls == resilient["calls_finished"]
