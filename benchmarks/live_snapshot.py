"""A snapshot of `resilient-cloud bench --live`, for the docs: runs one
scenario for the named subjects, saves the live view as it was at a given
second of the load (SVG, as a terminal shows it), and the run's timelines
(the PNG of `--plot`) from the same run.

    python benchmarks/live_snapshot.py outage-recovery --at 15 --subjects standard,resilient \\
        --svg docs/img/live-outage-recovery.svg --plot docs/img/outage-recovery.png
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from resilient_cloud.bench import runner
from resilient_cloud.bench.live import LiveView


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("--at", type=float, required=True, help="seconds into the load")
    parser.add_argument("--subjects", default="standard,resilient")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--svg", type=Path, required=True)
    parser.add_argument("--plot", type=Path, help="also the run's timelines, as --plot draws them")
    args = parser.parse_args()
    view = LiveView()
    console = Console(record=True, width=120, force_terminal=True)
    taken: list[bool] = []

    def on_sample(scenario: str, subject: str, sample: dict[str, Any]) -> None:
        view.update(scenario, subject, sample)
        if not taken and sample["t"] >= args.at:
            taken.append(True)
            console.print(view)

    result = runner.run(
        [args.scenario], args.subjects.split(","), seed=args.seed, quick=False,
        on_sample=on_sample,
    )
    if not taken:
        console.print(view)  # the run ended first: its last view
    console.save_svg(str(args.svg), title=f"resilient-cloud bench {args.scenario} --live")
    print(f"saved {args.svg}")
    if args.plot:
        from resilient_cloud.bench import plot

        plot.write_png(result, args.plot)
        print(f"saved {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
