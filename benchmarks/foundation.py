"""The foundation benchmark: the figures issue 3 asks for, checked in one run.

    python benchmarks/foundation.py [--seed 1] [--quick]

Runs the `outage`, `transient` and `overhead` scenarios for plain botocore
(legacy, standard) and resilient_cloud on one fake cloud and one seed (the
same runner as `resilient-cloud bench`), writes benchmarks/foundation.json,
prints the table, then checks each target and exits non-zero if one fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from resilient_cloud.bench import report, runner

HERE = Path(__file__).resolve().parent


def checks(run: dict) -> list[tuple[str, bool, str]]:
    rows = {(r["scenario"], r.get("subject")): r for r in run["results"]}
    outage_rc, outage_legacy = rows[("outage", "resilient")], rows[("outage", "legacy")]
    transient_rc = rows[("transient", "resilient")]
    transient_legacy = rows[("transient", "legacy")]
    transient_std = rows[("transient", "standard")]
    overhead = rows[("overhead", None)]
    return [
        (
            "outage: resilient requests per call < 1.3",
            outage_rc["amplification"] < 1.3,
            f"{outage_rc['amplification']:.3f} (legacy "
            f"{'>=' if outage_legacy['amplification_is_lower_bound'] else ''}"
            f"{outage_legacy['amplification']:.2f}, "
            f"{outage_legacy['attempts_per_finished_call'] or 0:.1f} attempts per finished call)",
        ),
        (
            "transient: resilient success >= 99.9%",
            transient_rc["success_ratio"] >= 0.999,
            f"{transient_rc['success_ratio']:.4%} of {transient_rc['calls_finished']}",
        ),
        (
            "transient: requests per call within 2% of plain legacy's",
            abs(transient_rc["amplification"] / transient_legacy["amplification"] - 1) <= 0.02,
            f"{transient_rc['amplification']:.4f} vs {transient_legacy['amplification']:.4f}",
        ),
        (
            "transient: p99 well under plain standard's",
            transient_rc["p99"] < transient_std["p99"] / 2,
            f"{transient_rc['p99']:.3f}s vs {transient_std['p99']:.3f}s",
        ),
        (
            "overhead: resilient / plain botocore <= 1.10",
            overhead["ratio"] <= 1.10,
            f"{overhead['ratio']:.3f} (median of rounds; {overhead['ratio_min']:.3f}-{overhead['ratio_max']:.3f})",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=HERE / "foundation.json")
    args = parser.parse_args()
    console = Console(width=120)
    run = runner.run(
        ["outage", "transient", "overhead"], ["legacy", "standard", "resilient"],
        seed=args.seed, quick=args.quick, progress=lambda m: console.print(f"... {m}"),
    )
    report.write_json(run, args.json)
    report.render(run, console)
    failed = 0
    for name, ok, detail in checks(run):
        failed += not ok
        console.print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
