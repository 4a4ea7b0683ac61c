"""Composition root: parse the command line, then run a command or open the window."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from tpi_chart.cli import main as cli


def main(argv: Sequence[str] | None = None) -> int:
    args = cli.build_parser().parse_args(argv)
    if args.command is not None:
        return cli.run(args)
    from tpi_chart.ui.launch import launch  # Qt is loaded only when a window is wanted.

    return launch(args)


if __name__ == "__main__":
    sys.exit(main())
