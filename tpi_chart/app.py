"""Composition root: parse the command line, then run a command or open the window."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tpi_chart import logs
from tpi_chart.cli import main as cli


def _report_on_terminal(kind: type[BaseException], _error: BaseException, log: Path) -> None:
    print(
        f"tpi-chart: an unexpected error ({kind.__qualname__}) stopped the command; anything it "
        f"reported as done is stored. Details (without patient data) are in {log}",
        file=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = cli.build_parser().parse_args(argv)
    try:
        log = logs.configure()
    except OSError:
        log = None  # a read-only home folder must not stop a rescue export or a backup
    if args.command is not None:
        if log is not None:
            logs.install_excepthook(log, _report_on_terminal)
        return cli.run(args)
    from tpi_chart.ui.launch import launch  # Qt is loaded only when a window is wanted.

    return launch(args, log)


if __name__ == "__main__":
    sys.exit(main())
