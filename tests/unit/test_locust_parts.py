"""The Locust run's parts that need no Locust: our figures, merged from
workers, and the limits that refuse a harmful run; and the rule that
nothing but Locust's own processes imports the locustfile (importing Locust
patches the standard library with gevent)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from resilient_cloud.bench import locust_target
from resilient_cloud.bench.locust_figures import Figures, phase_at, read_csv, summary, write_csv

ROOT = Path(__file__).resolve().parents[2]


def test_phases_follow_the_fault_window() -> None:
    window = (3.0, 8.0)
    assert [phase_at(t, window) for t in (0.0, 2.99, 3.0, 7.99, 8.0)] == [
        "before", "before", "fault", "fault", "after",
    ]
    assert phase_at(5.0, None) == "run" and phase_at(None, window) == "run"


def test_workers_figures_merge_on_the_master_into_per_call_figures(tmp_path) -> None:
    workers = [Figures(), Figures()]
    workers[0].add("plain-standard", "fault", calls=2, failed=2, requests=6)
    workers[1].add("plain-standard", "fault", calls=1, failed=0, requests=2)
    workers[1].add("resilient", "fault", calls=4, failed=4, requests=1, refused=3)
    master = Figures()
    for worker in workers:
        master.merge(worker.drain())
        assert worker.drain() == []  # a report carries only what is new
    rows = {(r["subject"], r["phase"]): r for r in master.rows()}
    plain = rows[("plain-standard", "fault")]
    assert (plain["calls"], plain["requests"], plain["requests_per_call"]) == (3, 8, round(8 / 3, 3))
    assert plain["success_ratio"] == round(1 / 3, 3)
    assert rows[("resilient", "all")]["refused"] == 3
    write_csv(tmp_path / "rc.csv", master.rows())
    assert read_csv(tmp_path / "rc.csv")[("resilient", "fault")]["requests_per_call"] == 0.25
    assert "plain-standard" in summary(master.rows())


def test_a_subject_without_calls_has_no_per_call_figure() -> None:
    figures = Figures()
    figures.add("resilient", "fault", stale_dns=2)
    (fault, _) = figures.rows()
    assert math.isnan(fault["requests_per_call"]) and fault["stale_dns"] == 2


def _options(**changes: object) -> SimpleNamespace:
    options = dict(
        rc_scenario="outage-recovery", rc_window="", rc_target="fake", rc_allow_real_aws=False,
        rc_account="", rc_table="", rc_region="", num_users=4, run_time=15, headless=True,
        rc_max_users=50, rc_max_run_time=600.0,
    )
    options.update(changes)
    return SimpleNamespace(**options)


def test_the_fake_cloud_within_limits_goes() -> None:
    assert locust_target.check_limits(_options()) == []
    assert locust_target.check_limits(_options(rc_window="2,9")) == []


def test_limits_refuse_every_bad_field_at_once() -> None:
    problems = locust_target.check_limits(
        _options(rc_scenario="overhead", rc_window="9,2", num_users=51, run_time=601)
    )
    assert [p.split()[0] for p in problems] == ["--rc-scenario", "--rc-window:", "51", "-t"]


def test_a_real_account_needs_the_flag_the_account_the_table_and_an_end() -> None:
    problems = locust_target.check_limits(_options(rc_target="aws", run_time=None))
    assert len(problems) == 5
    assert "--rc-allow-real-aws" in problems[0]
    ready = _options(
        rc_target="aws", rc_allow_real_aws=True, rc_account="123456789012", rc_table="t",
        rc_region="eu-west-1",
    )
    assert locust_target.check_limits(ready) == []
    assert locust_target.check_limits(_options(**{**vars(ready), "rc_account": "prod"})) != []


def test_the_library_and_its_command_line_never_import_locust_or_gevent() -> None:
    code = """
import importlib.util, sys
import resilient_cloud, resilient_cloud.bench, resilient_cloud.testing
if importlib.util.find_spec("aiohttp") is not None:  # rc.aio needs the aio extra
    import resilient_cloud.aio
from resilient_cloud import _cli
from resilient_cloud.bench import cli, locust_figures, locust_launch, locust_target, runner
_cli.build_parser().parse_args(["bench", "--locustfile"])
assert locust_launch.locustfile().endswith("locust.py")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("locust", "gevent")
                or m == "resilient_cloud.bench.locust")
assert not loaded, loaded
"""
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    # ...and the test process has not either, so far.
    assert "gevent" not in sys.modules and "resilient_cloud.bench.locust" not in sys.modules


def test_no_source_imports_the_locustfile() -> None:
    importing = re.compile(
        r"^\s*(from resilient_cloud\.bench\.locust import|from resilient_cloud\.bench import .*\blocust\b"
        r"|import resilient_cloud\.bench\.locust\b)",
        re.M,
    )
    for line in ("from resilient_cloud.bench.locust import FIGURES", "    from resilient_cloud.bench import locust",
                 "import resilient_cloud.bench.locust as m"):
        assert importing.search(line), line
    assert not importing.search("from resilient_cloud.bench import locust_target")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("resilient_cloud", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if importing.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_launcher_keeps_the_web_ui_on_loopback_unless_told_and_workers_on_their_master() -> None:
    from resilient_cloud.bench import locust_launch  # imports no Locust

    main, workers = locust_launch.commands("outage", 2, ["--headless"], 1, 5557)
    assert main[main.index("--web-host") + 1] == "127.0.0.1"
    assert main[main.index("--exit-code-on-error") + 1] == "0"
    assert main[main.index("--master-bind-host") + 1] == "127.0.0.1"
    assert len(workers) == 2 and all(w[w.index("--master-port") + 1] == "5557" for w in workers)
    told, _ = locust_launch.commands("outage", 0, ["--web-host", "0.0.0.0", "--exit-code-on-error", "1"], 1, 5557)
    assert told.count("--web-host") == 1 and told[told.index("--web-host") + 1] == "0.0.0.0"
    assert told[told.index("--exit-code-on-error") + 1] == "1"
