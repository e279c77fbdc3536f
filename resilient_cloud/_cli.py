"""The ``resilient-cloud`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    import resilient_cloud

    parser = argparse.ArgumentParser(
        prog="resilient-cloud",
        description=(
            "boto3/botocore clients that survive cloud incidents without making "
            "them worse. Run 'resilient-cloud bench --help' to measure retry "
            "amplification against plain botocore on a fake cloud."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"resilient-cloud {resilient_cloud.__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from resilient_cloud.bench import cli as bench_cli

    bench_cli.add_parser(commands)
    from resilient_cloud.sim import cli as sim_cli

    sim_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
