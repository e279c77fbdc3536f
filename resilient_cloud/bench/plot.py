"""PNG timelines: offered load, requests the servers saw, and goodput, per
subject, one row per scenario (matplotlib, no display needed)."""

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
        len(rows), len(PANELS), figsize=(15, 2.8 * len(rows)), squeeze=False
    )
    for row_axes, (scenario, results) in zip(axes, rows.items()):
        window = run["scenarios"][scenario].get("window")
        for ax, (key, label) in zip(row_axes, PANELS):
            for result in results:
                series = result["timeline"]
                ax.plot(series["t"], series[key], label=result["subject"], linewidth=1.2)
            if window:
                ax.axvspan(window[0], window[1], color="red", alpha=0.08)
            ax.set_title(f"{scenario}: {label}", fontsize=9)
            ax.set_xlabel("seconds", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_ylim(bottom=0)
        row_axes[0].legend(fontsize=7)
    env = run["environment"]
    figure.suptitle(
        f"resilient_cloud bench, seed {run['seed']}, botocore {env['botocore']}"
        f"{' (quick)' if run['quick'] else ''}; shaded: fault window",
        fontsize=10,
    )
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / len(rows)))  # room for the title
    figure.savefig(path, dpi=90)
    plt.close(figure)
