"""The command line (product.md §7): one parser, one module per group of commands.

Every command calls the same services as the GUI. Exit codes: 0 done, 2 bad input (one line per
problem on stderr, naming the field), 1 anything else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tpi_chart.cli.auth import add_arguments as add_auth_arguments
from tpi_chart.cli.registry import COMMAND_MODULES
from tpi_chart.cli.version import VersionAction

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tpi-chart",
        description="Chart trigger point injections. Without a command, opens the app.",
    )
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="database file (default: the per-user data folder; environment: TPI_CHART_DB)",
    )
    add_auth_arguments(parser)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the separate demo database (created with the demo clinic on first use; "
        "the window says DEMO); without a command only",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the command chosen in `args` (which must have one)."""
    handler = args.handler
    result: int = handler(args)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        print("tpi-chart: no command given; run `tpi-chart --help`.", file=sys.stderr)
        return EXIT_BAD_INPUT
    return run(args)
