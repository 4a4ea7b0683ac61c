"""The command line (product.md §7): one parser, one module per group of commands.

Every command calls the same services as the GUI. Exit codes: 0 done, 2 bad input (one line per
problem on stderr, naming the field), 1 anything else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from tpi_chart.cli.options import add_auth_arguments
from tpi_chart.cli.registry import COMMANDS, all_modules
from tpi_chart.cli.version import VersionAction

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser. Given the command line `argv`, it loads only the module of the command it
    names, and none when it names none (the window): each command pays only for itself
    (issue 15). Without `argv`, or for `--help` or an unknown command, every command."""
    parser = argparse.ArgumentParser(
        prog="tpi-chart",
        description="Chart trigger point injections. Without a command, opens the app.",
    )
    parser.add_argument("--version", action=VersionAction)
    _add_global_arguments(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _modules_for(argv):
        module.register(subparsers)
    return parser


class _Unclear(Exception):
    pass


class _Peek(argparse.ArgumentParser):
    """Finds the command's name without printing anything (the full parser reports errors)."""

    def error(self, message: str) -> NoReturn:
        raise _Unclear(message)


def _modules_for(argv: Sequence[str] | None) -> tuple[ModuleType, ...]:
    if argv is None or any(token in ("-h", "--help") for token in argv):
        return all_modules()
    peek = _Peek(add_help=False)
    _add_global_arguments(peek)
    peek.add_argument("command", nargs="?")
    try:
        known, _ = peek.parse_known_args(list(argv))
    except _Unclear:
        return all_modules()
    if known.command is None:
        return ()
    load = COMMANDS.get(known.command)
    return (load(),) if load is not None else all_modules()


def _add_global_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="database file, or a clinic on a PostgreSQL server as postgresql://… (default: "
        "the per-user data folder; environment: TPI_CHART_DB)",
    )
    add_auth_arguments(parser)
    parser.add_argument(
        "--room",
        metavar="NAME",
        help='what this workstation is called in the other rooms of a server clinic ("Room 2"; '
        "default: the name saved in Settings, else the computer's name; environment: "
        "TPI_CHART_ROOM)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the separate demo database (created with the demo clinic on first use; "
        "the window says DEMO); without a command only",
    )


def run(args: argparse.Namespace) -> int:
    """Run the command chosen in `args` (which must have one)."""
    handler = args.handler
    result: int = handler(args)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    if args.command is None:
        print("tpi-chart: no command given; run `tpi-chart --help`.", file=sys.stderr)
        return EXIT_BAD_INPUT
    return run(args)
