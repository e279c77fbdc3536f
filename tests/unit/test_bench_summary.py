"""The benchmark's summary: a row per scenario, the best plain figure against
resilient_cloud's, and a verdict that says plainly where we are worse."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from resilient_cloud.bench import report, summary


def subject(name: str, scenario: str = "s", **figures: Any) -> dict[str, Any]:
    row = {"scenario": scenario, "subject": name, "amplification_is_lower_bound": False,
           "unfinished": 0, "not_started": 0}
    return {**row, **figures}


def run_of(*results: dict[str, Any]) -> dict[str, Any]:
    return {
        "seed": 1, "quick": True, "results": list(results),
        "scenarios": {r["scenario"]: {"description": r["scenario"]} for r in results},
        "environment": {"botocore": "1.43", "resilient_cloud": "0.1.0", "python": "3.11", "cpus": 2},
    }


WINDOW = {"window": [8.0, 23.0]}


def test_each_figure_compares_resilient_with_the_best_plain_mode() -> None:
    run = run_of(
        subject("legacy", amplification=10.0, window_success_in_time=0.0, time_to_recover=None,
                p99=25.0, **WINDOW),
        subject("standard", amplification=3.0, window_success_in_time=0.2, time_to_recover=4.0,
                p99=2.0, **WINDOW),
        subject("tenacity-naive", amplification=0.5, window_success_in_time=0.9,
                time_to_recover=0.0, p99=0.1, **WINDOW),  # a decorator, not plain botocore
        subject("resilient", amplification=0.05, window_success_in_time=0.0, time_to_recover=0.4,
                p99=0.05, **WINDOW),
    )
    (row,) = summary.rows(run)
    requests, success, recovery, p99 = row.cells
    assert (requests.plain, requests.plain_subject, requests.resilient) == (3.0, "standard", 0.05)
    assert (success.plain, success.plain_subject) == (0.2, "standard")
    assert (recovery.plain, recovery.resilient) == (4.0, 0.4)
    assert (p99.plain, p99.resilient) == (2.0, 0.05)
    assert row.better == ("requests 60x fewer", "recovery -3.6 s", "p99 40x lower")
    assert row.worse == ("success -20.0 pts",)
    assert row.verdict == (
        "WORSE: success -20.0 pts. better: requests 60x fewer, recovery -3.6 s, p99 40x lower"
    )


def test_differences_within_the_noise_are_the_same() -> None:
    run = run_of(
        subject("standard", amplification=1.00, success_ratio=0.999, p99=0.100),
        subject("resilient", amplification=1.05, success_ratio=0.996, p99=0.109),
    )
    (row,) = summary.rows(run)
    assert row.better == () and row.worse == ()
    assert row.verdict == "the same as plain botocore"


def test_a_worse_tail_is_said_plainly() -> None:
    run = run_of(
        subject("legacy", amplification=1.42, success_ratio=1.0, p99=0.76),
        subject("resilient", amplification=1.42, success_ratio=1.0, p99=5.85),
    )
    (row,) = summary.rows(run)
    assert row.worse == ("p99 7.7x higher",) and row.verdict.startswith("WORSE: ")


def test_one_request_per_call_is_not_more_than_calls_that_failed_before_sending() -> None:
    # dns-empty: plain calls fail at the lookup and send nothing; ours are served.
    served = run_of(
        subject("standard", amplification=0.38, window_success_in_time=0.001, **WINDOW),
        subject("resilient", amplification=1.0, window_success_in_time=1.0, **WINDOW),
    )
    (row,) = summary.rows(served)
    assert row.worse == () and row.better == ("success +99.9 pts",)
    more = run_of(
        subject("standard", amplification=0.38, window_success_in_time=0.001, **WINDOW),
        subject("resilient", amplification=1.3, window_success_in_time=1.0, **WINDOW),
    )
    (row,) = summary.rows(more)
    assert row.worse == ("requests 1.3x more",)


def test_never_recovering_is_worse_than_any_time_and_says_so() -> None:
    plain_never = run_of(
        subject("standard", time_to_recover=None, **WINDOW),
        subject("resilient", time_to_recover=2.0, **WINDOW),
    )
    (row,) = summary.rows(plain_never)
    assert row.cells[2].never_plain and row.better == ("recovers (plain never does)",)
    resilient_never = run_of(
        subject("standard", time_to_recover=2.0, **WINDOW),
        subject("resilient", time_to_recover=None, **WINDOW),
    )
    (row,) = summary.rows(resilient_never)
    assert row.worse == ("never recovers (plain does)",)
    assert summary.cell_text(summary.FIGURES[2], row.cells[2]) == "2.00→never"


def test_asyncio_subjects_are_compared_with_aiobotocore_only() -> None:
    run = run_of(
        subject("legacy", amplification=10.0),
        subject("aiobotocore", amplification=5.0),
        subject("resilient-aio", amplification=0.1),
    )
    (row,) = summary.rows(run)
    assert row.resilient_subject == "resilient-aio"
    assert row.cells[0].plain_subject == "aiobotocore"


def test_scenarios_without_both_sides_have_no_row() -> None:
    run = run_of(subject("legacy", scenario="a", amplification=1.0),
                 subject("resilient", scenario="b", amplification=1.0))
    assert summary.rows(run) == []


def test_the_summary_fits_80_columns_and_the_details_come_on_request() -> None:
    names = ["outage", "dns-empty", "region-outage-down", "throttle-capacity"]
    results = []
    for name in names:
        results += [
            subject("legacy", name, amplification=10.0, window_success_in_time=1.0,
                    time_to_recover=0.02, p99=25.7, calls_started=200, **WINDOW),
            subject("resilient", name, amplification=0.06, window_success_in_time=0.198,
                    time_to_recover=0.35, p99=0.05, calls_started=200, **WINDOW),
            subject("aiobotocore", name, amplification=10.0, p99=25.7, calls_started=200),
            subject("resilient-aio", name, amplification=0.08, p99=0.12, calls_started=200),
        ]
    run = run_of(*results)
    assert all(len(text) <= 80 for text, _ in summary.lines(run))

    def printed(detail: bool) -> str:
        out = io.StringIO()
        report.render(run, Console(file=out, width=80), detail=detail)
        return out.getvalue()

    short = printed(False)
    assert max(len(line) for line in short.splitlines()) <= 80
    assert "region-outage-down aio" in short and "WORSE: success -80.2 pts" in short
    assert [worse for text, worse in summary.lines(run) if text.startswith("    ")] == [True] * 4
    assert "--detail" in short and "unfinished" not in short  # no per-subject tables
    detailed = printed(True)
    assert short.splitlines()[1] in detailed and "unfinished" in detailed


def test_a_count_cut_short_by_the_time_cap_is_shown_as_a_lower_bound() -> None:
    run = run_of(
        subject("legacy", amplification=2.1, amplification_is_lower_bound=True),
        subject("resilient", amplification=0.05),
    )
    (row,) = summary.rows(run)
    assert summary.cell_text(summary.FIGURES[0], row.cells[0]) == "≥2.10→0.05"


def test_lower_bounds_are_not_the_best_and_say_only_what_is_sure() -> None:
    # standard's count is cut short by the cap: legacy's exact one is the best.
    run = run_of(
        subject("legacy", amplification=1.4),
        subject("standard", amplification=0.3, amplification_is_lower_bound=True),
        subject("resilient", amplification=1.29, amplification_is_lower_bound=True),
    )
    (row,) = summary.rows(run)
    assert row.cells[0].plain_subject == "legacy"
    # resilient's >= 1.29 may be above legacy's 1.4 or not: no verdict on requests.
    assert row.better == () and row.worse == ()
    sure = run_of(
        subject("legacy", amplification=0.3, amplification_is_lower_bound=True),
        subject("resilient", amplification=1.29),
    )
    (row,) = summary.rows(sure)
    assert row.worse == () and row.better == ()  # legacy's >= 0.3 may be above 1.29
    more = run_of(subject("legacy", amplification=1.0), subject("resilient", amplification=2.0,
                                                                amplification_is_lower_bound=True))
    (row,) = summary.rows(more)
    assert row.worse == ("requests 2.0x more",)


def test_a_plain_subjects_storm_line_has_nothing_to_leave_behind() -> None:
    storm = {"scenario": "cancel-storm", "subject": "aiobotocore", "storm": True, "cancelled": 5,
             "calls_started": 5, "after": {"bulkhead_in_use": None, "bulkhead_waiting": None,
                                           "tasks": 0, "hedges_open": None}}
    out = io.StringIO()
    report.render(run_of(storm), Console(file=out, width=80))
    assert "cancel-storm (aiobotocore): 5 of 5 calls cancelled, 0 slots" in out.getvalue()


def test_without_the_aio_extra_the_asyncio_scenarios_are_skipped_and_said(monkeypatch) -> None:
    import importlib.util

    from resilient_cloud.bench import runner

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "aiobotocore" else real(name, *a))
    run = runner.run(["overhead-aio", "cancel-storm"], None, seed=1, quick=True)
    assert [r["skipped"] for r in run["results"]] == [runner.NEEDS_AIO] * 2
    out = io.StringIO()
    report.render(run, Console(file=out, width=80), detail=True)
    assert "overhead-aio: skipped, needs the aio extra" in out.getvalue()
    assert "Skipped: needs the aio extra" in report.markdown(run)
