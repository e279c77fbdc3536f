"""Runs scenarios for subjects against one fake cloud, side by side."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import boto3
import botocore
from botocore.config import Config

from resilient_cloud.bench import overhead
from resilient_cloud.bench.scenarios import REGION, SCENARIOS, TABLE, Scenario
from resilient_cloud.fakecloud import FakeCloud, Faults

# Retry-related settings that change botocore's behaviour, recorded with
# every result (values only for these names; nothing secret is among them).
RETRY_ENVIRONMENT = ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "RESILIENT_CLOUD_DISABLED")
# Seconds a worker may overrun its scenario cap (start-up, reporting).
WORKER_GRACE = 60.0

Progress = Callable[[str], None]


def environment() -> dict[str, Any]:
    import resilient_cloud

    return {
        "botocore": botocore.__version__,
        "boto3": boto3.__version__,
        "resilient_cloud": resilient_cloud.__version__,
        "python": platform.python_version(),
        "retry_environment": {name: os.environ.get(name) for name in RETRY_ENVIRONMENT},
        "cpus": os.cpu_count(),
    }


def run(
    scenario_names: Sequence[str],
    subjects: Sequence[str],
    *,
    seed: int,
    quick: bool,
    calls: int | None = None,
    cap: float | None = None,
    progress: Progress = lambda message: None,
) -> dict[str, Any]:
    scenarios = [SCENARIOS[name].sized(quick, calls, cap) for name in scenario_names]
    results: list[dict[str, Any]] = []
    online = [s for s in scenarios if not s.offline]
    cloud = FakeCloud(regions=(REGION,), connection="keep-alive") if online else None
    try:
        for scenario in scenarios:
            if scenario.offline:
                progress(f"{scenario.name}: measuring per-call cost")
                results.append({"scenario": scenario.name, **overhead.measure(scenario.calls)})
                continue
            for subject in subjects:
                progress(f"{scenario.name}: {subject}")
                assert cloud is not None
                results.append(_run_subject(cloud, scenario, subject, seed))
    finally:
        if cloud is not None:
            cloud.close()
    return {
        "seed": seed,
        "quick": quick,
        "sizes": {s.name: {"calls": s.calls, "cap": s.cap} for s in scenarios},
        "environment": environment(),
        "results": results,
    }


def _run_subject(cloud: FakeCloud, scenario: Scenario, subject: str, seed: int) -> dict[str, Any]:
    cloud.clear_faults()
    cloud.reset_state()
    with cloud.resolver():
        _create_table(REGION)
    cloud.reset_stats()
    cloud.set_faults(REGION, Faults(seed=seed, **scenario.faults), service="dynamodb")
    spec = {
        "scenario": scenario.name,
        "subject": subject,
        "seed": seed,
        "calls": scenario.calls,
        "cap": scenario.cap,
        "addresses": {region: list(cloud.address(region)) for region in cloud.regions},
    }
    completed = subprocess.run(
        [sys.executable, "-m", "resilient_cloud.bench.worker", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=scenario.cap + WORKER_GRACE,
        env=_worker_environment(),
        check=False,
    )
    if completed.returncode != 0 or not completed.stdout.strip():
        raise RuntimeError(
            f"benchmark worker for {scenario.name}/{subject} failed "
            f"(exit {completed.returncode}):\n{completed.stderr[-2000:]}"
        )
    client_side = json.loads(completed.stdout.strip().splitlines()[-1])
    server_requests = cloud.stats(REGION)["requests"]
    cloud.clear_faults()
    started = client_side["calls_started"]
    return {
        "scenario": scenario.name,
        "subject": subject,
        **client_side,
        "server_requests": server_requests,
        # In-flight calls at the cap would have sent more: a lower bound then.
        "amplification": server_requests / started if started else None,
        "amplification_is_lower_bound": client_side["unfinished"] > 0,
        "success_ratio": (
            client_side["successes"] / client_side["calls_finished"]
            if client_side["calls_finished"]
            else None
        ),
    }


def _create_table(region: str) -> None:
    client = boto3.session.Session().client(
        "dynamodb",
        region_name=region,
        use_ssl=False,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=TABLE, Item={"pk": {"S": "item-1"}, "v": {"N": "1"}})


def _worker_environment() -> dict[str, str]:
    """The caller's environment minus its AWS identity and configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        if name in os.environ:  # a deliberate retry setting is part of the run
            env[name] = os.environ[name]
    return env
