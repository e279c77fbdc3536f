"""The benchmark at a glance: a row per scenario, resilient_cloud against the
best of plain botocore on each headline figure, and a verdict in words.

Pure: it reads a run's results (``runner.run``'s dict) and returns rows; the
report prints them and the plot draws them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Each resilient_cloud subject and the plain subjects it is compared with:
#: botocore's retry modes, or aiobotocore for the asyncio one. tenacity-naive,
#: a user's decorator on top of botocore, is in the details, not here.
PAIRS = (
    ("resilient", ("legacy", "standard", "adaptive")),
    ("resilient-aio", ("aiobotocore",)),
)

#: Differences smaller than these are "the same" (the machines are noisy).
_RATIO_TOLERANCE = 0.10
_POINTS_TOLERANCE = 0.005
_SECONDS_TOLERANCE = 0.25


@dataclass(frozen=True)
class Figure:
    header: str
    #: Where the figure is in a subject's row (the first key present).
    keys: tuple[str, ...]
    lower_is_better: bool
    show: Callable[[float], str]


def _seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


FIGURES = (
    Figure("req/call", ("amplification",), True, lambda v: f"{v:.2f}"),
    # In a fault window: served within 1 s (metrics.IN_TIME), not waited out;
    # without one, every call's success whenever it came.
    Figure("success", ("window_success_in_time", "success_ratio"), False, lambda v: f"{v:.1%}"),
    Figure("recovery s", ("time_to_recover",), True, _seconds),
    Figure("p99 s", ("p99",), True, _seconds),
)


@dataclass(frozen=True)
class Cell:
    """One figure of one scenario: the best plain value (and which subject
    had it) and resilient_cloud's; None where the figure does not apply.
    ``never``: the subject never recovered within the run."""

    plain: float | None
    plain_subject: str | None
    resilient: float | None
    never_plain: bool = False
    never_resilient: bool = False
    #: The value is a lower bound (calls were still running at the time cap).
    plain_at_least: bool = False
    resilient_at_least: bool = False


@dataclass(frozen=True)
class SummaryRow:
    scenario: str
    resilient_subject: str
    cells: tuple[Cell, ...]
    better: tuple[str, ...]
    worse: tuple[str, ...]

    @property
    def label(self) -> str:
        """The scenario, marked ``aio`` for the asyncio subjects' row."""
        return self.scenario + ("" if self.resilient_subject == "resilient" else " aio")

    @property
    def verdict(self) -> str:
        parts = []
        if self.worse:
            parts.append(f"WORSE: {', '.join(self.worse)}")
        if self.better:
            parts.append(f"better: {', '.join(self.better)}")
        return ". ".join(parts) or "the same as plain botocore"


def rows(run: dict[str, Any]) -> list[SummaryRow]:
    """A row per scenario that compared resilient_cloud with plain botocore."""
    by_scenario: dict[str, dict[str, dict[str, Any]]] = {}
    for result in run["results"]:
        if "subject" in result and "probe" not in result and "storm" not in result:
            by_scenario.setdefault(result["scenario"], {})[result["subject"]] = result
    summary = []
    for scenario, subjects in by_scenario.items():
        for resilient, plain_names in PAIRS:
            plain = {name: subjects[name] for name in plain_names if name in subjects}
            if not plain or resilient not in subjects:
                continue
            cells = tuple(_cell(figure, plain, subjects[resilient]) for figure in FIGURES)
            better, worse = _judge(cells)
            summary.append(SummaryRow(scenario, resilient, cells, better, worse))
    return summary


def _at_least(figure: Figure, row: dict[str, Any]) -> bool:
    return "amplification" in figure.keys and bool(row.get("amplification_is_lower_bound"))


def _value(figure: Figure, row: dict[str, Any]) -> tuple[float | None, bool]:
    """The figure in ``row``, and whether it is "never" (no recovery in the run)."""
    for key in figure.keys:
        if key in row:
            value = row[key]
            # A window the subject never recovered from (a time_to_recover of
            # None) is worse than any time; elsewhere None means not measured.
            never = value is None and key == "time_to_recover" and row.get("window") is not None
            return (None if value is None else float(value)), never
    return None, False


def _cell(figure: Figure, plain: dict[str, dict[str, Any]], resilient: dict[str, Any]) -> Cell:
    value, never = _value(figure, resilient)
    candidates = []
    for name, row in plain.items():
        plain_value, plain_never = _value(figure, row)
        if plain_value is not None:
            candidates.append((plain_value, name))
        elif plain_never:
            candidates.append((float("inf"), name))
    # A lower bound (calls cut short by the time cap) is not a best value
    # while some mode's figure is exact.
    exact = [c for c in candidates if not _at_least(figure, plain[c[1]])]
    candidates = exact or candidates
    if not candidates or (value is None and not never):
        return Cell(None, None, None)
    pick = min if figure.lower_is_better else max
    best, name = pick(candidates)
    return Cell(
        None if best == float("inf") else best, name, value,
        never_plain=best == float("inf"), never_resilient=never,
        plain_at_least=_at_least(figure, plain[name]), resilient_at_least=_at_least(figure, resilient),
    )


def _judge(cells: tuple[Cell, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    better: list[str] = []
    worse: list[str] = []
    requests, success, recovery, p99 = cells
    if requests.plain is not None and requests.resilient is not None:
        # With lower bounds only a conclusive difference is said: an exact
        # count above another's lower bound says nothing.
        fewer_is_sure = not requests.resilient_at_least
        more_is_sure = not requests.plain_at_least
        judged_better: list[str] = []
        judged_worse: list[str] = []
        plain_requests = requests.plain
        if requests.resilient > plain_requests:
            # Serving a call takes a request: one per call is not "more" than
            # plain calls that failed before sending (dns-empty: 0.38 per call).
            plain_requests = max(plain_requests, 1.0)
        _ratio(plain_requests, requests.resilient, "requests", "fewer", "more", judged_better, judged_worse)
        better += judged_better if fewer_is_sure else []
        worse += judged_worse if more_is_sure else []
    if success.plain is not None and success.resilient is not None:
        points = (success.resilient - success.plain) * 100
        if abs(points) / 100 > _POINTS_TOLERANCE:
            (better if points > 0 else worse).append(f"success {points:+.1f} pts")
    if recovery.never_plain and not recovery.never_resilient and recovery.resilient is not None:
        better.append("recovers (plain never does)")
    elif recovery.never_resilient and not recovery.never_plain:
        worse.append("never recovers (plain does)")
    elif recovery.plain is not None and recovery.resilient is not None:
        gap = recovery.resilient - recovery.plain
        if abs(gap) > _SECONDS_TOLERANCE:
            (worse if gap > 0 else better).append(f"recovery {gap:+.1f} s")
    if p99.plain is not None and p99.resilient is not None:
        _ratio(p99.plain, p99.resilient, "p99", "lower", "higher", better, worse)
    return tuple(better), tuple(worse)


def _ratio(plain: float, resilient: float, what: str, lower: str, higher: str,
           better: list[str], worse: list[str]) -> None:
    """Lower is better: say by what factor resilient_cloud differs."""
    if plain <= 0 and resilient <= 0:
        return
    if resilient < plain * (1 - _RATIO_TOLERANCE):
        better.append(f"{what} {_factor(plain, resilient)} {lower}")
    elif resilient > plain * (1 + _RATIO_TOLERANCE):
        worse.append(f"{what} {_factor(resilient, plain)} {higher}")


def _factor(big: float, small: float) -> str:
    if small <= 0:
        return "far"
    factor = big / small
    return f"{factor:.0f}x" if factor >= 10 else f"{factor:.1f}x"


def cell_text(figure: Figure, cell: Cell) -> str:
    """``plain -> resilient`` as printed."""
    if cell.plain is None and not cell.never_plain:
        return "-"
    plain = "never" if cell.never_plain else figure.show(cell.plain)  # type: ignore[arg-type]
    resilient = "never" if cell.never_resilient else (
        "-" if cell.resilient is None else figure.show(cell.resilient)
    )
    return f"{'≥' * cell.plain_at_least}{plain}→{'≥' * cell.resilient_at_least}{resilient}"


def lines(run: dict[str, Any]) -> list[tuple[str, bool]]:
    """The summary as text lines of at most 80 columns (a header, then per
    scenario its figures and its verdict), each with whether it says
    resilient_cloud is worse."""
    compared = rows(run)
    if not compared:
        return []
    names = [row.label for row in compared]
    widths = [max(len(name) for name in names) + 1, *(_WIDTH for _ in FIGURES)]
    out = [(_join(["scenario", *(f.header for f in FIGURES)], widths), False)]
    for name, row in zip(names, compared):
        cells = [cell_text(f, c) for f, c in zip(FIGURES, row.cells)]
        out.append((_join([name, *cells], widths), False))
        for text in textwrap.wrap(row.verdict, 80, initial_indent="  ", subsequent_indent="    "):
            out.append((text, bool(row.worse)))
    return out


#: Wide enough for "100.0%→100.0%" and a space.
_WIDTH = 14


def _join(cells: list[str], widths: list[int]) -> str:
    first, *rest = cells
    return first.ljust(widths[0]) + "".join(c.rjust(w) for c, w in zip(rest, widths[1:]))
