"""Moving a single-room clinic onto a PostgreSQL server (issue 18 §5): `tpi-chart migrate
--from FILE.db --to postgresql://…`, for an administrator of the file clinic.

The file is opened read-only and held with the window's lock, so it is the same file afterwards,
byte for byte, and nobody charts into it meanwhile. What is moved must be sound: the file's own
audit chain is checked with the clinic's key (opened by the administrator's sign-in, which a
read-only file does not record), with its anchor and registry kept beside the key, its
protection triggers and every signed procedure against its signature; any problem refuses the
move. The copy (`storage/postgres/transfer.py`) is one server transaction that compares every
table's rows by count and content hash before it commits, and continues the same audit chain
with a `clinic_migrated` row naming the file, its chain's last row and the counts. Afterwards the
server clinic is opened as a workstation opens it, and its chain is checked again there, and
signed procedures are rebuilt through the server's own reads and hashed against their
signatures: all of them up to `SERVER_SAMPLE`, else that many spread evenly over the clinic
(each costs a dozen round trips; the tables' content hashes already cover every row, and
`tpi-chart audit verify --db …` re-hashes every one).

Who may: moving copies the whole record out of the file and writes a whole clinic into the
server, so it needs both `backup` and `restore` (administrators, `access.MATRIX`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tpi_chart.services.access import INTEGRITY_CHECK, NOBODY, Permissions
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.context import Services, build_services
from tpi_chart.services.errors import InvalidInput, StorageError
from tpi_chart.services.integrity import ClinicStore, open_readonly, signed_problem, verify_clinic
from tpi_chart.services.paths import key_dir
from tpi_chart.services.server import open_server
from tpi_chart.storage.postgres.schema import host_of
from tpi_chart.storage.postgres.transfer import TableCopy, copy_clinic, file_held

#: Signed procedures re-hashed on the server right after the move (see the module's docstring).
SERVER_SAMPLE = 200


@dataclass(frozen=True)
class Migration:
    """What was moved and what was checked."""

    file: Path
    server: str
    tables: tuple[TableCopy, ...]
    #: Rows of the server's audit chain, verified with the clinic's key after the move (the
    #: file's rows and the `clinic_migrated` row).
    audit_rows: int
    event_seq: int
    #: Signed procedures re-hashed on the server, of how many.
    signed_checked: int
    signed: int
    seconds: float


@contextmanager
def open_file_clinic(path: Path) -> Iterator[Services]:
    """The file clinic to move, read-only and held against the window, for nobody yet: the
    caller signs the administrator in (`Services.as_user`) and opens their audit key slot."""
    path = path.expanduser().absolute()
    if not path.is_file():
        raise InvalidInput([f"--from: {path}: no such database file"])
    with file_held(path), open_readonly(path) as (store, _read_only_place):
        yield build_services(store, NOBODY, trust_dir=key_dir())


def migrate_clinic(source: Services, url: str) -> Migration:
    """Move the clinic of `source` (from `open_file_clinic`, signed in) into the empty server
    database at `url`; see the module's docstring. Raises `PermissionDenied`, `StorageError`
    (with the reason: the file does not verify, the server database is not empty, a table
    differs…) and leaves the server database as it was when it refuses."""
    Permissions(source.user).require("backup", "restore")
    store = source.store
    if not isinstance(store, ClinicStore):
        raise InvalidInput(["--from: give the clinic's database file, not a server"])
    key = _file_key(store)
    _require_sound(store)
    started = time.monotonic()
    transfer = copy_clinic(
        store.conn,
        url,
        key=key,
        user=source.user.username,
        event={"file": str(store.path), "clinic_id": store.clinic_id},
    )
    server = open_server(url, key)
    try:
        report = server.audit.verify()
        charting = ChartingService(server, INTEGRITY_CHECK)
        signed = server.procedures.signed_ids()
        sample = _spread(signed, SERVER_SAMPLE)
        problems = [p for p in (signed_problem(charting, i) for i in sample) if p is not None]
    finally:
        server.close()
    if not report.ok or problems:
        reason = report.reason if not report.ok else "; ".join(problems[:3])
        raise StorageError(
            f"the clinic was copied to {host_of(url)}, but it does not verify there ({reason}). "
            "Do not use that database: drop it, create it again and report this problem. The "
            "file was not changed."
        )
    return Migration(
        store.path,
        host_of(url),
        transfer.tables,
        report.rows_checked,
        transfer.event.seq,
        len(sample),
        len(signed),
        time.monotonic() - started,
    )


def _spread(ids: list[int], most: int) -> list[int]:
    """All of `ids`, or `most` of them evenly spread from the first to the last."""
    if len(ids) <= most:
        return ids
    step = (len(ids) - 1) / (most - 1)
    return [ids[round(i * step)] for i in range(most)]


def _file_key(store: ClinicStore) -> bytes:
    if not store.audit_sealed:
        raise StorageError(
            "the clinic's audit key is not sealed to its accounts yet (no administrator has "
            "signed in to this clinic since it was created or upgraded): sign in once as an "
            "administrator (the window, or `tpi-chart users list --as USERNAME`), then move it. "
            "Nothing was copied."
        )
    if not store.key:
        raise StorageError(
            "the clinic's audit key did not open with this account (it has no copy of it yet: "
            "a colleague's sign-in gives it one), so the file's audit trail cannot be checked "
            "and continued on the server. Nothing was copied."
        )
    return store.key


def _require_sound(store: ClinicStore) -> None:
    clinic = verify_clinic(store, ChartingService(store, INTEGRITY_CHECK))
    problems = list(clinic.problems)
    if not clinic.audit.ok:
        problems.insert(
            0, f"audit trail BROKEN at row {clinic.audit.first_broken_seq}: {clinic.audit.reason}"
        )
    if problems:
        raise StorageError(
            "the clinic file does not verify, so it is not moved (a server copy would carry "
            "the damage on as if it were sound): "
            + "; ".join(problems[:3])
            + ". Run `tpi-chart audit verify` on the file and restore its latest good backup. "
            "Nothing was copied."
        )
