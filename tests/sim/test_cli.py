"""``resilient-cloud simulate`` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from resilient_cloud._cli import main


def test_simulate_runs_policies_side_by_side_in_processes_and_writes_json_and_png(tmp_path) -> None:
    out, png = tmp_path / "sim.json", tmp_path / "sim.png"
    finished = subprocess.run(
        [sys.executable, "-m", "resilient_cloud._cli", "simulate", "capacity-drop",
         "--clients", "40", "--duration", "100", "--policy", "legacy", "--policy", "resilient",
         "--seed", "2", "--json", str(out), "--plot", str(png)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "capacity-drop: 40 clients" in finished.stdout
    document = json.loads(out.read_text())
    assert list(document["results"]) == ["legacy", "resilient"]
    legacy = document["results"]["legacy"]
    assert legacy["figures"]["calls"] == document["results"]["resilient"]["figures"]["calls"]
    assert legacy["figures"]["amplification"] > 2
    assert len(legacy["timeline"]["t"]) == len(legacy["timeline"]["attempts"]) == 130
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_lists_its_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--list"]) == 0
    listed = capsys.readouterr().out
    for name in ("capacity-drop", "outage-recovery", "throttle-capacity"):
        assert name in listed


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["simulate", "flood"], "unknown scenario 'flood'"),
        (["simulate", "capacity-drop", "--duration", "30", "--processes", "1"], "past the trigger"),
    ],
)
def test_simulate_refuses_what_it_cannot_run(argv, says, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert says in capsys.readouterr().out


def test_simulate_refuses_a_fleet_of_no_clients(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "capacity-drop", "--clients", "0"])
    assert "--clients: must be >= 1" in capsys.readouterr().err
