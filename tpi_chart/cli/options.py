"""Options every command shares, kept apart from `cli.auth` so building the parser loads no
service (issue 15: a command pays only for itself)."""

from __future__ import annotations

import argparse


def add_auth_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="as_user",
        metavar="USERNAME",
        help="your account; asked for its password (or one line of standard input when that is "
        "not a terminal). Needed by every command that changes or reads patient data",
    )
