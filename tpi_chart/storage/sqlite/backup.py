"""Copies of the database file and what checks them: the online backup to a file or into
memory, the content replaced by a checked copy (restore), the integrity checks of a file or of
bytes that are not the open database, and the read-only openers (`audit verify`, the rescue of
a read-only disk)."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from tpi_chart.storage import audit as audit_log
from tpi_chart.storage.errors import AuditKeyProblem, StorageError, translate
from tpi_chart.storage.sqlite import audit_trail as trail
from tpi_chart.storage.sqlite.connection import (
    Connection,
    backup_copy,
    inspect_file,
    integrity_problems,
    migrate,
)

#: The `meta` key of the clinic's id (given once, when the file is new).
CLINIC_ID = "clinic_id"


def backup_to(conn: sqlite3.Connection, target: Path) -> list[str]:
    """Copy through the online backup API; return the copy's integrity problems (empty: ok)."""
    try:
        backup_copy(conn, target)
        return check_file(target)
    except sqlite3.Error as error:
        raise translate(error, target) from error


def snapshot(conn: sqlite3.Connection, path: Path) -> tuple[bytes, list[str]]:
    """A consistent copy of the database as bytes (online backup API into memory: nothing
    is written to disk, so an interrupted backup leaves no copy of the records behind) and
    the copy's integrity problems (empty: ok)."""
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as memory:
        try:
            conn.backup(memory)
            problems = integrity_problems(memory)
            data = bytearray(memory.serialize())
            # Header bytes 18-19 still say WAL (copied from the live file): a stand-alone
            # copy is a rollback-journal database, readable without -wal/-shm files.
            data[18:20] = b"\x01\x01"
            return bytes(data), problems
        except sqlite3.Error as error:
            raise translate(error, path) from error


def check_restorable(source: Path, key_dir: Path) -> None:
    """Refuse, before anything is written, a copy that fails its checks or whose audit rows
    have no key here."""
    problems = check_file(source)
    if problems:
        raise StorageError(
            f"{source} failed its integrity check and was not restored: " + "; ".join(problems[:3])
        )
    require_key(source, key_dir)


def replace_content(conn: sqlite3.Connection, path: Path, source: Path, keep_aside: Path) -> None:
    """The open database's content replaced by `source` (checked by `check_restorable`), the
    current content kept at `keep_aside` first, then migrated to this version's schema."""
    try:
        backup_copy(conn, keep_aside)
        src = open_database_readonly(source)
        try:
            src.backup(conn)
        finally:
            src.close()
        migrate(conn)
    except sqlite3.Error as error:
        raise translate(error, path) from error


def open_database_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)


def check_bytes(database: bytes) -> list[str]:
    """`integrity_check` and `foreign_key_check` of a database held in memory (a backup being
    verified): empty when it is sound."""
    with closing(sqlite3.connect(":memory:")) as memory:
        try:
            memory.deserialize(database)
            return integrity_problems(memory)
        except sqlite3.Error as error:
            return [str(error)]


def check_file(path: Path) -> list[str]:
    """Identity and integrity of a database file other than the open one (for backup/restore):
    empty when it is a TPI Chart database that passes `integrity_check` and `foreign_key_check`."""
    try:
        inspect_file(path)
    except StorageError as error:
        return [str(error)]
    conn = open_database_readonly(path)
    try:
        return integrity_problems(conn)
    except sqlite3.Error as error:
        return [str(error)]
    finally:
        conn.close()


def peek_audit(path: Path) -> tuple[str | None, bool]:
    """(clinic id, has audit rows needing a key file) of an existing file, read-only; (None,
    False) when it cannot tell (a new, foreign or damaged file: opening reports those). A
    sealed key needs no file: it opens at a sign-in."""
    if not path.is_file() or path.stat().st_size == 0:
        return None, False
    try:
        conn = open_database_readonly(path)
    except sqlite3.Error:
        return None, False
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
        has_rows = conn.execute("SELECT EXISTS (SELECT 1 FROM audit)").fetchone()[0]
        needs_file = bool(has_rows) and not trail.is_sealed(conn)
        return (None if row is None else str(row[0])), needs_file
    except sqlite3.Error:
        return None, False
    finally:
        conn.close()


def require_key(path: Path, key_dir: Path) -> None:
    """Refuse, before anything is written, a database whose audit rows have no key here."""
    clinic_id, has_rows = peek_audit(path)
    if not has_rows:
        return
    if clinic_id is None:
        raise AuditKeyProblem(
            f"{path} has audit rows but no clinic id, so its audit key cannot be found; the "
            "database was not opened. Restore it from a backup. The database was not changed."
        )
    key = audit_log.key_path(key_dir, clinic_id)
    if not key.exists():
        raise AuditKeyProblem(audit_log.missing_key_message(key))


def connect_readonly(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri()
    last: sqlite3.Error | None = None
    # Without a -wal file every committed change is in the main file: `immutable` reads it
    # without creating -wal/-shm files beside it. With one, `mode=ro` reads the WAL too.
    wal = path.with_name(path.name + "-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    queries = ("mode=ro", "mode=ro&immutable=1") if has_wal else ("mode=ro&immutable=1",)
    for query in queries:
        try:
            conn = sqlite3.connect(
                f"{uri}?{query}", uri=True, isolation_level=None, factory=Connection
            )
            conn.row_factory = sqlite3.Row
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            return conn
        except sqlite3.Error as error:
            last = error
    assert last is not None
    raise translate(last, path) from last


def inspect_file_readonly(path: Path) -> None:
    """Refuse a file that is not a TPI Chart database, without needing to write anything."""
    with path.open("rb") as handle:
        header = handle.read(16)
    if header != b"SQLite format 3\x00":
        raise StorageError(f"{path} is not a TPI Chart database (it is not an SQLite file)")


def is_read_only_place(path: Path) -> bool:
    """Whether the database file or its folder cannot be written (a read-only disk, medium or
    permission): the read commands then open it read-only."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
