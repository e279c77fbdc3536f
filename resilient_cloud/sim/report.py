"""The simulator's table, one row per policy, and its JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from resilient_cloud.sim.scenarios import SimScenario

LEGEND = (
    "amp: attempts per call (in the trigger: of calls submitted during it); ok: calls that "
    "succeeded (during the trigger, after it); recovery: seconds after the trigger until "
    "95% of every later second's calls succeed; peak/cap: most attempts in a second after "
    "the trigger over the capacity then; wasted: work on answers too late for their "
    "client; held: longest wait in a client-side rate limiter"
)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _recovery(figures: dict[str, Any]) -> str:
    value = figures["time_to_recover"]
    return "never" if value is None else f"{value:.0f}s"


def render(scenario: SimScenario, seed: int, results: dict[str, dict[str, Any]],
           console: Console) -> None:
    start, end = scenario.window
    table = Table(
        title=(
            f"{scenario.name}: {scenario.clients:,} clients x {scenario.rate:g} calls/s, "
            f"trigger {start:g}-{end:g}s, seed {seed}"
        ),
        caption=(
            f"{scenario.description}\n" + LEGEND
        ),
    )
    table.add_column("policy", no_wrap=True)
    for header in ("amp", "amp\ntrigger", "ok", "ok\ntrigger", "ok\nafter", "recovery",
                   "peak\n/cap", "wasted", "held", "attempts\n/cpu-min"):
        table.add_column(header, justify="right")
    for policy, result in results.items():
        f = result["figures"]
        speed = f["attempts_per_cpu_minute"]
        table.add_row(
            policy, _times(f["amplification"]), _times(f["amplification_during"]),
            _percent(f["success"]), _percent(f["goodput_during"]), _percent(f["goodput_after"]),
            _recovery(f), _times(f["peak_load_after"]), _percent(f["wasted_share"]),
            f"{f['max_held']:.1f}s", "-" if speed is None else f"{speed / 1e6:.2f}M",
        )
    console.print(table)


def write_json(scenario: SimScenario, seed: int, results: dict[str, dict[str, Any]],
               path: Path) -> None:
    document = {
        "scenario": {
            "name": scenario.name, "description": scenario.description,
            "clients": scenario.clients, "rate": scenario.rate, "duration": scenario.duration,
            "window": list(scenario.window), "capacity": scenario.capacity,
        },
        "seed": seed,
        "results": results,
    }
    path.write_text(json.dumps(document, indent=1))
