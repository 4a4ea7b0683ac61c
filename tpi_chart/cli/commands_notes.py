"""Note commands (product.md §7): ``verify FILE.pdf``, batch ``export --from --to --dir`` and the
PDF branch of ``export --procedure ID --out FILE.pdf``.

``verify`` prints ``match`` (exit 0) or ``mismatch: <reason>`` (exit 1); a missing file is bad
input (exit 2, ``FILE: no such file``). It needs no database.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any

from tpi_chart.cli.auth import Session
from tpi_chart.pdf.verify import verify_note
from tpi_chart.services.context import Services

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    verify = subparsers.add_parser(
        "verify",
        help="check a note PDF against its embedded, signed procedure document",
        description="Recompute the content hash of the procedure document embedded in a note and "
        "re-render the note from it; prints `match` or `mismatch: <reason>`.",
    )
    verify.add_argument("file", type=Path, metavar="FILE.pdf")
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        print(f"{path}: no such file", file=sys.stderr)
        return EXIT_BAD_INPUT
    except IsADirectoryError:
        print(f"{path}: is a folder, not a file", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(f"{path}: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    result = verify_note(data)
    print(result)
    return EXIT_OK if result.ok else EXIT_ERROR


def export_pdf(services: Services, procedure_id: int, out: Path) -> None:
    """``export --procedure ID --out FILE.pdf``: the note (and FILE.json beside it)."""
    services.notes.export_to(procedure_id, out)


def parse_date(value: str, option: str) -> date | str:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return f"{option}: {value!r} is not a date; write it as YYYY-MM-DD"


def batch_problems(args: argparse.Namespace) -> list[str]:
    problems = []
    for option, value in (("--from", args.date_from), ("--to", args.date_to), ("--dir", args.dir)):
        if value is None:
            problems.append(
                f"{option}: required for a batch export (export --from DATE --to DATE --dir DIR)"
            )
    return problems


def export_batch(services: Services, start: date, end: date, folder: Path) -> list[Path]:
    """``export --from DATE --to DATE --dir DIR``: every signed note in the range."""
    return services.notes.export_signed_between(start, end, folder)


def run_batch_export(
    args: argparse.Namespace,
    open_session: Callable[[argparse.Namespace], AbstractContextManager[Session]],
    guarded: Callable[[Callable[[], int]], int],
) -> int:
    """Handler for ``export --from DATE --to DATE --dir DIR`` (called by commands_data.export)."""
    problems = batch_problems(args)
    start = end = None
    if not problems:
        start = parse_date(args.date_from, "--from")
        end = parse_date(args.date_to, "--to")
        problems = [p for p in (start, end) if isinstance(p, str)]
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    assert isinstance(start, date)
    assert isinstance(end, date)

    def run() -> int:
        with open_session(args) as session:
            paths = export_batch(session.services, start, end, args.dir)
        for path in paths:
            print(path)
        return EXIT_OK

    return guarded(run)
