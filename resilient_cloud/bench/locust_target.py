"""What a Locust run calls, and the limits that keep it from doing harm.

Two targets: the fake cloud (the default: moto servers on loopback, faulted
on the scenario's timeline) and a real account (``--rc-target aws``), which
is refused unless ``--rc-allow-real-aws`` and an expected account id are
given, and which only reads one item of one table.

No Locust or gevent import here: :func:`check_limits` and the step schedule
are tested in the test process.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from resilient_cloud.bench.scenarios import PRIMARY, SCENARIOS, TABLE, Scenario, Step
from resilient_cloud.bench.subjects import ClientSpec

if TYPE_CHECKING:
    from resilient_cloud.hooks import Hook

#: The Locust user class of each subject, and the request type its calls
#: are reported under.
SUBJECT_CLASSES = {
    "legacy": ("PlainLegacy", "plain-legacy"),
    "standard": ("PlainStandard", "plain-standard"),
    "adaptive": ("PlainAdaptive", "plain-adaptive"),
    "resilient": ("Resilient", "resilient"),
}
#: The fake cloud's item (as the benchmark runner creates it) and object.
KEY = {"pk": {"S": "item-1"}}
BUCKET, OBJECT = "bench-objects", "object-1"

# Limits when the run does not set its own: a staging table, not a fleet.
DEFAULT_MAX_USERS = 50
DEFAULT_MAX_RUN_TIME = 600.0
DEFAULT_MAX_CALLS = 50_000
_ACCOUNT = re.compile(r"^\d{12}$")


def check_limits(options: Any) -> list[str]:
    """Every reason to refuse this run (empty: go). ``options`` is Locust's
    parsed options (our ``rc_*`` fields beside its own)."""
    problems = []
    if options.rc_scenario not in SCENARIOS or SCENARIOS[options.rc_scenario].offline:
        runnable = [name for name, s in SCENARIOS.items() if not s.offline and not s.measurement]
        problems.append(f"--rc-scenario {options.rc_scenario!r} is not one of {', '.join(runnable)}")
    if options.rc_window:
        try:
            parse_window(options.rc_window)
        except ValueError as error:
            problems.append(f"--rc-window: {error}")
    users = getattr(options, "num_users", None)
    if users is not None and users > options.rc_max_users:
        problems.append(f"{users} users is more than --rc-max-users {options.rc_max_users}")
    run_time = getattr(options, "run_time", None)
    if run_time is not None and run_time > options.rc_max_run_time:
        problems.append(f"-t {run_time} s is more than --rc-max-run-time {options.rc_max_run_time:g} s")
    if options.rc_target == "aws":
        problems += _real_account_problems(options, run_time)
    return problems


def _real_account_problems(options: Any, run_time: float | None) -> list[str]:
    problems = []
    if not options.rc_allow_real_aws:
        problems.append(
            "--rc-target aws sends real requests to a real account: refused without "
            "--rc-allow-real-aws (use a staging account, never production)"
        )
    if not _ACCOUNT.match(options.rc_account or ""):
        problems.append("--rc-target aws needs --rc-account: the 12-digit staging account id expected")
    if not options.rc_table:
        problems.append("--rc-target aws needs --rc-table: a table to read (GetItem only)")
    if not options.rc_region:
        problems.append("--rc-target aws needs --rc-region")
    if getattr(options, "headless", False) and run_time is None:
        problems.append("--rc-target aws needs -t/--run-time: a real load test has an end")
    return problems


def parse_window(text: str) -> tuple[float, float]:
    """``"START,END"`` seconds into the run."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"expected START,END seconds, got {text!r}")
    start, end = (float(p) for p in parts)
    if not 0 <= start < end:
        raise ValueError(f"expected 0 <= START < END, got {text!r}")
    return start, end


def scenario_of(options: Any) -> Scenario:
    """The scenario at its full size, its window moved by ``--rc-window``."""
    scenario = SCENARIOS[options.rc_scenario]
    if options.rc_window:
        scenario = scenario.with_window(parse_window(options.rc_window))
    return scenario


@dataclass(frozen=True)
class Call:
    """One operation of the mix: reported under ``name``, picked with ``weight``."""

    name: str
    weight: float
    run: Callable[[], Any]


@dataclass(frozen=True)
class Target:
    """Where users' clients go, and what they call there."""

    scenario: Scenario
    real: bool
    region: str = PRIMARY
    table: str = TABLE
    key: dict[str, Any] | None = None

    @classmethod
    def from_options(cls, options: Any) -> Target:
        scenario = scenario_of(options)
        if options.rc_target != "aws":
            return cls(scenario, real=False)
        return cls(scenario, real=True, region=options.rc_region, table=options.rc_table,
                   key=json.loads(options.rc_key))

    def spec(self, options: Any, hooks: tuple[Hook, ...],
             before_send: Callable[..., Any]) -> ClientSpec:
        """The client every subject gets: the scenario's timeouts and
        resilient policy fields; fallback regions on the fake cloud only
        (a staging account names none unless it has replicas)."""
        return ClientSpec(
            service="dynamodb",
            region=self.region,
            connect_timeout=self.scenario.timeouts[0],
            read_timeout=self.scenario.timeouts[1],
            pool_size=10,
            seed=options.rc_seed,
            fallback_regions=() if self.real else tuple(self.scenario.regions[1:]),
            policy=self.scenario.resilient_policy,
            before_send=before_send,
            hooks=hooks,
            use_ssl=self.real,
        )

    def calls(self, make: Callable[[ClientSpec], Any], spec: ClientSpec) -> list[Call]:
        """The scenario's mix: reads of the item, and of an S3 object for
        the share the scenario sends to its slow dependency. A real account
        is only read from (GetItem on the named table)."""
        ddb = make(spec)
        key = self.key or KEY
        calls = [Call("GetItem", 1.0 - self.scenario.load.slow_share,
                      lambda: ddb.get_item(TableName=self.table, Key=key))]
        if self.scenario.load.slow_share and not self.real:
            s3 = make(replace(spec, service="s3", fallback_regions=()))
            calls.append(Call("GetObject", self.scenario.load.slow_share,
                              lambda: s3.get_object(Bucket=BUCKET, Key=OBJECT)["Body"].read()))
        return calls


def fake_credentials() -> None:
    """Dummy AWS identity for this process: nothing meant for the fake cloud
    is signed with a real key, and no profile or instance metadata is read."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=PRIMARY,
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )


def server_steps(scenario: Scenario) -> list[Step]:
    """Steps the servers carry out (faults, TCP): applied once, by the master."""
    return [s for s in scenario.steps if s.kind != "dns"]


def resolver_steps(scenario: Scenario) -> list[Step]:
    """DNS steps live in each process's resolver: every process with users applies them."""
    return [s for s in scenario.steps if s.kind == "dns"]


def run_steps(
    apply: Callable[[Step], None], steps: Sequence[Step], started_at: float, stop: threading.Event,
) -> None:
    """Apply each step at ``started_at`` (a ``time.time()``, shared by the
    machines of a run) plus its ``at``; return early once ``stop`` is set."""
    for step in sorted(steps, key=lambda s: s.at):
        if stop.wait(max(0.0, started_at + step.at - time.time())):
            return
        apply(step)
