"""``resilient-cloud bench``: the command line over the runner."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from resilient_cloud.bench.scenarios import SCENARIOS
from resilient_cloud.bench.subjects import DEFAULT_SUBJECTS, SUBJECTS


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "bench",
        help="measure retry amplification: plain botocore vs resilient_cloud",
        description=(
            "Run failure scenarios against moto servers on loopback (reached by "
            "their real AWS hostnames) and compare, in one run and on one seed, "
            "what plain botocore and resilient_cloud send and achieve."
        ),
    )
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO",
        help=f"scenarios to run (default: all): {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--subject", action="append", choices=list(SUBJECTS), dest="subjects",
        help=f"a subject to compare (repeatable; default: {', '.join(DEFAULT_SUBJECTS)})",
    )
    parser.add_argument("--quick", action="store_true", help="fewer calls and shorter caps")
    parser.add_argument("--seed", type=int, default=1, help="seed for faults and jitter (default 1)")
    parser.add_argument("--calls", type=_positive_int, help="calls per subject, overriding the scenario's")
    parser.add_argument(
        "--cap", type=_positive_float, metavar="SECONDS",
        help="time cap per subject, overriding the scenario's; unfinished calls are reported",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))  # tables in logs and pipes
    if args.list:
        for scenario in SCENARIOS.values():
            console.print(f"[bold]{scenario.name}[/bold]: {scenario.description}")
        return 0
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        console.print(f"unknown scenario(s): {', '.join(unknown)}; try --list")
        return 2
    from resilient_cloud.bench import report, runner

    scenarios = args.scenarios or list(SCENARIOS)
    subjects = args.subjects or list(DEFAULT_SUBJECTS)
    with console.status("starting the fake cloud") as status:
        result = runner.run(
            scenarios, subjects, seed=args.seed, quick=args.quick,
            calls=args.calls, cap=args.cap, progress=lambda message: status.update(message),
        )
    report.render(result, console)
    if args.json:
        report.write_json(result, args.json)
        console.print(f"results written to {args.json}")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value
