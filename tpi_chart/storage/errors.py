"""Storage errors a user can act on, each with a plain message (no SQL, no traceback)."""

from __future__ import annotations

import sqlite3


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


class DuplicateRecord(StorageError):
    """A uniqueness constraint refused the row (for example an MRN already in use)."""


def translate(error: sqlite3.Error, path: object = None) -> StorageError:
    """Turn a driver error into the StorageError a user can act on."""
    text = str(error)
    where = f" ({path})" if path is not None else ""
    lowered = text.lower()
    if "signed" in lowered and isinstance(error, sqlite3.IntegrityError):
        return SignedRecord(text)
    if "unique constraint failed" in lowered:
        return DuplicateRecord(text)
    if "disk is full" in lowered or "disk full" in lowered:
        return DiskFull(
            f"the disk is full{where}; free some space and try again (nothing was saved)"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return ReadOnlyDatabase(
            f"the database cannot be written{where}: attempt to write a readonly database; "
            "check the file and folder permissions"
        )
    if "locked" in lowered or "busy" in lowered:
        return DatabaseLocked(
            f"the database is busy: another program is writing to it{where} and did not finish "
            "in time; nothing was saved. Wait a moment and try again; if it keeps happening, "
            "close the other program (a backup, sync or database tool)"
        )
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return CorruptDatabase(
            f"the database is damaged{where}: {text}; restore it from a backup "
            "(`tpi-chart restore FILE`)"
        )
    return StorageError(f"database error{where}: {text}")
