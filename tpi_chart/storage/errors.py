"""Storage errors a user can act on, each with a plain message (no SQL, no traceback)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3  # imported by the engine that raised; not before the sign-in's first paint


class StorageError(Exception):
    """The database cannot do what was asked; the message says why and what to do."""


class NotOurDatabase(StorageError):
    """The file is not a TPI Chart database (not SQLite, or another application's)."""


class SchemaTooNew(StorageError):
    """The database was written by a newer TPI Chart."""


class CorruptDatabase(StorageError):
    """The database failed its integrity check."""


class UnsafeLocation(StorageError):
    """The database path is on a network mount or inside a cloud-sync folder."""


class DiskFull(StorageError):
    pass


class ReadOnlyDatabase(StorageError):
    pass


class DatabaseLocked(StorageError):
    """Another program held the database's write lock for longer than the busy timeout."""


class AlreadyOpen(StorageError):
    """Another TPI Chart window or command has the database open (the single-instance lock)."""


class AuditKeyProblem(StorageError):
    """The audit key is missing or damaged while the audit trail has rows; opening is refused."""


class AuditKeyLocked(AuditKeyProblem):
    """The clinic's audit key is sealed to its accounts and nobody in this program has unlocked
    it with their password yet: a change cannot be recorded, so it is refused."""


class DataLoss(StorageError):
    """The database lost what this computer knows it held (emptied, shortened, its -wal file
    deleted, or replaced by an older copy): refused so that nothing is built on top of it."""


class SignedRecord(StorageError):
    """The database refused to change a signed procedure (the triggers fired)."""


class StaleRecord(StorageError):
    """The row changed since the caller's copy was read (its version moved on); nothing was
    saved. `current_version` is the stored row's version now."""

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class LeaseHeld(StorageError):
    """Another room has the procedure open for charting (its lease, storage/live.py): the write
    was refused, nothing was saved."""


class DuplicateRecord(StorageError):
    """A uniqueness constraint refused the row (for example an MRN already in use)."""


class ServerUnreachable(StorageError):
    """The clinic's database server cannot be reached (down, network, refused credentials)."""


def unreachable_message(host: str) -> str:
    return (
        f"The clinic database server at {host} cannot be reached; nothing was changed. Check "
        "the network connection and that the server is running, then try again (your IT "
        "contact can check the server)."
    )


def _disk_full(text: str, where: str) -> StorageError:
    return DiskFull(f"the disk is full{where}; free some space and try again (nothing was saved)")


def _read_only(text: str, where: str) -> StorageError:
    return ReadOnlyDatabase(
        f"the database cannot be written{where}: attempt to write a readonly database; "
        "check the file and folder permissions"
    )


def _busy(text: str, where: str) -> StorageError:
    return DatabaseLocked(
        f"the database is busy: another program is writing to it{where} and did not finish "
        "in time; nothing was saved. Wait a moment and try again; if it keeps happening, "
        "close the other program (a backup, sync or database tool)"
    )


def _corrupt(text: str, where: str) -> StorageError:
    return CorruptDatabase(
        f"the database is damaged{where}: {text}; restore it from a backup "
        "(`tpi-chart restore FILE`)"
    )


def _leased(text: str, where: str) -> StorageError:
    # The trigger's sentence names the room and the person (storage/postgres/migrations).
    return LeaseHeld(text)


def _duplicate(text: str, where: str) -> StorageError:
    return DuplicateRecord(text)


def _trigger(text: str, where: str) -> StorageError:
    # Our triggers' messages are written for people; those that guard signed records and their
    # addenda begin with these words (storage/sqlite/migrations).
    if text.startswith(("procedure is signed", "addenda")):
        return SignedRecord(text)
    return StorageError(text)


#: SQLite's extended result code name (sqlite3.Error.sqlite_errorname) → the error a person can
#: act on. Names not listed fall back to their primary code (the part before the second "_").
#: Never the message text: a NOT NULL failure on a column named signed_at is not "signed".
_BY_CODE = {
    "SQLITE_FULL": _disk_full,
    "SQLITE_IOERR_WRITE": _disk_full,
    "SQLITE_READONLY": _read_only,
    "SQLITE_BUSY": _busy,
    "SQLITE_LOCKED": _busy,
    "SQLITE_CORRUPT": _corrupt,
    "SQLITE_NOTADB": _corrupt,
    "SQLITE_CONSTRAINT_UNIQUE": _duplicate,
    "SQLITE_CONSTRAINT_PRIMARYKEY": _duplicate,
    "SQLITE_CONSTRAINT_TRIGGER": _trigger,
}


#: PostgreSQL's SQLSTATE → the same errors, for the server store. Codes not listed fall back to
#: their class (the first two characters). TPI01 is raised by our own trigger function
#: (`tpi_frozen`, storage/postgres/migrations) with the same messages as SQLite's triggers;
#: TPI02 by `tpi_leased` (a procedure another room has open).
_BY_SQLSTATE = {
    "53100": _disk_full,  # disk_full
    "25006": _read_only,  # read_only_sql_transaction (a standby, or a read-only role)
    "55P03": _busy,  # lock_not_available (lock_timeout)
    "57014": _busy,  # query_canceled (statement_timeout)
    "40P01": _busy,  # deadlock_detected
    "40001": _busy,  # serialization_failure
    "XX001": _corrupt,  # data_corrupted
    "XX002": _corrupt,  # index_corrupted
    "23505": _duplicate,  # unique_violation
    "TPI01": _trigger,
    "TPI02": _leased,
}


def translate_sqlstate(sqlstate: str, text: str, host: object = None) -> StorageError:
    """The PostgreSQL counterpart of `translate`: the StorageError a user can act on, by the
    error's SQLSTATE. Class 08 (connection exception) and 57P01..57P03 (the server shutting
    down) mean the server cannot be reached."""
    where = f" ({host})" if host is not None else ""
    if sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03"):
        return ServerUnreachable(unreachable_message(str(host)))
    make = _BY_SQLSTATE.get(sqlstate) or _BY_SQLSTATE.get(sqlstate[:2])
    if make is not None:
        # The driver adds context lines (the trigger's PL/pgSQL frame): the message is line one.
        return make(text.splitlines()[0] if text else text, where)
    return StorageError(f"database error{where}: {text}")


def _primary(name: str) -> str:
    parts = name.split("_")
    return "_".join(parts[:2])


def translate(error: sqlite3.Error, path: object = None) -> StorageError:
    """Turn a driver error into the StorageError a user can act on, by SQLite's result code."""
    text = str(error)
    where = f" ({path})" if path is not None else ""
    name = getattr(error, "sqlite_errorname", None) or ""
    make = _BY_CODE.get(name) or _BY_CODE.get(_primary(name))
    if make is not None:
        return make(text, where)
    import sqlite3

    if not name and isinstance(error, sqlite3.DatabaseError) and "not a database" in text:
        return _corrupt(text, where)  # raised by the driver itself, without a result code
    return StorageError(f"database error{where}: {text}")
