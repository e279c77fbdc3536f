"""``resilient-cloud simulate``: fleets of clients on a virtual clock."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from resilient_cloud.bench.cli import positive_float, positive_int
from resilient_cloud.sim.fleets import POLICIES
from resilient_cloud.sim.scenarios import SCENARIOS


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "simulate",
        help="simulate fleets of clients (plain botocore vs resilient_cloud) on a virtual clock",
        description=(
            "Run a fleet of simulated machines, each with its own client, against one "
            "simulated service (capacity, bounded queue, client timeouts) through a "
            "trigger, once per policy and side by side. The policies run their real "
            "code: botocore's retry handlers and rate limiter, resilient_cloud's call core."
        ),
    )
    parser.add_argument("scenario", nargs="?", metavar="SCENARIO",
                        help=f"one of: {', '.join(SCENARIOS)}")
    parser.add_argument("--clients", type=positive_int,
                        help="machines in the fleet (default: the scenario's, 10,000)")
    parser.add_argument("--duration", type=positive_float, metavar="SECONDS",
                        help="seconds of arrivals (default: the scenario's)")
    parser.add_argument("--policy", action="append", choices=POLICIES, dest="policies",
                        help=f"a policy to run (repeatable; default: all of {', '.join(POLICIES)})")
    parser.add_argument("--seed", type=int, default=1, help="seed for arrivals, faults and jitter")
    parser.add_argument("--processes", type=positive_int,
                        help="worker processes (default: one per policy, at most one per core)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw the timelines")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from resilient_cloud.sim import report, runner

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))
    if args.list or args.scenario is None:
        for scenario in SCENARIOS.values():
            console.print(f"[bold]{scenario.name}[/bold]: {scenario.description}")
        return 0 if args.list else 2
    if args.scenario not in SCENARIOS:
        console.print(f"unknown scenario {args.scenario!r}; try --list")
        return 2
    scenario = SCENARIOS[args.scenario].sized(args.clients, args.duration)
    if scenario.window[0] >= scenario.duration:
        console.print(f"--duration must be past the trigger's start ({scenario.window[0]:g}s)")
        return 2
    policies = list(dict.fromkeys(args.policies or POLICIES))
    bar = Progress(TextColumn("{task.description:>15}"), BarColumn(),
                   TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                   console=console, transient=True)
    tasks: dict[str, TaskID] = {p: bar.add_task(p, total=1.0) for p in policies}

    def progress(policy: str, done: float) -> None:
        bar.update(tasks[policy], completed=done)

    with bar:
        results = runner.run_all(
            scenario, policies, seed=args.seed, processes=args.processes, progress=progress
        )
    report.render(scenario, args.seed, results, console)
    if args.json:
        report.write_json(scenario, args.seed, results, args.json)
        console.print(f"results written to {args.json}")
    if args.plot:
        from resilient_cloud.sim import plot

        plot.write_png(scenario, args.seed, results, args.plot)
        console.print(f"timelines drawn in {args.plot}")
    return 0
