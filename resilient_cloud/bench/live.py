"""The live view (``resilient-cloud bench --live``): while a scenario runs,
each resilient subject's health as its library sees it: breakers, retry
budget, bulkhead, the region calls start in, stale DNS answers served and
retries scheduled so far. Fed by the workers' health samples."""

from __future__ import annotations

import threading
from typing import Any

from rich.table import Table
from rich.text import Text

_BREAKER_STYLE = {"closed": "green", "half-open": "yellow", "open": "bold red"}


class LiveView:
    """The latest sample of each subject of the scenario running now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scenario: str | None = None
        self._latest: dict[str, dict[str, Any]] = {}

    def update(self, scenario: str, subject: str, sample: dict[str, Any]) -> None:
        with self._lock:
            if scenario != self._scenario:
                self._scenario, self._latest = scenario, {}
            self._latest[subject] = sample

    def __rich__(self) -> Table:
        with self._lock:
            scenario, latest = self._scenario, dict(self._latest)
        table = Table(
            title=f"live: {scenario or 'waiting for a resilient subject'}", title_justify="left",
        )
        for column, justify in (
            ("subject", "left"), ("t (s)", "right"), ("endpoint", "left"), ("breaker", "left"),
            ("budget", "right"), ("bulkhead in use/queued", "right"), ("calls start in", "left"),
            ("stale DNS", "right"), ("retries", "right"),
        ):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for subject, sample in latest.items():
            for index, endpoint in enumerate(sample["endpoints"] or [{}]):
                first = index == 0
                table.add_row(
                    subject if first else "",
                    f"{sample['t']:.1f}" if first else "",
                    endpoint.get("endpoint", "-"),
                    _breaker(endpoint.get("breaker")),
                    _number(endpoint.get("budget")),
                    _bulkhead(endpoint),
                    endpoint.get("routing") or "",
                    str(sample["stale_dns"]) if first else "",
                    str(sample["retries"]) if first else "",
                )
        return table


def _breaker(state: str | None) -> Text:
    return Text(state or "-", style=_BREAKER_STYLE.get(state or "", ""))


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _bulkhead(endpoint: dict[str, Any]) -> str:
    in_use = endpoint.get("bulkhead_in_use")
    if in_use is None:
        return "-"
    return f"{in_use}/{endpoint.get('bulkhead_waiting', 0)}"
