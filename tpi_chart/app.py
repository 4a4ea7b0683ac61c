"""Composition root: parse the command line, then run a command or open the window."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from tpi_chart.cli import main as cli

#: Every file the app creates (database, -wal, backups, exports, temporary files) is readable by
#: the clinic's account only: the records are PHI. Set first, before anything is written.
PRIVATE_UMASK = 0o077


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    args = cli.build_parser().parse_args(argv)
    if args.command is not None:
        return cli.run(args)
    from tpi_chart.ui.launch import launch  # Qt is loaded only when a window is wanted.

    return launch(args)


if __name__ == "__main__":
    sys.exit(main())
