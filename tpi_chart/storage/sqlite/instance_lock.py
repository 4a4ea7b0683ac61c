"""One TPI Chart per database (reliability.md §0.2, R9): an exclusive OS lock on `<db>.lock`.

The window takes it when it opens the database (`open_store(..., exclusive=True)`): two windows
on one database could overwrite each other's edits. The command line does not: SQLite serialises
its writes with the window's, and a backup or an audit check must work while the app is open. The
lock is held until the store is closed. The
operating system drops it when the process ends, however it ends, so a crash never leaves a stale
lock. The lock file itself is left in place (removing it would let a second process lock a new
file while the first still holds the old one). The lock is per open file, so the same process
opening the database twice is refused as well.

POSIX: `fcntl.flock(LOCK_EX | LOCK_NB)`. Windows: `msvcrt.locking(LK_NBLCK)` on the first byte.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from tpi_chart.storage.errors import AlreadyOpen, ReadOnlyDatabase, StorageError

__all__ = ["InstanceLock", "lock_path"]


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.lock")


def _open_lock_file(path: Path, db_path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and path.exists():
            # A read-only place: lock what is there so two windows still exclude each other; the
            # database open that follows reports the read-only file.
            try:
                return os.open(path, os.O_RDONLY)
            except OSError:
                pass
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise ReadOnlyDatabase(
                f"the database folder {db_path.parent} cannot be written (TPI Chart could not "
                f"create {path.name} there); check the folder's permissions or choose another "
                "place with --db. The database was not changed."
            ) from error
        reason = error.strerror or error
        raise StorageError(f"cannot create the lock file {path}: {reason}") from error


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class InstanceLock:
    """The held lock on one database; `release()` (idempotent) gives it up."""

    def __init__(self, db_path: Path, fd: int) -> None:
        self.db_path = db_path
        self.path = lock_path(db_path)
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, db_path: Path) -> InstanceLock:
        """Lock `db_path` for this process, or raise `AlreadyOpen` naming the file."""
        path = lock_path(db_path)
        fd = _open_lock_file(path, db_path)
        try:
            locked = _try_lock(fd)
        except OSError as error:
            os.close(fd)
            raise StorageError(f"cannot lock {path}: {error.strerror or error}") from error
        if not locked:
            os.close(fd)
            raise AlreadyOpen(
                f"the database {db_path} is already open in another TPI Chart window (or "
                "command); close that one first, then try again. Only one may use a database at a "
                "time. The database was not changed."
            )
        return cls(db_path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _unlock(fd)
        finally:
            os.close(fd)
