"""Our own figures for a Locust run, which Locust's statistics do not show:
per subject and phase of the fault, the logical calls, the HTTP requests they
sent, the calls refused without a request, the stale DNS answers served, the
failovers and the hedges.

Plain data and no Locust import, so the test process can use it: workers
:meth:`Figures.drain` what they counted into each report to the master, the
master :meth:`Figures.merge`\\s it, and the master (or a local run) shows
:meth:`Figures.rows` in the web UI, a CSV and a summary.
"""

from __future__ import annotations

import csv
import math
import threading
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

#: What is counted per (subject, phase).
COUNTS = ("calls", "failed", "requests", "refused", "budget_stops", "stale_dns", "failovers", "hedges")
#: The CSV's columns: the counts and the figures computed from them.
COLUMNS = ("subject", "phase", *COUNTS, "requests_per_call", "success_ratio")
#: Phases in the order a run goes through them ("run": a scenario without a window).
PHASES = ("before", "fault", "after", "run")


def phase_at(elapsed: float | None, window: tuple[float, float] | None) -> str:
    """The phase of the fault ``elapsed`` seconds into the run."""
    if window is None or elapsed is None:
        return "run"
    if elapsed < window[0]:
        return "before"
    return "fault" if elapsed < window[1] else "after"


class Figures:
    """Counts per (subject, phase); thread- and greenlet-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], Counter[str]] = {}

    def add(self, subject: str, phase: str, **counts: int) -> None:
        unknown = set(counts) - set(COUNTS)
        if unknown:
            raise ValueError(f"unknown figure(s) {sorted(unknown)}; known: {COUNTS}")
        with self._lock:
            self._counts.setdefault((subject, phase), Counter()).update(counts)

    def drain(self) -> list[dict[str, Any]]:
        """The counts so far, as plain rows, and start again from zero (a
        worker's report to its master)."""
        with self._lock:
            counts, self._counts = self._counts, {}
        return [{"subject": s, "phase": p, **dict(c)} for (s, p), c in counts.items()]

    def merge(self, rows: Iterable[dict[str, Any]]) -> None:
        """Add rows a worker drained."""
        for row in rows:
            self.add(row["subject"], row["phase"], **{k: int(row[k]) for k in COUNTS if k in row})

    def clear(self) -> None:
        with self._lock:
            self._counts = {}

    def rows(self) -> list[dict[str, Any]]:
        """One row per (subject, phase), with requests per call and success
        ratio, plus an "all" row per subject; ordered by subject, then phase."""
        with self._lock:
            counts = {key: Counter(c) for key, c in self._counts.items()}
        totals: dict[str, Counter[str]] = {}
        for (subject, _), c in counts.items():
            totals.setdefault(subject, Counter()).update(c)
        keyed = {**counts, **{(s, "all"): c for s, c in totals.items()}}
        order = {p: i for i, p in enumerate((*PHASES, "all"))}
        return [
            _row(subject, phase, keyed[(subject, phase)])
            for subject, phase in sorted(keyed, key=lambda k: (k[0], order[k[1]]))
        ]


def _row(subject: str, phase: str, counts: Counter[str]) -> dict[str, Any]:
    calls = counts["calls"]
    return {
        "subject": subject,
        "phase": phase,
        **{name: counts[name] for name in COUNTS},
        "requests_per_call": round(counts["requests"] / calls, 3) if calls else math.nan,
        "success_ratio": round(1 - counts["failed"] / calls, 3) if calls else math.nan,
    }


def write_csv(to: Path | str | TextIO, rows: Iterable[dict[str, Any]]) -> None:
    """The rows as CSV, into a file named ``to`` or the text stream ``to``."""
    if not isinstance(to, (str, Path)):
        writer = csv.DictWriter(to, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        return
    with open(to, "w", newline="", encoding="utf-8") as file:
        write_csv(file, rows)


def read_csv(path: Path | str) -> dict[tuple[str, str], dict[str, float]]:
    """``{(subject, phase): {column: number}}`` from :func:`write_csv`'s file."""
    with open(path, newline="", encoding="utf-8") as file:
        return {
            (row["subject"], row["phase"]): {
                k: float(v) for k, v in row.items() if k not in ("subject", "phase")
            }
            for row in csv.DictReader(file)
        }


def summary(rows: Iterable[dict[str, Any]]) -> str:
    """A fixed-width table of the rows, for the end of a headless run."""
    header = ("subject", "phase", "calls", "req/call", "success", "refused", "budget",
              "stale dns", "failovers", "hedges")
    lines = [f"{header[0]:<16}{header[1]:<8}" + "".join(f"{h:>10}" for h in header[2:])]
    for r in rows:
        figures = (r["calls"], _fmt(r["requests_per_call"]), _fmt(r["success_ratio"]), r["refused"],
                   r["budget_stops"], r["stale_dns"], r["failovers"], r["hedges"])
        lines.append(f"{r['subject']:<16}{r['phase']:<8}" + "".join(f"{f:>10}" for f in figures))
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"
