"""Data commands (product.md §7): schema, import, export, demo, backup, restore.

Exit codes: 0 done; 2 bad input (one line per problem on stderr, naming the field or the file);
1 anything else (a message, never a traceback). Every command but `schema` runs for the person
signed in with `--as` (`tpi_chart.cli.auth`), checked and audited by the services; `demo` into a
database without accounts needs no `--as` (nobody could sign in to it yet).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tpi_chart.cli.auth import Session, authenticate, database_path, signed_in
from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.services.access import SYSTEM_SETUP
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.documents import read_document
from tpi_chart.services.errors import StorageError

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
    imp.add_argument(
        "--update-patient",
        action="store_true",
        help="apply the documents' patient details (name, sex, weight...) to the stored patient "
        "(each change audited); without it the stored details are kept. Allergies always merge.",
    )
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
        help="encrypted backup of the database and its keys",
        description="Copy the database with SQLite's online backup API (a clinic on a "
        "PostgreSQL server: pg_dump), check the copy, and write it with the audit key as one "
        "AES-256-GCM encrypted file under the clinic's backup passphrase (asked for when none is "
        "set; read from the terminal or one stdin line).",
    )
    backup.add_argument("--out", type=Path, metavar="FILE")
    backup.add_argument(
        "--set-passphrase",
        action="store_true",
        help="set the clinic's backup passphrase (asked twice on a terminal, or one stdin line)",
    )
    backup.set_defaults(handler=run_backup)

    restore = subparsers.add_parser(
        "restore",
        help="restore a backup after an integrity check",
        description="Check FILE, keep the current database aside, then restore FILE. A clinic "
        "on a PostgreSQL server (--db postgresql://…) is restored into a new, empty database, "
        "then its audit trail is verified.",
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


def _open(
    args: argparse.Namespace,
    db: str | None = None,
    *,
    rescue: bool = False,
    for_restore: bool = False,
) -> AbstractContextManager[Session]:
    """The database, for the person signed in with `--as` (`rescue`: read-only when it cannot
    be written; see `cli.auth.signed_in`)."""
    return signed_in(args, db, rescue=rescue, for_restore=for_restore)


def run_schema(args: argparse.Namespace) -> int:
    print(json.dumps(ProcedureDocument.model_json_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    def run() -> int:
        # Bad files are bad input before anyone signs in: nothing at all is written then.
        problems: list[str] = []
        for path in args.files:
            problems += read_document(path, f"{path}: " if len(args.files) > 1 else "")[1]
        if problems:
            raise InvalidInput(problems)
        with _open(args) as session:
            result = session.services.documents.import_detailed(
                list(args.files), update_patient=args.update_patient
            )
        for procedure_id in result.ids:
            print(procedure_id)
        for note in result.notes:
            print(f"tpi-chart import: {note}", file=sys.stderr)
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
        with _open(args, rescue=True) as session:
            exporter(session.services, args.procedure, out)
        print(out)
        return EXIT_OK

    return _guarded(run)


def run_demo(args: argparse.Namespace) -> int:
    from tpi_chart.services.demo import seed_demo_as  # the demo's records: only this command

    def run() -> int:
        with open_services(database_path(args, args.demo_db)) as opened:
            services = opened
            if not opened.auth.needs_first_run():  # else nobody can sign in yet: a new file
                user, _ = authenticate(args, opened.auth)
                services = opened.as_user(user)
            path = services.location
            seeded = seed_demo_as(services)
        if seeded:
            print(f"demo clinic seeded into {path}")
        else:
            print(f"{path} already has the demo clinic (patient D1001); nothing changed")
        return EXIT_OK

    return _guarded(run)


def read_passphrase(prompt: str, *, confirm: bool = False) -> str:
    """The passphrase from the terminal (not echoed), or one line of stdin; never argv, where
    other users of the machine could read it."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(prompt)
        if confirm and getpass.getpass("again: ") != first:
            raise InvalidInput(["backup.passphrase: the two entries differ; nothing was changed"])
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run_backup(args: argparse.Namespace) -> int:
    if args.out is None and not args.set_passphrase:
        print("backup: give --out FILE (or --set-passphrase)", file=sys.stderr)
        return EXIT_BAD_INPUT

    def run() -> int:
        with _open(args, rescue=True) as session:
            services = session.services
            if args.set_passphrase:
                services.backups.set_passphrase(
                    read_passphrase("new backup passphrase: ", confirm=True)
                )
                print("backup passphrase set")
                if args.out is None:
                    return EXIT_OK
            passphrase = (
                None
                if services.backups.has_passphrase()
                else read_passphrase("backup passphrase: ", confirm=True)
            )
            out = services.backups.backup_sealed(args.out, passphrase)
            checked = (
                "pg_dump archive read back, decrypted and checked with pg_restore --list"
                if services.backups.on_server
                else "integrity check ok, read back and verified"
            )
        print(f"encrypted backup written to {out} ({checked})")
        return EXIT_OK

    return _guarded(run)


def _has_no_accounts(path: Path) -> bool:
    with open_services(path, for_restore=True) as services:
        return services.auth.needs_first_run()


def _restore_server(url: str, file: Path) -> int:
    """Into an empty server database: nobody can sign in to it yet, so the backup's passphrase
    authorises the restore (as for a file restored on a new computer)."""
    from tpi_chart.cli.commands_audit import print_report
    from tpi_chart.services.sealed_backup import is_sealed
    from tpi_chart.services.server_backup import restore_clinic

    if not is_sealed(file):
        raise InvalidInput(
            [
                f"{file}: is not an encrypted TPI Chart backup; a server clinic is restored from "
                "one (`tpi-chart backup --out FILE` with --db postgresql://…)"
            ]
        )
    report = restore_clinic(url, file, read_passphrase("backup passphrase: "))
    print(f"restored {file} into the server database; checking it:")
    return print_report(report, unlock_hint="tpi-chart --db postgresql://… audit verify")


def run_restore(args: argparse.Namespace) -> int:
    file: Path = args.file
    if not file.is_file():
        print(f"{file}: no such file", file=sys.stderr)
        return EXIT_BAD_INPUT

    def run() -> int:
        from tpi_chart.services.sealed_backup import is_sealed

        target = database_path(args)
        if isinstance(target, str):
            return _restore_server(target, file)
        if not target.exists() or _has_no_accounts(target):
            # A new computer: there is no clinic to sign in to yet. The backup's passphrase is
            # what authorises bringing it back; its accounts sign in afterwards.
            with open_services(target, SYSTEM_SETUP, for_restore=True) as services:
                passphrase = read_passphrase("backup passphrase: ") if is_sealed(file) else None
                aside = services.backups.restore(file, passphrase)
        else:
            # A restore replaces the content: a database the registry shows as emptied or
            # rolled back is exactly what it is for. Over a clinic: an administrator only.
            with _open(args, for_restore=True) as session:
                passphrase = read_passphrase("backup passphrase: ") if is_sealed(file) else None
                aside = session.services.backups.restore(file, passphrase)
        print(f"restored {file}; the previous database was kept as {aside}")
        return EXIT_OK

    return _guarded(run)
