"""The benchmark's PNG (matplotlib, no display needed): at the top, the
summary's headline figures as grouped bars per scenario (plain botocore's
best against resilient_cloud); below, per scenario, timelines of offered
load, requests the servers saw and goodput per subject, and what the
resilient subjects' library saw (retries per second, the primary's retry
budget and breaker state) from their health samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from resilient_cloud.bench import summary

PANELS = (
    ("offered", "offered calls/s"),
    ("requests", "requests seen/s"),
    ("goodput", "goodput (successes/s)"),
)


def write_png(run: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: dict[str, list[dict[str, Any]]] = {}
    for result in run["results"]:
        if "timeline" in result:
            rows.setdefault(result["scenario"], []).append(result)
    compared = summary.rows(run)
    if not rows and not compared:
        return
    lines = len(rows) + (1 if compared else 0)
    figure, axes = plt.subplots(
        lines, len(PANELS) + 1, figsize=(20, 2.8 * lines), squeeze=False
    )
    if compared:
        for ax, index in zip(axes[0], range(len(summary.FIGURES))):
            _summary_panel(ax, compared, index)
        axes = axes[1:]
    for row_axes, (scenario, results) in zip(axes, rows.items()):
        window = run["scenarios"][scenario].get("window")
        for ax, (key, label) in zip(row_axes, PANELS):
            for result in results:
                series = result["timeline"]
                ax.plot(series["t"], series[key], label=result["subject"], linewidth=1.2)
            frame(ax, f"{scenario}: {label}", window)
        _telemetry_panel(row_axes[len(PANELS)], scenario, results, window)
        row_axes[0].legend(fontsize=7)
    env = run["environment"]
    figure.suptitle(
        f"resilient_cloud bench, seed {run['seed']}, botocore {env['botocore']}"
        f"{' (quick)' if run['quick'] else ''}; shaded: fault window",
        fontsize=10, y=1 - 0.1 / (2.8 * lines), va="top",
    )
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (2.8 * lines)))  # room for the title (0.5 in)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def frame(ax: Any, title: str, window: Any) -> None:
    """Every panel's frame: the fault window shaded, the title, seconds, y from 0."""
    if window:
        ax.axvspan(window[0], window[1], color="red", alpha=0.08)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("seconds", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_ylim(bottom=0)


#: The summary's bars: plain botocore's best, resilient_cloud's.
_SIDES = (("plain botocore (best mode)", "tab:gray"), ("resilient_cloud", "tab:blue"))
#: Figures spanning orders of magnitude (requests per call in an outage, p99s).
_LOG_SCALE = {"req/call", "p99 s"}


def _summary_panel(ax: Any, compared: list[summary.SummaryRow], index: int) -> None:
    """One headline figure, a pair of bars per scenario; "never" (no
    recovery within the run) is written where its bar would be."""
    figure = summary.FIGURES[index]
    names = [row.label for row in compared]
    width = 0.38
    for side, (label, color) in enumerate(_SIDES):
        for position, row in enumerate(compared):
            cell = row.cells[index]
            value = cell.plain if side == 0 else cell.resilient
            never = cell.never_plain if side == 0 else cell.never_resilient
            x = position + (side - 0.5) * width
            if never:
                ax.text(x, 0, "never", rotation=90, ha="center", va="bottom", fontsize=7, color=color)
            elif value is not None:
                shown = value * 100 if figure.header == "success" else value
                ax.bar(x, shown, width, color=color, label=label if position == 0 else None)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    if figure.header in _LOG_SCALE:
        ax.set_yscale("log")
    title = {"success": "success in the fault, % (served within 1 s)",
             "recovery s": "recovery after the fault, s", "req/call": "requests per call (log)",
             "p99 s": "p99 latency, s (log)"}[figure.header]
    ax.set_title(f"summary: {title}", fontsize=9)
    if index == 0:
        ax.legend(fontsize=7)


_BREAKER_TICKS = (0, 1, 2), ("closed", "half-open", "open")


def _telemetry_panel(ax: Any, scenario: str, results: list[dict[str, Any]], window: Any) -> None:
    """Retries per second and the primary endpoint's budget (left axis) and
    breaker state (right axis) of each resilient subject, over time."""
    breakers = ax.twinx()
    drawn = False
    for result in results:
        samples = (result.get("telemetry") or {}).get("samples") or []
        if len(samples) < 2:
            continue
        drawn = True
        times = [sample["t"] for sample in samples]
        retries = [0.0] + [
            (b["retries"] - a["retries"]) / max(b["t"] - a["t"], 1e-6)
            for a, b in zip(samples, samples[1:])
        ]
        primary = [_primary(sample) for sample in samples]
        subject = result["subject"]
        line = ax.plot(times, retries, linewidth=1.2, label=f"{subject} retries/s")[0]
        ax.plot(times, [p.get("budget") or 0.0 for p in primary], linestyle="--",
                color=line.get_color(), linewidth=1.0, label=f"{subject} budget")
        breakers.step(times, [p.get("breaker_level") or 0 for p in primary], where="post",
                      linestyle=":", color=line.get_color(), linewidth=1.4)
    frame(ax, f"{scenario}: library (dotted: breaker)", window)
    breakers.set_ylim(-0.1, 2.3)
    breakers.set_yticks(*_BREAKER_TICKS)
    breakers.tick_params(labelsize=7)
    if drawn:
        ax.legend(fontsize=6)
    else:
        ax.text(0.5, 0.5, "no resilient samples", ha="center", va="center", fontsize=8,
                transform=ax.transAxes)


def _primary(sample: dict[str, Any]) -> dict[str, Any]:
    """The sample's first DynamoDB endpoint (the primary region's, in order)."""
    endpoint: dict[str, Any]
    for endpoint in sample["endpoints"]:
        if endpoint["endpoint"].startswith("dynamodb."):
            return endpoint
    return {}
