"""benchmarks/check.py: each target's verdicts on recorded rows that meet
it and rows that miss each check (at the boundaries), and the rule that
refuses a stale recording."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import resilient_cloud as rc
from resilient_cloud._botocore.client import runtime_of
from resilient_cloud.bench import runner
from resilient_cloud.bench.scenarios import GROUPS
from resilient_cloud.bench.subjects import DEFAULT_SUBJECTS, RESILIENT_SUBJECTS, SUBJECTS, ClientSpec

CHECK_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "check.py"


def _load_check() -> Any:
    spec = importlib.util.spec_from_file_location("benchmarks_check", CHECK_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check = _load_check()
Rows = dict[tuple[str, Any], dict[str, Any]]


def row(**fields: Any) -> dict[str, Any]:
    return {"amplification_is_lower_bound": False, **fields}


# -- rows that meet every target -------------------------------------------------


def foundation_rows() -> Rows:
    return {
        ("outage", "legacy"): row(amplification=10.0),
        ("outage", "standard"): row(amplification=1.5),
        ("outage", "resilient"): row(amplification=0.14),
        ("outage", "resilient-budget"): row(amplification=1.25, calls_started=200),
        ("transient", "legacy"): row(amplification=1.1153),
        ("transient", "standard"): row(amplification=1.11, p99=0.991),
        ("transient", "resilient"): row(
            amplification=1.1153, success_ratio=1.0, calls_finished=3000, p99=0.114
        ),
        ("overhead", None): {"ratio": 1.019, "ratio_min": 0.98, "ratio_max": 1.05},
    }


def breakers_rows() -> Rows:
    return {
        ("outage", "legacy"): row(amplification=10.0, p50=25.6),
        ("outage", "resilient"): row(amplification=0.14, p50=0.0),
        ("transient", "resilient"): row(success_ratio=0.999, calls_finished=3000),
        ("outage-recovery", "resilient"): row(time_to_recover=9.77),
        ("bulkhead", "legacy"): row(window_p99=1.5, outside_p99=0.1),
        ("bulkhead", "resilient"): row(window_p99=0.15, outside_p99=0.1),
    }


def _lookups(empty: int) -> dict[str, Any]:
    return {"us-east-1": {"dynamodb": {"empty": empty}}}


def dns_rows() -> Rows:
    plain = {"window_success_ratio": 0.5, "window_p99": 30.0, "attempts_per_finished_call": 1.5}
    return {
        ("dns-empty", "legacy"): row(**plain, dns_lookups=_lookups(1074)),
        ("dns-empty", "standard"): row(**plain, dns_lookups=_lookups(1296)),
        ("dns-empty", "resilient"): row(
            window_success_ratio=1.0, window_p99=0.014, dns_lookups=_lookups(2)
        ),
        ("dns-empty", None): {
            "hit_ratio": 0.03, "cache_hit_us": 0.5, "getaddrinfo_us": 16.0,
            "hit_ratio_vs_libc": 0.03, "libc_localhost_us": 16.0,
        },
    }


REGION_OUTAGES = GROUPS["region-outage"]


def regions_rows() -> Rows:
    rows: Rows = {}
    for name in REGION_OUTAGES:
        rows[(name, "resilient")] = row(
            window_success_ratio=1.0, window_calls=400, fallback_served=0.3, window_p99=0.05,
            first_success_after_fault=0.02, primary_back_after=0.4, window=[8.0, 20.0],
            region_switches=[{"t": 8.1, "before": "us-east-1", "after": "us-west-2"}],
        )
        for plain in ("legacy", "standard"):
            rows[(name, plain)] = row(
                first_success_after_fault=None, window_success_during_fault=0.0,
                window_success_ratio=0.6, window_p99=30.0,
            )
    tail = {"p50": 0.01, "server_requests": 1000, "calls_started": 1000, "requests_by_region": {}}
    rows[("slow-tail", "standard")] = row(p99=1.0, amplification=1.0, **tail)
    rows[("slow-tail", "resilient")] = row(p99=1.0, amplification=1.0, **tail)
    for subject in ("resilient-hedged", "resilient-hedged-p90", "resilient-hedged-p95"):
        rows[("slow-tail", subject)] = row(
            p99=0.02, amplification=1.08, hedges_fired=80, hedges_won=70,
            health=[{"hedging": None}, {"hedging": {"delay": 0.1}}], **tail,
        )
    return rows


def aio_rows() -> Rows:
    rows: Rows = {
        ("outage", "aiobotocore"): row(amplification=10.0, p50=25.6),
        ("outage", "resilient-aio"): row(amplification=0.13, p50=0.0001),
        ("outage", "resilient"): row(amplification=0.13, p50=0.0001),
        ("dns-empty", "aiobotocore"): row(
            window_success_in_time=0.2, window_success_ratio=0.9, window_calls=1200,
            window_p99=30.0, dns_lookups=_lookups(900),
        ),
        ("dns-empty", "resilient-aio"): row(
            window_success_in_time=1.0, window_success_ratio=1.0, window_calls=1200,
            window_p99=0.014, dns_lookups=_lookups(2),
        ),
        ("overhead-aio", None): {
            "ratio": 1.05, "ratio_min": 0.98, "ratio_max": 1.2,
            "plain_us_per_call": 750.0, "resilient_us_per_call": 790.0,
        },
        ("cancel-storm", "resilient-aio"): row(
            storm=True, calls_planned=1000, cancelled=1000, ended_by_themselves=0, unfinished=0,
            requests_sent=600, hedges_fired=150, peak_bulkhead_in_use=32, peak_bulkhead_waiting=70,
            after={
                "bulkhead_in_use": 0, "bulkhead_waiting": 0, "tasks": 0, "where": [],
                "hedges_open": 0, "connections_acquired": 0,
            },
        ),
    }
    for name in REGION_OUTAGES:
        rows[(name, "resilient-aio")] = row(
            window_success_ratio=1.0, window_calls=1200, fallback_served=0.6, window_p99=0.02,
            first_success_after_fault=0.05,
        )
        rows[(name, "aiobotocore")] = row(
            window_success_ratio=0.95, window_success_during_fault=0.0, first_success_after_fault=30.0,
        )
    return rows


def storm_left(**fields: Any) -> Edit:
    def edit(rows: Rows) -> None:
        rows[("cancel-storm", "resilient-aio")]["after"].update(fields)

    return edit


def pressure_rows() -> Rows:
    rows: Rows = {}
    for subject in ("legacy", "standard"):
        rows[("outage-recovery", subject)] = row(success_1s_after=1.0)
    rows[("outage-recovery", "resilient")] = row(
        success_1s_after=1.0, time_to_recover=0.02, window_calls=600
    )
    rows[("blackhole", "resilient")] = row(success_2s_after=1.0, time_to_recover=0.3)
    rows[("outage", "legacy")] = row(amplification=10.0)
    rows[("outage", "resilient")] = row(amplification=0.14)
    rows[("throttle-capacity", "resilient")] = row(
        window_goodput=41.9, throttled_share=0.017, server_requests=1121, max_latency=1.9,
        success_1s_after=1.0,
    )
    rows[("throttle-capacity", "adaptive")] = row(max_latency=28.0)
    rows[("throttle-capacity", "legacy")] = row(throttled_share=0.75)
    rows[("throttle", "resilient")] = row(success_ratio=0.9985, amplification=1.421)
    rows[("throttle", "legacy")] = row(success_ratio=1.0, amplification=1.422)
    return rows


TARGET_ROWS: dict[str, Callable[[], Rows]] = {
    "foundation": foundation_rows,
    "breakers": breakers_rows,
    "dns": dns_rows,
    "regions": regions_rows,
    "aio": aio_rows,
    "pressure": pressure_rows,
}


def verdicts(target: str, rows: Rows) -> list[bool]:
    _, checks = check.TARGETS[target]
    return [ok for _, ok, _ in checks(rows)]


@pytest.mark.parametrize("target", list(check.TARGETS))
def test_rows_that_meet_every_target_pass(target: str) -> None:
    results = check.TARGETS[target][1](TARGET_ROWS[target]())
    assert results and all(ok for _, ok, _ in results), [r for r in results if not r[1]]
    assert all(isinstance(detail, str) and detail for _, _, detail in results)


def test_every_target_is_covered_here() -> None:
    assert set(TARGET_ROWS) == set(check.TARGETS)


# (target, the check expected to miss (index), how the rows miss it)
Edit = Callable[[Rows], None]


def setting(key: tuple[str, Any], **fields: Any) -> Edit:
    def edit(rows: Rows) -> None:
        rows[key].update(fields)

    return edit


def every_region_outage(**fields: Any) -> Edit:
    def edit(rows: Rows) -> None:
        rows[(REGION_OUTAGES[0], "resilient")].update(fields)

    return edit


MISSES: list[tuple[str, int, Edit]] = [
    # pressure: recovery (2), outage, throttle-capacity (4), throttle (2)
    ("pressure", 0, setting(("outage-recovery", "resilient"), success_1s_after=0.9899)),
    ("pressure", 0, setting(("outage-recovery", "resilient"), success_1s_after=None)),
    ("pressure", 1, setting(("blackhole", "resilient"), success_2s_after=0.9899)),
    ("pressure", 2, setting(("outage", "resilient"), amplification=1.1001)),
    ("pressure", 3, setting(("throttle-capacity", "resilient"), window_goodput=37.99)),
    ("pressure", 4, setting(("throttle-capacity", "resilient"), throttled_share=0.1001)),
    ("pressure", 5, setting(("throttle-capacity", "resilient"), max_latency=2.06)),
    ("pressure", 6, setting(("throttle-capacity", "resilient"), success_1s_after=0.9989)),
    ("pressure", 7, setting(("throttle", "resilient"), success_ratio=0.9899)),
    ("pressure", 8, setting(("throttle", "resilient"), amplification=1.422 * 1.0501)),
    # foundation: the budget alone (the breaker-off subject) < 1.3 requests per call
    ("foundation", 0, setting(("outage", "resilient-budget"), amplification=1.3)),
    ("foundation", 1, setting(("transient", "resilient"), success_ratio=0.9989)),
    ("foundation", 2, setting(("transient", "resilient"), amplification=1.1153 * 1.021)),
    ("foundation", 2, setting(("transient", "resilient"), amplification=1.1153 * 0.979)),
    ("foundation", 3, setting(("transient", "resilient"), p99=0.991 / 2)),
    ("foundation", 4, setting(("overhead", None), ratio=1.1001)),
    # breakers
    ("breakers", 0, setting(("outage", "resilient"), amplification=1.1001)),
    ("breakers", 1, setting(("outage", "resilient"), p50=0.0501)),
    ("breakers", 2, setting(("transient", "resilient"), success_ratio=0.9949)),
    ("breakers", 3, setting(("outage-recovery", "resilient"), time_to_recover=20.01)),
    ("breakers", 3, setting(("outage-recovery", "resilient"), time_to_recover=None)),
    ("breakers", 4, setting(("bulkhead", "resilient"), window_p99=0.2001)),
    # dns
    ("dns", 0, setting(("dns-empty", "resilient"), window_success_ratio=0.9989)),
    ("dns", 1, setting(("dns-empty", "standard"), dns_lookups=_lookups(0))),
    ("dns", 1, setting(("dns-empty", "legacy"), dns_lookups={"us-east-1": {"dynamodb": {}}})),
    ("dns", 2, setting(("dns-empty", None), hit_ratio=0.05)),
    ("dns", 3, setting(("dns-empty", None), hit_ratio_vs_libc=0.05)),
    # regions: the first region outage's four checks, then each hedged target's two
    ("regions", 0, every_region_outage(window_success_ratio=0.9989)),
    ("regions", 0, every_region_outage(window_success_ratio=None)),
    ("regions", 1, every_region_outage(first_success_after_fault=1.01)),
    ("regions", 1, every_region_outage(first_success_after_fault=None)),
    ("regions", 2, every_region_outage(primary_back_after=5.01)),
    ("regions", 2, every_region_outage(primary_back_after=None)),
    ("regions", 3, setting((REGION_OUTAGES[0], "standard"), window_success_during_fault=0.011)),
    ("regions", 4 * len(REGION_OUTAGES), setting(("slow-tail", "resilient-hedged"), p99=0.5001)),
    ("regions", 4 * len(REGION_OUTAGES) + 1, setting(("slow-tail", "resilient-hedged"), amplification=1.11)),
    ("regions", 4 * len(REGION_OUTAGES) + 2, setting(("slow-tail", "resilient-hedged-p90"), p99=0.51)),
    ("regions", 4 * len(REGION_OUTAGES) + 3, setting(("slow-tail", "resilient-hedged-p90"), amplification=1.2)),
    # aio: outage (2), dns-empty (1), two per region outage, overhead, then the storm's four
    ("aio", 0, setting(("outage", "resilient-aio"), amplification=1.1001)),
    ("aio", 1, setting(("outage", "resilient-aio"), p50=0.0501)),
    ("aio", 1, setting(("outage", "resilient-aio"), p50=None)),
    ("aio", 2, setting(("dns-empty", "resilient-aio"), window_success_in_time=0.9989)),
    ("aio", 2, setting(("dns-empty", "resilient-aio"), window_success_in_time=None)),
    ("aio", 3, setting((REGION_OUTAGES[0], "resilient-aio"), window_success_ratio=0.9989)),
    ("aio", 4, setting((REGION_OUTAGES[0], "resilient-aio"), first_success_after_fault=1.01)),
    ("aio", 4, setting((REGION_OUTAGES[0], "resilient-aio"), first_success_after_fault=None)),
    ("aio", 2 + 2 * len(REGION_OUTAGES), setting((REGION_OUTAGES[-1], "resilient-aio"), first_success_after_fault=2.0)),
    ("aio", 3 + 2 * len(REGION_OUTAGES), setting(("overhead-aio", None), ratio=1.1001)),
    ("aio", 4 + 2 * len(REGION_OUTAGES), setting(("cancel-storm", "resilient-aio"), cancelled=999, unfinished=1)),
    ("aio", 4 + 2 * len(REGION_OUTAGES), setting(("cancel-storm", "resilient-aio"), ended_by_themselves=1)),
    ("aio", 5 + 2 * len(REGION_OUTAGES), storm_left(bulkhead_in_use=1)),
    ("aio", 5 + 2 * len(REGION_OUTAGES), storm_left(bulkhead_waiting=1)),
    ("aio", 6 + 2 * len(REGION_OUTAGES), storm_left(tasks=1, where=["_leg:115 > send:309"])),
    ("aio", 7 + 2 * len(REGION_OUTAGES), storm_left(hedges_open=1)),
]


@pytest.mark.parametrize(("target", "index", "edit"), MISSES)
def test_rows_that_miss_one_target_fail_that_check_alone(target: str, index: int, edit: Edit) -> None:
    rows = copy.deepcopy(TARGET_ROWS[target]())
    edit(rows)
    results = verdicts(target, rows)
    assert [i for i, ok in enumerate(results) if not ok] == [index]


# Exactly at the bound: the targets that say <=/>= pass there.
AT_THE_BOUND: list[tuple[str, Edit]] = [
    ("pressure", setting(("outage-recovery", "resilient"), success_1s_after=0.99)),
    ("pressure", setting(("throttle-capacity", "resilient"), window_goodput=38.0)),
    ("pressure", setting(("throttle-capacity", "resilient"), throttled_share=0.10)),
    ("pressure", setting(("throttle-capacity", "resilient"), success_1s_after=0.999)),
    ("pressure", setting(("throttle", "resilient"), success_ratio=0.99)),
    ("pressure", lambda rows: rows.pop(("throttle-capacity", "adaptive"))),
    ("foundation", setting(("outage", "resilient-budget"), amplification=1.2999)),
    ("foundation", setting(("transient", "resilient"), success_ratio=0.999)),
    ("foundation", setting(("overhead", None), ratio=1.10)),
    ("breakers", setting(("outage", "resilient"), amplification=1.1)),
    ("breakers", setting(("outage", "resilient"), p50=0.05)),
    ("breakers", setting(("transient", "resilient"), success_ratio=0.995)),
    ("breakers", setting(("outage-recovery", "resilient"), time_to_recover=20.0)),
    ("breakers", setting(("bulkhead", "resilient"), window_p99=0.2)),
    ("dns", setting(("dns-empty", "resilient"), window_success_ratio=0.999)),
    ("dns", setting(("dns-empty", "standard"), dns_lookups=_lookups(1))),
    ("regions", every_region_outage(window_success_ratio=0.999)),
    ("regions", every_region_outage(first_success_after_fault=1.0)),
    ("regions", every_region_outage(primary_back_after=5.0)),
    ("regions", setting((REGION_OUTAGES[0], "legacy"), window_success_during_fault=0.01)),
    ("regions", setting((REGION_OUTAGES[0], "legacy"), window_success_during_fault=None)),
    ("regions", setting(("slow-tail", "resilient-hedged"), p99=0.5)),
    ("regions", setting(("slow-tail", "resilient-hedged"), amplification=1.09)),
    ("aio", setting(("outage", "resilient-aio"), amplification=1.1)),
    ("aio", setting(("outage", "resilient-aio"), p50=0.05)),
    ("aio", setting(("dns-empty", "resilient-aio"), window_success_in_time=0.999)),
    ("aio", setting((REGION_OUTAGES[0], "resilient-aio"), window_success_ratio=0.999)),
    ("aio", setting((REGION_OUTAGES[0], "resilient-aio"), first_success_after_fault=1.0)),
    ("aio", setting(("overhead-aio", None), ratio=1.10)),
    # The sync reference rows are shown, never checked.
    ("aio", lambda rows: rows.pop(("outage", "resilient"))),
]


@pytest.mark.parametrize(("target", "edit"), AT_THE_BOUND)
def test_rows_at_a_bound_pass(target: str, edit: Edit) -> None:
    rows = copy.deepcopy(TARGET_ROWS[target]())
    edit(rows)
    assert all(verdicts(target, rows))


def test_the_budget_target_reads_the_breaker_off_subject() -> None:
    rows = foundation_rows()
    rows[("outage", "resilient")]["amplification"] = 9.0  # the breaker-on subject: ignored
    assert all(verdicts("foundation", rows))
    plan, _ = check.TARGETS["foundation"]
    assert (["outage"], ["resilient-budget"]) in plan


def test_the_budget_subject_has_the_default_budget_and_no_breaker() -> None:
    spec = ClientSpec("dynamodb", "us-east-1", connect_timeout=1, read_timeout=1, pool_size=10, seed=1)
    client = SUBJECTS["resilient-budget"](spec)
    policy = runtime_of(client).policy
    assert policy.breaker is None and policy.budget == rc.RetryBudget()
    assert policy.retry == rc.Retry() and policy.bulkhead == rc.Bulkhead()
    assert "resilient-budget" in RESILIENT_SUBJECTS and "resilient-budget" not in DEFAULT_SUBJECTS


def test_hedged_targets_without_slow_tail_rows_are_not_checked() -> None:
    rows = {k: v for k, v in regions_rows().items() if k[0] != "slow-tail"}
    assert len(verdicts("regions", rows)) == 4 * len(REGION_OUTAGES)


def test_a_run_without_a_row_a_target_needs_fails() -> None:
    run = {"results": [{"scenario": s, "subject": subj, **r} for (s, subj), r in foundation_rows().items()
                       if subj != "resilient-budget"]}
    [(name, ok, _)] = check.verdicts(check.TARGETS["foundation"][1], run)
    assert not ok and "resilient-budget" in name


# -- the commit stamp and stale recordings ---------------------------------------


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True, text=True, check=True, timeout=30,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "resilient_cloud").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "resilient_cloud" / "_breaker.py").write_text("RATIO = 0.5\n")
    (root / "resilient_cloud" / "sim").mkdir()
    (root / "resilient_cloud" / "sim" / "service.py").write_text("CAPACITY = 1\n")
    (root / "docs" / "index.md").write_text("docs\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def commit(root: Path, path: str, text: str) -> None:
    (root / path).write_text(text)
    git(root, "commit", "-q", "-am", f"change {path}")


def recorded(root: Path) -> dict[str, Any]:
    return {"environment": {"commit": runner.commit_stamp(root)}, "results": []}


def test_the_stamp_names_head_and_what_was_dirty(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert runner.commit_stamp(repo) == {"sha": head, "dirty": False, "library_dirty": False}
    (repo / "docs" / "index.md").write_text("edited\n")
    assert runner.commit_stamp(repo) == {"sha": head, "dirty": True, "library_dirty": False}
    (repo / "resilient_cloud" / "_breaker.py").write_text("RATIO = 0.6\n")
    assert runner.commit_stamp(repo) == {"sha": head, "dirty": True, "library_dirty": True}
    (repo / "resilient_cloud" / "new.py").write_text("")  # untracked: not part of the stamp
    git(repo, "checkout", "-q", "--", ".")
    assert runner.commit_stamp(repo) == {"sha": head, "dirty": False, "library_dirty": False}


def test_no_stamp_outside_a_checkout(tmp_path: Path) -> None:
    assert runner.commit_stamp(tmp_path) is None


def test_the_bench_records_the_stamp() -> None:
    assert "commit" in runner.environment()


def test_a_recording_at_head_is_current(repo: Path) -> None:
    assert check.staleness(recorded(repo), repo) is None


def test_commits_outside_the_library_leave_a_recording_current(repo: Path) -> None:
    run = recorded(repo)
    commit(repo, "docs/index.md", "more docs\n")
    assert check.staleness(run, repo) is None


def test_a_library_change_since_the_recording_makes_it_stale(repo: Path) -> None:
    run = recorded(repo)
    commit(repo, "resilient_cloud/_breaker.py", "RATIO = 0.6\n")
    reason = check.staleness(run, repo)
    assert reason is not None and "resilient_cloud/_breaker.py" in reason and "changed" in reason


def test_a_library_change_undone_since_the_recording_leaves_it_current(repo: Path) -> None:
    run = recorded(repo)
    commit(repo, "resilient_cloud/_breaker.py", "RATIO = 0.6\n")
    commit(repo, "resilient_cloud/_breaker.py", "RATIO = 0.5\n")
    assert check.staleness(run, repo) is None  # the same library as measured


def test_a_recording_with_uncommitted_library_changes_is_stale(repo: Path) -> None:
    (repo / "resilient_cloud" / "_breaker.py").write_text("RATIO = 0.6\n")
    run = recorded(repo)
    reason = check.staleness(run, repo)
    assert reason is not None and "uncommitted" in reason


def test_a_recording_with_other_uncommitted_changes_is_current(repo: Path) -> None:
    (repo / "docs" / "index.md").write_text("edited\n")
    run = recorded(repo)
    assert run["environment"]["commit"]["dirty"] and check.staleness(run, repo) is None


def test_unstamped_and_unknown_recordings_are_stale(repo: Path) -> None:
    assert "no commit stamp" in (check.staleness({"environment": {}}, repo) or "")
    assert "no commit stamp" in (check.staleness({}, repo) or "")
    unknown = {"environment": {"commit": {"sha": "0" * 40, "dirty": False, "library_dirty": False}}}
    assert "not in this repository" in (check.staleness(unknown, repo) or "")


def _write_run(path: Path, root: Path, rows: Rows) -> Path:
    run = recorded(root)
    run["results"] = [{"scenario": s, "subject": subject, **r} for (s, subject), r in rows.items()]
    path.write_text(json.dumps(run))
    return path


def test_main_checks_a_current_recording(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(check, "REPO", repo)
    path = _write_run(tmp_path / "run.json", repo, foundation_rows())
    assert check.main(["foundation", "--from", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS") == 5 and "FAIL" not in out and "STALE" not in out


def test_main_refuses_a_stale_recording_unless_told(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(check, "REPO", repo)
    rows = foundation_rows()
    rows[("overhead", None)]["ratio"] = 1.5
    path = _write_run(tmp_path / "run.json", repo, rows)
    commit(repo, "resilient_cloud/_breaker.py", "RATIO = 0.6\n")
    assert check.main(["foundation", "--from", str(path)]) == 2
    out = capsys.readouterr().out
    assert "STALE" in out and "refusing" in out and "PASS" not in out
    assert check.main(["foundation", "--from", str(path), "--allow-stale"]) == 1  # the overhead miss
    out = capsys.readouterr().out
    assert "STALE" in out and out.count("PASS") == 4 and out.count("FAIL") == 1


def test_the_aio_target_runs_both_async_subjects_side_by_side() -> None:
    plan, _ = check.TARGETS["aio"]
    [(scenarios, subjects), (offline, storm_subjects)] = plan
    assert {"outage", "dns-empty", *REGION_OUTAGES} == set(scenarios)
    assert {"aiobotocore", "resilient-aio"} <= set(subjects)
    assert offline == ["overhead-aio", "cancel-storm"] and storm_subjects == ["resilient-aio"]


def test_the_storm_runs_only_asyncio_subjects() -> None:
    from resilient_cloud.bench.scenarios import SCENARIOS

    storm = SCENARIOS["cancel-storm"]
    assert runner.subjects_for(storm, ["resilient", "aiobotocore"]) == ["aiobotocore"]
    assert runner.subjects_for(storm, ["resilient"]) == ["resilient-aio"]
    assert runner.subjects_for(SCENARIOS["outage"], None) == list(DEFAULT_SUBJECTS)


def test_the_simulator_is_not_part_of_the_measured_library(repo: Path) -> None:
    # No benchmark runs resilient_cloud/sim: editing it leaves the library clean
    # and a recording current.
    run = recorded(repo)
    (repo / "resilient_cloud" / "sim" / "service.py").write_text("CAPACITY = 2\n")
    assert runner.commit_stamp(repo)["library_dirty"] is False
    git(repo, "commit", "-q", "-am", "simulator")
    assert check.staleness(run, repo) is None


@pytest.mark.parametrize("name", ["report", "summary", "plot"])
def test_the_bench_presentation_is_not_part_of_the_measured_library(repo: Path, name: str) -> None:
    # Tables, the summary and plots change no figure; the bench's runner does.
    (repo / "resilient_cloud" / "bench").mkdir()
    for module in (name, "runner"):
        (repo / "resilient_cloud" / "bench" / f"{module}.py").write_text("WIDTH = 80\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "bench")
    run = recorded(repo)
    (repo / "resilient_cloud" / "bench" / f"{name}.py").write_text("WIDTH = 100\n")
    assert runner.commit_stamp(repo)["library_dirty"] is False
    git(repo, "commit", "-q", "-am", name)
    assert check.staleness(run, repo) is None
    commit(repo, "resilient_cloud/bench/runner.py", "WIDTH = 100\n")
    assert check.staleness(run, repo) is not None
