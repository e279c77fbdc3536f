"""PNG timelines: offered load, requests the servers saw, and goodput, per
subject, one row per scenario; and what the resilient subjects' library
saw (retries per second, the primary's retry budget and breaker state),
from their health samples (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    if not rows:
        return
    figure, axes = plt.subplots(
        len(rows), len(PANELS) + 1, figsize=(20, 2.8 * len(rows)), squeeze=False
    )
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
        fontsize=10,
    )
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.45 / (2.8 * len(rows))))  # room for the title (0.45 in)
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
    for endpoint in sample["endpoints"]:
        if endpoint["endpoint"].startswith("dynamodb."):
            return endpoint
    return {}
