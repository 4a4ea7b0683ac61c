"""Record-system commands (issue 19): ``export --format fhir|hl7`` (one procedure or a batch),
``recall --lot LOT [--csv FILE]`` and ``report charges --from --to [--csv FILE]``.

Lists print as CSV on standard output unless ``--csv`` names a file; either way the list is
audited as a PHI export. Exit codes: 0 done, 2 bad input (one line per problem naming the
option), 1 refusal (for example a procedure that is not signed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tpi_chart.services.context import Services
from tpi_chart.services.interop import FORMATS, Format

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2

if TYPE_CHECKING:
    from tpi_chart.cli.auth import Session

#: Opens the database for the person signed in with `--as` (`commands_data._open`).
Opener = Callable[[argparse.Namespace], AbstractContextManager["Session"]]
Guard = Callable[[Callable[[], int]], int]


def register(subparsers: Any) -> None:
    recall = subparsers.add_parser(
        "recall",
        help="every patient and procedure that received a lot (CSV)",
        description="List every procedure whose syringes used LOT (any case), with the patient's "
        "identifying fields and the sites; audited as a PHI export.",
    )
    recall.add_argument("--lot", required=True, metavar="LOT")
    recall.add_argument("--csv", type=Path, metavar="FILE", help="write the CSV here")
    recall.set_defaults(handler=run_recall)

    outbox = subparsers.add_parser(
        "outbox",
        help="files signing could not write to the export folder (and --retry)",
        description="List the outbox items still pending (procedure, event, format, last "
        "error); with --retry, try to write them now first.",
    )
    outbox.add_argument("--retry", action="store_true", help="try to send them now")
    outbox.set_defaults(handler=run_outbox)

    report = subparsers.add_parser(
        "report",
        help="clinic reports (charges)",
        description="Clinic reports; audited as PHI exports.",
    )
    kinds = report.add_subparsers(dest="report", metavar="REPORT")
    charges = kinds.add_parser(
        "charges",
        help="one CSV line per charge of the signed notes in a date range",
        description="Date, patient, CPT and HCPCS lines with units and modifiers, diagnoses, "
        "physician and signing time of every signed note performed from --from to --to.",
    )
    charges.add_argument("--from", dest="date_from", required=True, metavar="DATE")
    charges.add_argument("--to", dest="date_to", required=True, metavar="DATE")
    charges.add_argument("--csv", type=Path, metavar="FILE", help="write the CSV here")
    charges.set_defaults(handler=run_charges)
    report.set_defaults(handler=_report_without_kind)


@contextmanager
def _open(args: argparse.Namespace) -> Iterator[Services]:
    """The services of the person signed in with `--as`."""
    from tpi_chart.cli.commands_data import _open as open_session

    with open_session(args) as session:
        yield session.services


def _guard(run: Callable[[], int]) -> int:
    from tpi_chart.cli.commands_data import _guarded

    return _guarded(run)


def _date(value: str, option: str, problems: list[str]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"{option}: {value!r} is not a date; write it as YYYY-MM-DD")
        return None


def _formats(value: str, problems: list[str], *, single: bool) -> list[Format]:
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        problems.append(
            f"--format: {value!r} is not a format; use {' or '.join(FORMATS)}"
            + ("" if single else " (several separated by commas)")
        )
        return []
    if single and len(names) > 1:
        problems.append("--format: give one format for --out (several only with --dir)")
        return []
    return [name for name in FORMATS if name in names]


def run_export_format(args: argparse.Namespace, open_services: Opener, guarded: Guard) -> int:
    """``export … --format F``: one procedure to --out, or a batch (--from --to --dir)."""
    problems: list[str] = []
    batch = args.date_from is not None or args.date_to is not None or args.dir is not None
    formats = _formats(args.format, problems, single=not batch)
    start = end = None
    if batch:
        for option, value in (("--from", args.date_from), ("--to", args.date_to)):
            if value is None:
                problems.append(f"{option}: required for a batch export")
        if args.dir is None:
            problems.append("--dir: required for a batch export")
        start = _date(args.date_from, "--from", problems) if args.date_from else None
        end = _date(args.date_to, "--to", problems) if args.date_to else None
        if start and end and end < start:
            problems.append(f"--to: {end.isoformat()} is before --from {start.isoformat()}")
    else:
        if args.procedure is None:
            problems.append("--procedure: required (or give --from DATE --to DATE --dir DIR)")
        if args.out is None:
            problems.append("--out: required with --procedure")
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT

    def run() -> int:
        with open_services(args) as session:
            services = session.services
            if batch:
                assert start is not None
                assert end is not None
                paths = services.interop.export_between(start, end, args.dir, formats)
            else:
                paths = services.interop.export(args.procedure, formats[0], args.out)
        for path in paths:
            print(path)
        return EXIT_OK

    return guarded(run)


def run_recall(args: argparse.Namespace) -> int:
    if not args.lot.strip():
        print("--lot: give the lot number to look for", file=sys.stderr)
        return EXIT_BAD_INPUT

    def run() -> int:
        with _open(args) as services:
            rows = services.interop.lot_recall(args.lot)
            data = services.interop.recall_csv(rows)
            criteria = {"lot": args.lot.strip()}
            _emit(services, "lot_recall", criteria, len(rows), args.csv, data)
        if args.csv is not None:
            print(f"{len(rows)} procedure(s) with lot {args.lot.strip()} written to {args.csv}")
        return EXIT_OK

    return _guard(run)


def run_charges(args: argparse.Namespace) -> int:
    problems: list[str] = []
    start = _date(args.date_from, "--from", problems)
    end = _date(args.date_to, "--to", problems)
    if start and end and end < start:
        problems.append(f"--to: {end.isoformat()} is before --from {start.isoformat()}")
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    assert start is not None
    assert end is not None

    def run() -> int:
        with _open(args) as services:
            rows = services.interop.charges_between(start, end)
            data = services.interop.charges_csv(rows)
            criteria = {"from": start.isoformat(), "to": end.isoformat()}
            _emit(services, "charges", criteria, len(rows), args.csv, data)
        if args.csv is not None:
            print(f"{len(rows)} charge line(s) written to {args.csv}")
        return EXIT_OK

    return _guard(run)


def _emit(
    services: Services,
    report: str,
    criteria: dict[str, str],
    rows: int,
    path: Path | None,
    data: bytes,
) -> None:
    if path is not None:
        services.interop.write_list(report, criteria, rows, path, data)
        return
    services.interop.audit_list(report, criteria, rows, None, data)
    sys.stdout.write(data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n"))


def run_outbox(args: argparse.Namespace) -> int:
    def run() -> int:
        with _open(args) as services:
            if args.retry:
                result = services.interop.send_pending()
                print(f"sent {result.sent}, still failing {len(result.failed)}")
            pending = services.interop.pending()
        for item in pending:
            print(
                f"procedure {item.procedure_id}\t{item.event}\t{item.format}\t"
                f"attempts {item.attempts}\t{item.last_error or 'not tried yet'}"
            )
        if not pending:
            print("nothing pending")
        # Something still waiting is worth a non-zero exit for a scheduled job.
        return EXIT_ERROR if pending else EXIT_OK

    return _guard(run)


def _report_without_kind(args: argparse.Namespace) -> int:
    print("report: name the report (charges)", file=sys.stderr)
    return EXIT_BAD_INPUT
