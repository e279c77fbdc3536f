"""Runs scenarios for subjects against fake clouds, side by side."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import boto3
import botocore
from botocore.config import Config

from resilient_cloud.bench import dnscost, overhead, telemetry_cost, worker
from resilient_cloud.bench.scenarios import PRIMARY, SCENARIOS, TABLE, Scenario
from resilient_cloud.bench.subjects import ASYNC_SUBJECTS, DEFAULT_SUBJECTS
from resilient_cloud.bench.worker import BUCKET, KEY, OBJECT
from resilient_cloud.fakecloud import REGION_HEADER, FakeCloud

# Retry-related settings that change botocore's behaviour, recorded with
# every result (values only for these names; nothing secret is among them).
RETRY_ENVIRONMENT = ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "RESILIENT_CLOUD_DISABLED")
# Seconds a worker may overrun its scenario cap (start-up, reporting).
WORKER_GRACE = 60.0

Progress = Callable[[str], None]
#: ``on_sample(scenario, subject, sample)``: a resilient subject's health sample, live.
OnSample = Callable[[str, str, dict[str, Any]], None]


def environment() -> dict[str, Any]:
    import resilient_cloud

    return {
        "botocore": botocore.__version__,
        "boto3": boto3.__version__,
        "resilient_cloud": resilient_cloud.__version__,
        **_aio_versions(),
        "python": platform.python_version(),
        "retry_environment": {name: os.environ.get(name) for name in RETRY_ENVIRONMENT},
        "cpus": os.cpu_count(),
        "commit": commit_stamp(),
    }


def _aio_versions() -> dict[str, str]:
    """aiobotocore's and aiohttp's versions, when the ``aio`` extra is installed."""
    try:
        import aiobotocore
        import aiohttp
    except ImportError:
        return {}
    return {"aiobotocore": aiobotocore.__version__, "aiohttp": aiohttp.__version__}


#: The library's files, whose changes make a recorded run stale.
LIBRARY = "resilient_cloud"
#: The library as the bench measures it: everything under LIBRARY but the
#: fleet simulator, which no benchmark runs, and the bench's presentation
#: (tables, summary, plots) and Locust users, which change no figure (git pathspecs).
MEASURED = (
    LIBRARY,
    f":(exclude){LIBRARY}/sim",
    *(f":(exclude){LIBRARY}/bench/{name}.py" for name in ("report", "summary", "plot", "locust")),
)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=False
    )


def commit_stamp(root: Path | None = None) -> dict[str, Any] | None:
    """The commit the measured code is at: ``sha`` (``git rev-parse HEAD``),
    ``dirty`` (uncommitted changes to tracked files anywhere in the tree) and
    ``library_dirty`` (under ``resilient_cloud/``, the simulator aside: then
    no commit holds the code measured). None when the library is not in a git checkout."""
    if root is None:
        import resilient_cloud

        root = Path(resilient_cloud.__file__).resolve().parent.parent
    try:
        head = _git(root, "rev-parse", "HEAD")
        if head.returncode != 0 or not (root / LIBRARY).is_dir():
            return None
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
        library = _git(root, "status", "--porcelain", "--untracked-files=no", "--", *MEASURED)
    except (OSError, subprocess.SubprocessError):
        return None
    return {
        "sha": head.stdout.strip(),
        "dirty": bool(dirty.stdout.strip()),
        "library_dirty": bool(library.stdout.strip()),
    }


class Clouds:
    """One fake cloud per (regions, connection style), started on first use."""

    def __init__(self) -> None:
        self._clouds: dict[tuple[tuple[str, ...], str], FakeCloud] = {}

    def for_scenario(self, scenario: Scenario) -> FakeCloud:
        key = (scenario.regions, scenario.connection)
        if key not in self._clouds:
            self._clouds[key] = FakeCloud(regions=scenario.regions, connection=scenario.connection)
        return self._clouds[key]

    def close(self) -> None:
        for cloud in self._clouds.values():
            cloud.close()


def subjects_for(scenario: Scenario, subjects: Sequence[str] | None) -> list[str]:
    """The subjects named, or by default the scenario's own (else the defaults).

    The cancellation storm cancels asyncio tasks: it runs the asyncio
    subjects named, or its own."""
    chosen = list(subjects or ())
    if scenario.measurement == "cancel-storm":
        chosen = [subject for subject in chosen if subject in ASYNC_SUBJECTS]
    return chosen or list(scenario.subjects or DEFAULT_SUBJECTS)


#: Why a scenario did not run where aiobotocore is not installed.
NEEDS_AIO = "needs the aio extra: pip install 'resilient-cloud[aio]'"


def run(
    scenario_names: Sequence[str],
    subjects: Sequence[str] | None,
    *,
    seed: int,
    quick: bool,
    calls: int | None = None,
    cap: float | None = None,
    progress: Progress = lambda message: None,
    on_sample: OnSample | None = None,
) -> dict[str, Any]:
    scenarios = [SCENARIOS[name].sized(quick, calls, cap) for name in scenario_names]
    results: list[dict[str, Any]] = []
    clouds = Clouds()
    aio = importlib.util.find_spec("aiobotocore") is not None
    try:
        for scenario in scenarios:
            chosen = subjects_for(scenario, subjects)
            if not aio:
                # Without the aio extra the asyncio subjects cannot run: say so, run the rest.
                chosen = [subject for subject in chosen if subject not in ASYNC_SUBJECTS]
                if scenario.measurement == "overhead-aio" or not chosen:
                    progress(f"{scenario.name}: skipped (needs the aio extra)")
                    results.append({"scenario": scenario.name, "skipped": NEEDS_AIO})
                    continue
            if scenario.offline:
                progress(f"{scenario.name}: measuring per-call cost")
                measure = {
                    "overhead-aio": overhead.measure_aio,
                    "overhead-telemetry": telemetry_cost.measure,
                }.get(scenario.measurement or "", overhead.measure)
                results.append({"scenario": scenario.name, **measure(scenario.load.calls)})
                continue
            for subject in chosen:
                progress(f"{scenario.name}: {subject}")
                cloud = clouds.for_scenario(scenario)
                results.append(
                    _run_subject(cloud, scenario, subject, seed, quick, calls, cap, on_sample)
                )
            for probe in scenario.probes:
                progress(f"{scenario.name}: measuring {probe}")
                results.append({"scenario": scenario.name, "probe": probe, **_probe(probe, clouds, scenario)})
    finally:
        clouds.close()
    return {
        "seed": seed,
        "quick": quick,
        "scenarios": {s.name: _describe(s) for s in scenarios},
        "environment": environment(),
        "results": results,
    }


def _probe(probe: str, clouds: Clouds, scenario: Scenario) -> dict[str, Any]:
    if probe != "dns-hit-cost":
        raise ValueError(f"unknown probe {probe!r}")
    with clouds.for_scenario(scenario).resolver():  # the resolver the clients called
        return dnscost.measure()


def _describe(scenario: Scenario) -> dict[str, Any]:
    load = scenario.load
    return {
        "description": scenario.description,
        "calls": load.planned_calls,
        "threads": load.threads,
        "rate": load.rate,
        "cap": scenario.cap,
        "window": scenario.window,
        "regions": list(scenario.regions),
        "connection": scenario.connection,
        "timeouts": list(scenario.timeouts),
        "resilient_policy": dict(scenario.resilient_policy),
        "measurement": scenario.measurement,
    }


def _run_subject(
    cloud: FakeCloud, scenario: Scenario, subject: str, seed: int, quick: bool,
    calls: int | None, cap: float | None, on_sample: OnSample | None = None,
) -> dict[str, Any]:
    fresh_state(cloud, scenario)
    spec = {
        "scenario": scenario.name,
        "subject": subject,
        "seed": seed,
        "quick": quick,
        "calls": calls,
        "cap": cap,
        "cloud": cloud.describe(),
        "live": on_sample is not None,
    }
    measured = _in_worker(spec, timeout=scenario.cap + WORKER_GRACE, on_sample=on_sample)
    stats = {region: cloud.stats(region) for region in cloud.regions}
    by_region = {region: region_stats["requests"] for region, region_stats in stats.items()}
    throttled = sum(
        count for region_stats in stats.values()
        for outcome, count in region_stats["outcomes"].items() if outcome in THROTTLE_CODES
    )
    cloud.clear_faults()  # TCP faults included
    server_requests = sum(by_region.values())
    started = measured["calls_started"]
    fallback_requests = server_requests - by_region[PRIMARY] if len(by_region) > 1 else None
    return {
        "scenario": scenario.name,
        "subject": subject,
        "botocore": botocore.__version__,
        **measured,
        "server_requests": server_requests,
        "requests_by_region": by_region,
        "server_throttled": throttled,
        "throttled_share": throttled / server_requests if server_requests else None,
        "fallback_requests": fallback_requests,
        # In-flight calls at the cap would have sent more: a lower bound then.
        "amplification": server_requests / started if started else None,
        "amplification_is_lower_bound": measured["unfinished"] > 0,
    }


#: The fake cloud's throttling answers (fakecloud._faults.throttle_kind and the injectable ones).
THROTTLE_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "SlowDown"})


def _in_worker(
    spec: dict[str, Any], timeout: float, on_sample: OnSample | None = None
) -> dict[str, Any]:
    """Run one measurement in a fresh process; kill it if it overstays.
    ``on_sample`` gets the health samples it sends on the way (``spec["live"]``)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["resilient_cloud.bench.worker"])
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=worker.child_main, args=(spec, _worker_environment(), sender), daemon=True
    )
    process.start()
    sender.close()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if not receiver.poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError(
                    f"benchmark worker for {spec['scenario']}/{spec['subject']} timed out"
                )
            status, payload = receiver.recv()
            if status != "sample":
                break
            if on_sample is not None:
                on_sample(spec["scenario"], spec["subject"], payload)
    except EOFError:
        raise RuntimeError(
            f"benchmark worker for {spec['scenario']}/{spec['subject']} died "
            f"(exit code {process.exitcode})"
        ) from None
    finally:
        receiver.close()
        process.join(5.0)
        if process.is_alive():
            process.kill()
            process.join()
    if status != "ok":
        raise RuntimeError(f"benchmark worker for {spec['scenario']}/{spec['subject']} failed:\n{payload}")
    return payload  # type: ignore[no-any-return]  # an "ok" worker sends its result dict


def fresh_state(cloud: FakeCloud, scenario: Scenario) -> None:
    """Empty moto, no faults, then the data every scenario reads, in every region."""
    cloud.clear_faults()  # TCP faults included
    cloud.reset_state()
    with cloud.resolver():
        for region in cloud.regions:
            _create_data(region, with_objects=scenario.load.slow_share > 0)
    cloud.reset_stats()


ITEM = {**KEY, "v": {"N": "1"}}


def _create_data(region: str, with_objects: bool) -> None:
    """The table and item the load reads, the same in every region (a
    fallback region serves the same answer), checked by reading it back."""
    session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench")
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    ddb = session.client("dynamodb", region_name=region, use_ssl=False, config=config)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=TABLE, Item=ITEM)
    answer = ddb.get_item(TableName=TABLE, Key=KEY)
    served_by = answer["ResponseMetadata"]["HTTPHeaders"].get(REGION_HEADER)
    if answer.get("Item") != ITEM or served_by != region:
        raise RuntimeError(
            f"the {region} table does not hold the benchmark's item: {answer.get('Item')!r} "
            f"(served by {served_by!r})"
        )
    if with_objects and region == PRIMARY:
        s3 = session.client("s3", region_name=region, use_ssl=False, config=config)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=OBJECT, Body=b"x" * 1024)


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
