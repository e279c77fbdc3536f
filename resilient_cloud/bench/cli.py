"""``resilient-cloud bench``: the command line over the runner."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from resilient_cloud.bench.scenarios import GROUPS, SCENARIOS, expand
from resilient_cloud.bench.subjects import ALL_SUBJECTS, DEFAULT_SUBJECTS


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
        help=f"scenarios to run (default: all): {', '.join([*SCENARIOS, *GROUPS])}",
    )
    parser.add_argument(
        "--subject", action="append", choices=list(ALL_SUBJECTS), dest="subjects",
        help=(
            f"a subject to compare (repeatable; default: {', '.join(DEFAULT_SUBJECTS)}; "
            "slow-tail, which is about hedging, runs standard and the resilient variants; "
            "aiobotocore and resilient-aio, the asyncio subjects, run when named)"
        ),
    )
    parser.add_argument(
        "--subjects", type=_subject_list, metavar="A,B,...", dest="subject_list",
        help="subjects as one comma-separated list (added to any --subject)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer calls and shorter caps")
    parser.add_argument(
        "--detail", action="store_true",
        help="after the summary, every scenario's table with every subject and figure",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed for faults and jitter (default 1)")
    parser.add_argument("--calls", type=positive_int, help="calls per subject, overriding the scenario's")
    parser.add_argument(
        "--cap", type=positive_float, metavar="SECONDS",
        help="time cap per subject, overriding the scenario's; unfinished calls are reported",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw the timelines as PNG")
    parser.add_argument(
        "--live", action="store_true",
        help="show each resilient subject's health (breakers, budget, bulkhead, routing, DNS) as it runs",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    locust = parser.add_argument_group(
        "Locust", "load from many users and machines (docs/locust.md); needs the locust extra"
    )
    locust.add_argument(
        "--locust", nargs=argparse.REMAINDER, metavar="LOCUST ARGS",
        help=(
            "run SCENARIO (one; default outage-recovery) with Locust instead: every argument "
            "after --locust goes to locust (e.g. --headless -u 20 -t 60s --csv out PlainStandard "
            "Resilient; --rc-* options: see --locust --help)"
        ),
    )
    locust.add_argument(
        "--workers", type=int, default=0, metavar="N",
        help="with --locust: a master and N worker processes on this machine (default: one process)",
    )
    locust.add_argument(
        "--locustfile", action="store_true", help="print the path of the locustfile (locust -f) and exit",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console, Group
    from rich.live import Live
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    if args.locustfile or args.locust is not None:
        return _locust(args)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))  # tables in logs and pipes
    if args.list:
        for scenario in SCENARIOS.values():
            console.print(f"[bold]{scenario.name}[/bold]: {scenario.description}")
        for group, members in GROUPS.items():
            console.print(f"[bold]{group}[/bold]: {', '.join(members)}")
        return 0
    unknown = [name for name in args.scenarios if name not in SCENARIOS and name not in GROUPS]
    if unknown:
        console.print(f"unknown scenario(s): {', '.join(unknown)}; try --list")
        return 2
    from resilient_cloud.bench import report, runner
    from resilient_cloud.bench.live import LiveView

    scenarios = expand(args.scenarios) or list(SCENARIOS)
    subjects = [*(args.subjects or ()), *(args.subject_list or ())] or None
    runs = sum(
        1 if SCENARIOS[name].offline else len(runner.subjects_for(SCENARIOS[name], subjects))
        for name in scenarios
    )
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    )
    task = bar.add_task("starting the fake cloud", total=runs)

    def progress(message: str) -> None:
        if bar.tasks[task].description != "starting the fake cloud":
            bar.advance(task)
        bar.update(task, description=message)

    view = LiveView() if args.live else None
    display = Live(Group(bar, view), console=console, refresh_per_second=4) if view else bar
    with display:
        result = runner.run(
            scenarios, subjects, seed=args.seed, quick=args.quick,
            calls=args.calls, cap=args.cap, progress=progress,
            on_sample=view.update if view is not None else None,
        )
    report.render(result, console, detail=args.detail)
    if args.json:
        report.write_json(result, args.json)
        console.print(f"results written to {args.json}")
    if args.plot:
        from resilient_cloud.bench import plot

        plot.write_png(result, args.plot)
        console.print(f"timelines drawn in {args.plot}")
    return 0


def _locust(args: argparse.Namespace) -> int:
    from resilient_cloud.bench import locust_launch

    if args.locustfile:
        print(locust_launch.locustfile())
        return 0
    if len(args.scenarios) > 1:
        print("--locust runs one scenario at a time", file=sys.stderr)
        return 2
    scenario = args.scenarios[0] if args.scenarios else "outage-recovery"
    return locust_launch.run(scenario, args.workers, args.locust, args.seed)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _subject_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ALL_SUBJECTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown subject(s) {', '.join(unknown) or text!r}; known: {', '.join(ALL_SUBJECTS)}"
        )
    return names
