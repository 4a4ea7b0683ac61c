"""Data commands (product.md §7): schema, import, export, demo, backup, restore.

Exit codes: 0 done; 2 bad input (one line per problem on stderr, naming the field or the file);
1 anything else (a message, never a traceback). Changes are audited under `--user` or the login.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.demo import seed_demo
from tpi_chart.storage.errors import StorageError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2

Handler = Callable[[argparse.Namespace], int]


def register(subparsers: Any) -> None:
    schema = subparsers.add_parser(
        "schema",
        help="print the procedure document's JSON schema",
        description="Print the JSON schema of the tpi-chart.procedure/1 document.",
    )
    schema.set_defaults(handler=run_schema)

    imp = subparsers.add_parser(
        "import",
        help="store procedure documents (patients matched by MRN)",
        description="Store procedure documents; prints the id of each stored procedure. All files "
        "are checked first: if any is invalid, nothing is stored.",
    )
    imp.add_argument("files", nargs="+", metavar="FILE.json", type=Path)
    imp.set_defaults(handler=run_import)

    export = subparsers.add_parser(
        "export",
        help="write a procedure as JSON (or a PDF note)",
        description="Write one procedure; the format follows the extension of --out, or "
        "--format (fhir, hl7: signed notes only, see README 'Sending notes to the record "
        "system').",
    )
    export.add_argument("--procedure", type=int, metavar="ID")
    export.add_argument("--out", type=Path, metavar="FILE.json|FILE.pdf")
    # Batch export of signed notes (tpi_chart.cli.commands_notes): --from DATE --to DATE --dir DIR
    export.add_argument("--from", dest="date_from", metavar="DATE")
    export.add_argument("--to", dest="date_to", metavar="DATE")
    export.add_argument("--dir", type=Path, metavar="DIR")
    # Record-system formats (tpi_chart.cli.commands_interop): fhir, hl7; a batch takes a list.
    export.add_argument(
        "--format",
        metavar="FORMAT",
        help="pdf, json, fhir or hl7 (a batch takes several, comma-separated)",
    )
    export.set_defaults(handler=run_export)

    demo = subparsers.add_parser(
        "demo",
        help="seed a demo clinic: patients, plans, signed history",
        description="Seed the demo clinic into the database (once).",
    )
    demo.add_argument("--db", dest="demo_db", metavar="PATH", help="database file to seed")
    demo.set_defaults(handler=run_demo)

    backup = subparsers.add_parser(
        "backup",
        help="consistent online backup of the database",
        description="Copy the database with SQLite's online backup API and check the copy.",
    )
    backup.add_argument("--out", type=Path, required=True, metavar="FILE")
    backup.set_defaults(handler=run_backup)

    restore = subparsers.add_parser(
        "restore",
        help="restore a backup after an integrity check",
        description="Check FILE, keep the current database aside, then restore FILE.",
    )
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.set_defaults(handler=run_restore)


def _error(message: str) -> None:
    print(f"tpi-chart: {message}", file=sys.stderr)


def _guarded(run: Callable[[], int]) -> int:
    """Run a command; map refusals to exit codes with plain messages."""
    try:
        return run()
    except InvalidInput as error:
        for line in error.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (DomainError, StorageError) as error:
        _error(str(error))
        return EXIT_ERROR
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        _error(f"{where}{error.strerror or error}")
        return EXIT_ERROR


def _open(args: argparse.Namespace, db: str | None = None) -> Services:
    path = db or getattr(args, "db", None)
    return open_services(Path(path) if path else None, getattr(args, "user", None))


def run_schema(args: argparse.Namespace) -> int:
    print(json.dumps(ProcedureDocument.model_json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    def run() -> int:
        with _open(args) as services:
            ids = services.documents.import_documents(list(args.files))
        for procedure_id in ids:
            print(procedure_id)
        return EXIT_OK

    return _guarded(run)


def _export_json(services: Services, procedure_id: int, out: Path) -> None:
    services.documents.export_json(procedure_id, out)


def _export_pdf(services: Services, procedure_id: int, out: Path) -> None:
    from tpi_chart.cli.commands_notes import export_pdf

    export_pdf(services, procedure_id, out)


#: Export writers by file extension; the PDF note plugs in here (tpi_chart.services.notes).
EXPORTERS: dict[str, Callable[[Services, int, Path], None]] = {
    ".json": _export_json,
    ".pdf": _export_pdf,
}


def run_export(args: argparse.Namespace) -> int:
    if getattr(args, "format", None) is not None:
        from tpi_chart.cli.commands_interop import run_export_format

        return run_export_format(args, _open, _guarded)
    if args.date_from is not None or args.date_to is not None or args.dir is not None:
        from tpi_chart.cli.commands_notes import run_batch_export

        return run_batch_export(args, _open, _guarded)
    if args.procedure is None or args.out is None:
        print(
            "export: give --procedure ID --out FILE, or --from DATE --to DATE --dir DIR",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    out: Path = args.out
    exporter = EXPORTERS.get(out.suffix.lower())
    if exporter is None:
        allowed = " or ".join(sorted(EXPORTERS))
        print(
            f"{out}: unknown format {out.suffix or '(no extension)'!r}; use {allowed}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT

    def run() -> int:
        with _open(args) as services:
            exporter(services, args.procedure, out)
        print(out)
        return EXIT_OK

    return _guarded(run)


def run_demo(args: argparse.Namespace) -> int:
    def run() -> int:
        with _open(args, args.demo_db) as services:
            seeded = seed_demo(services)
            path = services.db_path
        if seeded:
            print(f"demo clinic seeded into {path}")
        else:
            print(f"{path} already has the demo clinic (patient D1001); nothing changed")
        return EXIT_OK

    return _guarded(run)


def run_backup(args: argparse.Namespace) -> int:
    def run() -> int:
        with _open(args) as services:
            out = services.backups.backup(args.out)
        print(f"backup written to {out} (integrity check ok)")
        return EXIT_OK

    return _guarded(run)


def run_restore(args: argparse.Namespace) -> int:
    file: Path = args.file
    if not file.is_file():
        print(f"{file}: no such file", file=sys.stderr)
        return EXIT_BAD_INPUT

    def run() -> int:
        with _open(args) as services:
            aside = services.backups.restore(file)
        print(f"restored {file}; the previous database was kept as {aside}")
        return EXIT_OK

    return _guarded(run)
