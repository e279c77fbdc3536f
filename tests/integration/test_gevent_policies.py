"""resilient_cloud under gevent (as Locust's workers run it): hedged reads,
bulkhead waits and the DNS cache's stale and refreshed answers, in a
monkey-patched subprocess (gevent_probe.py) against the fake cloud. The
test process itself never imports gevent."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("gevent") is None, reason="needs gevent (the locust extra)"),
]

PROBE = Path(__file__).with_name("gevent_probe.py")


@pytest.fixture(scope="module")
def report(module_cloud) -> dict:
    # Module-scoped, so set up before the per-test AWS isolation: its own dummy identity.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true",
    )
    completed = subprocess.run(
        [sys.executable, str(PROBE), json.dumps(module_cloud.describe())],
        capture_output=True, text=True, timeout=90, check=False, env=env,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_the_probe_ran_monkey_patched(report) -> None:
    assert report["patched"] is True


def test_hedged_reads_go_to_the_fallback_and_answer_early(report) -> None:
    hedging = report["hedging"]
    assert hedging["served_by"] == ["us-west-2"] * 4
    assert hedging["fired"] == 4 and hedging["won"] == 4
    # Four calls at once, none waiting for the primary's 1 s: hedge greenlets ran concurrently.
    assert hedging["elapsed"] < 0.8, hedging


def test_a_full_bulkhead_makes_callers_wait_their_turn(report) -> None:
    bulkhead = report["bulkhead"]
    assert bulkhead["served_by"] == ["us-east-1"] * 3 and bulkhead["rejected"] == 0
    assert bulkhead["most_waiting"] >= 1
    # One slot: the calls (0.3 s each) ended one after another, not together.
    first, second, third = bulkhead["ends"]
    assert second - first >= 0.2 and third - second >= 0.2, bulkhead


def test_the_dns_cache_serves_stale_then_refreshes(report) -> None:
    dns = report["dns"]
    assert dns["served_by"] == ["us-east-1", "us-east-1", "us-west-2"]
    assert dns["stale"] >= 1 and dns["recovered"] >= 1
    # The background refresh (a greenlet) ran: no more than ~1 s of reads after the move.
    assert dns["reads_to_refresh"] <= 10, dns
