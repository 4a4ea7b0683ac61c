"""Note commands (product.md §7): ``verify FILE.pdf``, batch ``export --from --to --dir`` and the
PDF branch of ``export --procedure ID --out FILE.pdf``.

``verify`` validates the note's PAdES signatures against a clinic's trust root, the one in
``--trust clinic-ca.pem`` or else the one of the clinic database (``--db``), and prints ``match``
and who signed what, when (exit 0), or ``mismatch: <reason>`` (exit 1); a missing file is bad
input (exit 2, ``FILE: no such file``). It needs no sign-in: it reads no patient data.
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
from tpi_chart.domain.errors import InvalidInput
from tpi_chart.domain.signatures import Trust
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import StorageError
from tpi_chart.services.paths import resolve_database
from tpi_chart.services.pki import TrustProblem

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    verify = subparsers.add_parser(
        "verify",
        help="validate a note's digital signatures and its embedded procedure document",
        description="Validate every PAdES signature in a note against the clinic's signing "
        "authority (from --trust, else the clinic database) and check the embedded procedure "
        "document against the signed hash; prints `match` and the signers, or "
        "`mismatch: <reason>`.",
    )
    verify.add_argument("file", type=Path, metavar="FILE.pdf")
    verify.add_argument(
        "--trust",
        type=Path,
        metavar="clinic-ca.pem",
        help="the signing clinic's certificate file (tpi-chart ca export); default: the clinic "
        "of --db",
    )
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
    try:
        trust = _trust(args)
    except InvalidInput as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (StorageError, TrustProblem) as error:
        print(f"mismatch: {error}")
        return EXIT_ERROR
    from tpi_chart.pdf.verify import verify_note  # pyHanko: only for this command

    result = verify_note(data, trust)
    print(result)
    return EXIT_OK if result.ok else EXIT_ERROR


def _trust(args: argparse.Namespace) -> Trust:
    """The trust root: the file given, else the clinic database's (a file must exist: verifying
    never creates a clinic; a server clinic's certificate is read from the server)."""
    if args.trust is not None:
        from tpi_chart.services.notes import read_trust_file

        return read_trust_file(args.trust)
    path = resolve_database(getattr(args, "db", None))
    if isinstance(path, Path) and not path.exists():
        raise InvalidInput(
            [
                "--trust: give the signing clinic's clinic-ca.pem (tpi-chart ca export), or --db "
                "of the clinic that signed the note"
            ]
        )
    with open_services(path, None) as services:
        return services.authority.trust()


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
