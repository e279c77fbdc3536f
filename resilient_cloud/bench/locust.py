"""Locust users that run a benchmark scenario's calls through plain botocore
or through resilient_cloud: a locustfile (``locust -f``).

Importing this module imports Locust, which patches the standard library
with gevent: nothing in the library or the test process imports it. Run it
with ``resilient-cloud bench SCENARIO --locust [LOCUST ARGS]``, or with
Locust itself::

    locust -f "$(resilient-cloud bench --locustfile)" --rc-scenario outage-recovery

Each user class is one subject (:data:`~resilient_cloud.bench.locust_target.SUBJECT_CLASSES`:
``PlainLegacy``, ``PlainStandard``, ``PlainAdaptive``, ``Resilient``; name
some on the command line to run only those), and each user is one
application instance with its own client, calling at ``--rc-rate`` calls
per second. Each logical call (retries inside) is one Locust request:
``request_type`` is the subject (``plain-standard``, ``resilient``), ``name``
the operation. Our own figures (requests per call, refusals, stale DNS
answers, failovers, hedges; per phase of the fault) are in the web UI's
"resilient_cloud" tab, in ``<--csv prefix>_rc.csv`` and in a summary at the
end of the run (:mod:`~resilient_cloud.bench.locust_figures`).

The master (or a local run) starts the fake cloud, unless ``--rc-cloud``
describes one already running, and carries out the scenario's server
faults; workers receive the cloud's description with the custom arguments
Locust sends them, and reach the servers by the real AWS hostnames through
the patched resolver, as the benchmark's own workers do.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import random
import sys
import threading
import time
from typing import Any

from locust import User, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner
from locust.user.wait_time import constant_throughput

from resilient_cloud import hooks
from resilient_cloud.bench import locust_target as targets
from resilient_cloud.bench.load import Tracer
from resilient_cloud.bench.locust_figures import COLUMNS, Figures, phase_at, summary, write_csv
from resilient_cloud.bench.subjects import SUBJECTS
from resilient_cloud.bench.timeline import apply
from resilient_cloud.errors import ResilienceError, StopReason, stop_details

log = logging.getLogger("resilient_cloud.bench.locust")

#: This process's figures: a worker's since its last report, the master's (or a local run's) in all.
FIGURES = Figures()
#: Per-call request counts, carried by a context variable (each greenlet has its own).
TRACER = Tracer()


class _Run:
    """This process's part of the run."""

    def __init__(self) -> None:
        self.options: Any = None
        self.target: targets.Target | None = None
        self.cloud: Any = None  # a RemoteCloud (processes with users) or the FakeCloud the master owns
        self.owned: Any = None
        self.stop = threading.Event()
        self.calls = 0  # logical calls this process made: the --rc-max-calls backstop

    def phase(self) -> str:
        started = getattr(self.options, "rc_started_at", None)
        elapsed = None if started is None else time.time() - started
        return phase_at(elapsed, self.target.scenario.window if self.target else None)


RUN = _Run()


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    arg = parser.add_argument
    arg("--rc-scenario", default="outage-recovery", help="benchmark scenario: its faults and call mix")
    arg("--rc-window", default="", metavar="START,END",
        help="move the scenario's fault window to START..END seconds into the run")
    arg("--rc-rate", type=float, default=2.0, help="calls per second per user (at most)")
    arg("--rc-seed", type=int, default=1, help="seed for faults and jitter")
    arg("--rc-target", choices=("fake", "aws"), default="fake",
        help="fake: moto servers on loopback; aws: a real (staging!) account")
    arg("--rc-allow-real-aws", action="store_true", default=False,
        help="required with --rc-target aws")
    arg("--rc-account", default="", help="aws: the account id the credentials must belong to")
    arg("--rc-region", default="", help="aws: the region")
    arg("--rc-table", default="", help="aws: the table read with GetItem")
    arg("--rc-key", default=json.dumps(targets.KEY), help="aws: the item's key, as DynamoDB JSON")
    arg("--rc-max-users", type=int, default=targets.DEFAULT_MAX_USERS, help="refuse or stop above this")
    arg("--rc-max-run-time", type=float, default=targets.DEFAULT_MAX_RUN_TIME,
        help="seconds; refuse a longer -t, stop a run that lasts longer")
    arg("--rc-max-calls", type=int, default=targets.DEFAULT_MAX_CALLS,
        help="stop once the run has made this many logical calls")
    # Set by the CLI or the master; workers receive them with the spawn message.
    arg("--rc-cloud", default="", include_in_web_ui=False, help="a running fake cloud's description (JSON)")
    arg("--rc-started-at", type=float, default=None, include_in_web_ui=False, help=argparse.SUPPRESS)


@events.init.add_listener
def _init(environment: Any, runner: Any = None, web_ui: Any = None, **_: Any) -> None:
    options = RUN.options = environment.parsed_options
    if isinstance(runner, WorkerRunner):  # its options come from the master, at spawn
        environment.events.report_to_master.add_listener(_report_to_master)
        return
    problems = targets.check_limits(options)
    if problems:
        sys.exit("resilient_cloud: refusing to run:\n  " + "\n  ".join(problems))
    RUN.target = targets.Target.from_options(options)
    if RUN.target.real:
        _check_account(options)
    elif not options.rc_cloud:
        RUN.owned = _start_fake_cloud(RUN.target.scenario)
        options.rc_cloud = json.dumps(RUN.owned.describe())
    if isinstance(runner, MasterRunner):
        environment.events.worker_report.add_listener(_worker_report)
    if web_ui is not None:
        _extend_web_ui(web_ui)
    environment.events.quit.add_listener(lambda **_: _finish(environment))


def _start_fake_cloud(scenario: Any) -> Any:
    from resilient_cloud.bench.runner import fresh_state
    from resilient_cloud.fakecloud import FakeCloud

    targets.fake_credentials()
    cloud = FakeCloud(regions=scenario.regions, connection=scenario.connection)
    fresh_state(cloud, scenario)
    log.info("fake cloud for %s: %s", scenario.name, cloud)
    return cloud


def _check_account(options: Any) -> None:
    """The credentials must belong to the account named: a wrong profile
    must not send load to production."""
    import boto3

    account = boto3.client("sts", region_name=options.rc_region).get_caller_identity()["Account"]
    if account != options.rc_account:
        sys.exit(f"resilient_cloud: the credentials are for account {account}, "
                 f"not --rc-account {options.rc_account}: refusing to run")


@events.test_start.add_listener
def _test_start(environment: Any, **_: Any) -> None:
    options, runner = environment.parsed_options, environment.runner
    RUN.stop = threading.Event()
    if not isinstance(runner, WorkerRunner):
        options.rc_started_at = time.time()  # before the spawn messages carry it to workers
        FIGURES.clear()
        if RUN.owned is not None:  # we started the fake cloud, so _init chose a target
            assert RUN.target is not None
            _in_background(targets.server_steps(RUN.target.scenario), RUN.owned, options)
        threading.Thread(target=_guard, args=(environment,), daemon=True).start()
    if not isinstance(runner, MasterRunner):
        _attach(options)


def _attach(options: Any) -> None:
    """A process with users: the target, and the fake cloud's resolver."""
    RUN.options, RUN.calls = options, 0
    RUN.target = targets.Target.from_options(options)
    if RUN.target.real:
        return
    if RUN.cloud is None:
        from resilient_cloud.fakecloud import RemoteCloud

        targets.fake_credentials()
        RUN.cloud = RemoteCloud(json.loads(options.rc_cloud))
        RUN.cloud.resolver().install()
    _in_background(targets.resolver_steps(RUN.target.scenario), RUN.cloud, options)


def _in_background(steps: list[Any], cloud: Any, options: Any) -> None:
    if steps:
        def step(s: Any) -> None:
            apply(cloud, s, options.rc_seed)

        threading.Thread(
            target=targets.run_steps, args=(step, steps, options.rc_started_at, RUN.stop), daemon=True
        ).start()


def _guard(environment: Any) -> None:
    """Stop the run at its limits, whatever started it (the web UI too)."""
    options, runner, stop = environment.parsed_options, environment.runner, RUN.stop
    while not stop.wait(0.5):
        elapsed = time.time() - options.rc_started_at
        reason = (
            f"{runner.stats.total.num_requests} calls reached --rc-max-calls"
            if runner.stats.total.num_requests >= options.rc_max_calls
            else f"{runner.user_count} users is over --rc-max-users"
            if runner.user_count > options.rc_max_users
            else f"{elapsed:.0f} s reached --rc-max-run-time" if elapsed >= options.rc_max_run_time
            else None
        )
        if reason:
            log.warning("resilient_cloud: stopping: %s", reason)
            runner.quit() if options.headless else runner.stop()
            return


@events.test_stop.add_listener
def _test_stop(environment: Any, **_: Any) -> None:
    RUN.stop.set()
    if RUN.owned is not None:  # the next run in the web UI starts healthy
        RUN.owned.clear_faults()
    if RUN.cloud is not None:
        RUN.cloud.clear_dns()


def _report_to_master(client_id: str, data: dict[str, Any]) -> None:
    data["rc_figures"] = FIGURES.drain()


def _worker_report(client_id: str, data: dict[str, Any]) -> None:
    FIGURES.merge(data.get("rc_figures", ()))


def _finish(environment: Any) -> None:
    """Our figures beside Locust's: printed, and written next to its CSV."""
    rows = FIGURES.rows()
    print("\nresilient_cloud figures (requests per logical call, by phase of the fault):")
    print(summary(rows), flush=True)
    prefix = environment.parsed_options.csv_prefix
    if prefix:
        write_csv(f"{prefix}_rc.csv", rows)
    if RUN.owned is not None:
        RUN.owned.close()


def _extend_web_ui(web_ui: Any) -> None:
    """A "resilient_cloud" tab beside Locust's statistics, fed with the
    stats the UI polls, and the figures as CSV at /rc/figures.csv."""
    from flask import Response, request

    web_ui.template_args["extended_tabs"] = [{"title": "resilient_cloud", "key": "rc-figures"}]
    web_ui.template_args["extended_tables"] = [
        {"key": "rc-figures", "structure": [{"key": c, "title": c.replace("_", " ")} for c in COLUMNS]}
    ]
    web_ui.template_args["extended_csv_files"] = [
        {"href": "/rc/figures.csv", "title": "Download resilient_cloud figures CSV"}
    ]

    @web_ui.app.after_request
    def _with_figures(response: Any) -> Any:
        if request.path == "/stats/requests" and response.is_json:
            rows = [{k: ("" if v != v else v) for k, v in r.items()} for r in FIGURES.rows()]
            response.set_data(json.dumps(
                {**response.json, "extended_stats": [{"key": "rc-figures", "data": rows}]}
            ))
        return response

    @web_ui.app.route("/rc/figures.csv")
    def _figures_csv() -> Any:
        buffer = io.StringIO()
        write_csv(buffer, FIGURES.rows())
        return Response(buffer.getvalue(), mimetype="text/csv")


class _SubjectUser(User):
    """One application instance calling through one subject's client."""

    abstract = True
    subject = ""

    def wait_time(self) -> float:
        return constant_throughput(RUN.options.rc_rate)(self)

    def on_start(self) -> None:
        assert RUN.target is not None, "the run has not started in this process"
        resilient = self.subject == "resilient"
        spec = RUN.target.spec(
            RUN.options, hooks=(TRACER.hook, self._count_event) if resilient else (),
            before_send=TRACER.before_send,
        )
        self._calls = RUN.target.calls(SUBJECTS[self.subject], spec)
        self._weights = [c.weight for c in self._calls]
        self._random = random.Random(f"{RUN.options.rc_seed}-{id(self)}")
        self._request_type = targets.SUBJECT_CLASSES[self.subject][1]

    @task
    def call(self) -> None:
        if RUN.calls >= RUN.options.rc_max_calls:
            raise StopUser()
        RUN.calls += 1
        call = self._random.choices(self._calls, self._weights)[0]
        phase = RUN.phase()
        trace, token = TRACER.begin()
        error: Exception | None = None
        started = time.perf_counter()
        try:
            call.run()
        except Exception as caught:  # reported to Locust, as a failed request
            error = caught
        finally:
            TRACER.end(token)
        self.environment.events.request.fire(
            request_type=self._request_type, name=call.name,
            response_time=(time.perf_counter() - started) * 1000, response_length=0,
            exception=error, context={"phase": phase},
        )
        details = stop_details(error) if error is not None else None
        FIGURES.add(
            self._request_type, phase, calls=1, failed=int(error is not None), requests=trace.sent,
            refused=int(isinstance(error, ResilienceError)),
            budget_stops=int(details is not None and details.reason is StopReason.BUDGET_EXHAUSTED),
            hedges=trace.hedges,
        )

    def _count_event(self, event: hooks.Event) -> None:
        if isinstance(event, hooks.DnsStaleAnswerServed):
            FIGURES.add(self._request_type, RUN.phase(), stale_dns=1)
        elif isinstance(event, hooks.FailedOver):
            FIGURES.add(self._request_type, RUN.phase(), failovers=1)


def _user_class(subject: str) -> type[User]:
    name = targets.SUBJECT_CLASSES[subject][0]
    return type(name, (_SubjectUser,), {"subject": subject, "__module__": __name__,
                                         "__doc__": f"Calls through the {subject!r} subject."})


PlainLegacy = _user_class("legacy")
PlainStandard = _user_class("standard")
PlainAdaptive = _user_class("adaptive")
Resilient = _user_class("resilient")
