"""`tpi-chart migrate --from FILE.db --to postgresql://… --as ADMIN` (issue 18 §5): move a
single-room clinic into an empty clinic database on a PostgreSQL server
(`services/migrate.py`). Prints each table's rows in the file and on the server and whether their
content matches, then the audit chain as verified on the server.

The administrator signs in against the file clinic; the file is read-only here, so the sign-in is
checked but not recorded in it (the server's `clinic_migrated` row names who moved the clinic).
Exit codes: 0 moved and verified; 2 bad input (one line naming the option); 1 refused or failed,
with the reason, and the server database left as it was.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tpi_chart.cli.auth import authenticate
from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.services.errors import StorageError
from tpi_chart.services.paths import is_server_url

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    migrate = subparsers.add_parser(
        "migrate",
        help="move a one-room clinic (its file) onto a PostgreSQL server",
        description="Copy every record of the clinic file into an empty clinic database on a "
        "PostgreSQL server, check each table's rows and content, and continue the clinic's audit "
        "trail there with a clinic_migrated row. The file is only read. Administrators only "
        "(--as, signed in against the file clinic).",
    )
    migrate.add_argument("--from", dest="source", type=Path, metavar="FILE.db", required=True)
    migrate.add_argument("--to", dest="target", metavar="postgresql://…", required=True)
    migrate.set_defaults(handler=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    if not is_server_url(args.target):
        print(
            "--to: give the server database as postgresql://USER@HOST/DATABASE (the password "
            "in ~/.pgpass, not in the string)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    from tpi_chart.services.migrate import migrate_clinic, open_file_clinic

    try:
        with open_file_clinic(args.source) as anonymous:
            user, password = authenticate(args, anonymous.auth, record=False)
            anonymous.authority.unlock_audit_for_reading(user, password)
            moved = migrate_clinic(anonymous.as_user(user), args.target)
    except InvalidInput as error:
        for line in error.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (DomainError, StorageError) as error:
        print(f"tpi-chart migrate: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(format_counts([(t.name, t.file_rows, t.server_rows, t.matches) for t in moved.tables]))
    print(
        f"audit trail intact on the server: {moved.audit_rows} rows, verified with the clinic's "
        f"key (row {moved.event_seq}: clinic_migrated)"
    )
    if moved.signed_checked == moved.signed:
        print(f"signed procedures: {moved.signed} match their signatures on the server")
    else:
        print(
            f"signed procedures: {moved.signed_checked} of {moved.signed}, spread over the "
            "clinic, match their signatures on the server (all were checked in the file; "
            "`tpi-chart audit verify --db …` re-checks every one there)"
        )
    print(
        f"moved {moved.file} to {moved.server} in {moved.seconds:.1f} s; the file was only read. "
        "Point every workstation at the server (--db or TPI_CHART_DB) and keep the file as an "
        "archive."
    )
    return EXIT_OK


HEADERS = ("TABLE", "FILE", "SERVER", "CONTENT")


def format_counts(rows: Sequence[tuple[str, int, int, bool]]) -> str:
    """The table of counts: each table's rows in the file and on the server, and whether their
    content hashes match."""
    lines = [
        (name, str(file_rows), str(server_rows), "same" if same else "DIFFERENT")
        for name, file_rows, server_rows, same in rows
    ]
    widths = [max([len(h)] + [len(line[i]) for line in lines]) for i, h in enumerate(HEADERS)]
    right = (False, True, True, False)

    def cells(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if align else value.ljust(width)
            for value, width, align in zip(values, widths, right, strict=True)
        ).rstrip()

    return "\n".join([cells(HEADERS), *(cells(line) for line in lines)])
