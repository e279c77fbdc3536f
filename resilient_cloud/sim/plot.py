"""PNG timelines of a fleet run: one panel per measure, one line per policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from resilient_cloud.bench.plot import frame
from resilient_cloud.sim.scenarios import SimScenario

PANELS = (
    ("offered", "offered calls/s"),
    ("attempts", "attempts/s, log scale (dashed: capacity)"),
    ("goodput", "goodput (successes/s)"),
    ("queue", "queue length (requests)"),
    ("wasted", "wasted work (answers too late)/s"),
)


def write_png(scenario: SimScenario, seed: int, results: dict[str, dict[str, Any]],
              path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 3.6), squeeze=False)
    window = scenario.window
    for ax, (key, label) in zip(axes[0], PANELS):
        for policy, result in results.items():
            series = result["timeline"]
            ax.plot(series["t"], series[key], label=policy, linewidth=1.2)
        if key == "attempts":
            first = next(iter(results.values()))["timeline"]
            ax.plot(first["t"], first["capacity"], color="black", linestyle="--", linewidth=1.0,
                    label="capacity")
        frame(ax, label, window)
        if key == "attempts":
            # Amplifying fleets send 50x what a resilient one does: a log scale
            # keeps the capacity line and every fleet readable.
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(bottom=0)
    axes[0][0].legend(fontsize=7)
    figure.suptitle(
        f"resilient-cloud simulate {scenario.name}: {scenario.clients:,} clients, seed {seed}; "
        "shaded: trigger", fontsize=10,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    figure.savefig(path, dpi=90)
    plt.close(figure)
