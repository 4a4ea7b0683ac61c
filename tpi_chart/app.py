"""Composition root: parse the command line, put the clinic's catalog in force, then run a
command or open the window.

Only the command line's parser is imported before it is known what to run: the window's start
shows the sign-in dialog before the catalog's models are imported (`ui.launch`)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tpi_chart import logs
from tpi_chart.cli import main as cli

#: Commands that report a bad clinic folder themselves rather than refuse to run.
_REPORTS_CLINIC_FOLDER = frozenset({"catalog", "doctor"})


def _clinic_problems(args: argparse.Namespace) -> list[str]:
    """Put the shipped catalog plus the clinic folder in force (and on `args.catalog`); the
    problems, naming file and field, when the folder has a bad file (then the shipped catalog
    stays in force: nothing half-applied)."""
    from tpi_chart.domain.catalog import use_catalog
    from tpi_chart.domain.errors import InvalidInput
    from tpi_chart.services.clinic import clinic_catalog
    from tpi_chart.services.paths import clinic_dir

    try:
        clinic = clinic_catalog()
    except InvalidInput as error:
        folder = clinic_dir()
        return [
            f"the clinic folder {folder} has a problem; nothing was done. Fix it (check with "
            "`tpi-chart catalog check`):",
            *(str(folder / line) for line in error.problems),
        ]
    use_catalog(clinic.catalog)
    args.catalog = clinic.catalog
    return []


#: Every file the app creates (database, -wal, backups, exports, temporary files) is readable by
#: the clinic's account only: the records are PHI. Set first, before anything is written.
PRIVATE_UMASK = 0o077


def _report_on_terminal(kind: type[BaseException], _error: BaseException, log: Path) -> None:
    print(
        f"tpi-chart: an unexpected error ({kind.__qualname__}) stopped the command; anything it "
        f"reported as done is stored. Details (without patient data) are in {log}",
        file=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    argv = sys.argv[1:] if argv is None else argv
    args = cli.build_parser(argv).parse_args(argv)
    try:
        log = logs.configure()
    except OSError:
        log = None  # a read-only home folder must not stop a rescue export or a backup
    if args.command is not None:
        problems = _clinic_problems(args)
        if log is not None:
            logs.install_excepthook(log, _report_on_terminal)
        if problems and args.command not in _REPORTS_CLINIC_FOLDER:
            print(f"tpi-chart: {problems[0]}", file=sys.stderr)
            for line in problems[1:]:
                print(line, file=sys.stderr)
            return cli.EXIT_BAD_INPUT
        if args.command == "doctor":
            from tpi_chart.ui.doctor_checks import sources  # Qt only for this command

            args.qt_checks = tuple(sources(include_window=args.window))
        # What is imported so far lives as long as the process: out of the collector's sight, a
        # command's collections walk only what the command makes (export: 1,061 -> 1,005 ms,
        # n=10 alternating, load 2.4; the window does the same once it is up).
        gc.freeze()
        return cli.run(args)
    from tpi_chart.ui.launch import launch  # Qt is loaded only when a window is wanted.

    return launch(args, log, check_clinic=lambda: _clinic_problems(args))


if __name__ == "__main__":
    sys.exit(main())
