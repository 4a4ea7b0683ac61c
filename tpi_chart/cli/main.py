"""The command line (product.md §7): one parser, one module per group of commands.

Every command calls the same services as the GUI. Exit codes: 0 done, 2 bad input (one line per
problem on stderr, naming the field), 1 anything else.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tpi_chart import __version__
from tpi_chart.cli.auth import add_arguments as add_auth_arguments

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2

# Each module defines `register(subparsers)`, which adds its commands and sets `handler` on them.
COMMAND_MODULES: tuple[str, ...] = (
    "tpi_chart.cli.commands_check",
    "tpi_chart.cli.commands_data",
    "tpi_chart.cli.commands_notes",
    "tpi_chart.cli.commands_audit",
    "tpi_chart.cli.commands_users",
    "tpi_chart.cli.commands_sign",
    "tpi_chart.cli.commands_ca",
    "tpi_chart.cli.commands_interop",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tpi-chart",
        description="Chart trigger point injections. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"tpi-chart {__version__}")
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
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
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
