"""Opening the database safely: pragmas on every connection, explicit transactions, checked
identity and integrity, ordered migrations with a copy of the file taken first.

The only module (with the repositories) that talks to sqlite3. A "saved" result is given to a
caller only after COMMIT has returned (`transaction()`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tpi_chart.storage.errors import (
    CorruptDatabase,
    DatabaseLocked,
    NotOurDatabase,
    ReadOnlyDatabase,
    SchemaTooNew,
    StorageError,
    translate,
)
from tpi_chart.storage.sqlite.migrations import MIGRATIONS, SCHEMA_VERSION

#: PRAGMA application_id of a TPI Chart database ("TPIC" in ASCII).
APPLICATION_ID = 0x54504943
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "Connection",
    "backup_copy",
    "connect",
    "migrate",
    "open_database",
    "transaction",
]


class Connection(sqlite3.Connection):
    """A sqlite3 connection that can run code once the current transaction has committed
    (`after_commit`): the audit anchor is written outside the database only after COMMIT, so it
    may lag the database after a crash but is never ahead of it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._after_commit: dict[str, Callable[[], None]] = {}

    def after_commit(self, name: str, action: Callable[[], None]) -> None:
        """Run `action` when the open transaction commits (now, outside one); dropped on
        ROLLBACK. A later registration under the same `name` replaces an earlier one."""
        if not self.in_transaction:
            action()
            return
        self._after_commit[name] = action

    def _committed(self) -> None:
        actions, self._after_commit = self._after_commit, {}
        for action in actions.values():
            action()

    def _rolled_back(self) -> None:
        self._after_commit = {}
        self.db_path: str | None = None


def connect(path: Path | str, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A connection with driver autocommit (we issue BEGIN IMMEDIATE/COMMIT ourselves) and the
    durability and hardening pragmas set (reliability.md R8). `busy_timeout_ms`: how long a write
    waits for another program's write lock before failing with `DatabaseLocked`."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, timeout=busy_timeout_ms / 1000, factory=Connection
    )
    if isinstance(conn, Connection):
        conn.db_path = str(path)  # names the database in every error message
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"cannot use write-ahead logging for {path} (journal mode {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("PRAGMA secure_delete = ON")
        if sys.platform == "darwin":
            conn.execute("PRAGMA fullfsync = ON")
            conn.execute("PRAGMA checkpoint_fullfsync = ON")
    except sqlite3.Error as error:
        conn.close()
        raise translate(error, path) from error
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, path: object = None) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception. Re-entrant: inside an open
    transaction it joins it (the outermost one commits or rolls back). `path` names the database
    in the messages of the errors it raises (default: the connection's own file)."""
    if path is None:
        path = getattr(conn, "db_path", None)
    if _in_transaction(conn):
        yield conn
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        raise translate(error, path) from error
    try:
        yield conn
    except BaseException:
        if _in_transaction(conn):
            conn.execute("ROLLBACK")
        _rolled_back(conn)
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as error:
        if _in_transaction(conn):
            conn.execute("ROLLBACK")
        _rolled_back(conn)
        raise translate(error, path) from error
    if isinstance(conn, Connection):
        conn._committed()


def _rolled_back(conn: sqlite3.Connection) -> None:
    if isinstance(conn, Connection):
        conn._rolled_back()


def _in_transaction(conn: sqlite3.Connection) -> bool:
    return conn.in_transaction


def split_statements(script: str) -> list[str]:
    """Split SQL text into complete statements (trigger bodies stay whole)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement: {current.strip()[:80]}")
    return statements


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing migrations up to `target`; each step commits with its version bump."""
    current = user_version(conn)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(_too_new_message(current))
    for version in range(current + 1, target + 1):
        with transaction(conn):
            for statement in split_statements(MIGRATIONS[version - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
            conn.execute(f"PRAGMA user_version = {version:d}")
    return user_version(conn)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _too_new_message(version: int) -> str:
    return (
        f"this database was written by a newer version of TPI Chart (schema {version}; this "
        f"version understands up to {SCHEMA_VERSION}); install the newer version to open it. "
        "The file was not changed."
    )


def backup_copy(source: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of `source` at `target` through the online backup API."""
    if not target.exists():
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with closing(sqlite3.connect(str(target), isolation_level=None)) as out:
        source.backup(out)
        # A stand-alone single file: no -wal/-shm beside the copy.
        out.execute("PRAGMA journal_mode = DELETE")


#: Up to this size the open runs `PRAGMA quick_check` itself (it reads the whole file: about a
#: millisecond for the demo clinic, seconds for a clinic's tenth year). A larger file is checked
#: in full after the window is up (at most weekly), by `tpi-chart doctor` and by every backup.
QUICK_CHECK_AT_OPEN_MAX_BYTES = 16 * 1024 * 1024


def header_problem(path: Path, header: bytes) -> str | None:
    """What the 100-byte header says is wrong without reading further: a file without a -wal
    beside it that is shorter than the page count its header records (cut short by a copy)."""
    if len(header) < 100:
        return "the file is shorter than an SQLite header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count is only valid while the change counter equals its version-valid-for. With
    # a -wal file beside it the pages may still be on their way (a checkpoint interrupted by a
    # full disk writes page 1 before the file has grown): only the whole-file check can tell.
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return None
    if pages and header[24:28] == header[92:96] and path.stat().st_size < pages * page_size:
        return (
            f"the file is {path.stat().st_size} bytes but its header records {pages} pages of "
            f"{page_size} bytes: it was cut short"
        )
    return None


def inspect_file(path: Path, *, full_check: bool | None = None) -> tuple[int, int, bool]:
    """(application_id, user_version, has tables) of an existing file, refusing what is not ours
    or is damaged, without changing the file (read-only connection). `full_check`: run
    `PRAGMA quick_check` (True), or not (False); None: only up to
    `QUICK_CHECK_AT_OPEN_MAX_BYTES`, so the open costs the same in the tenth year as on day
    one (the header, application_id, user_version and, in `open_store`, the clinic registry
    are checked whatever the size)."""
    with path.open("rb") as handle:
        header = handle.read(100)
    if header[: len(SQLITE_HEADER)] != SQLITE_HEADER:
        raise NotOurDatabase(
            f"{path} is not a TPI Chart database (it is not an SQLite file); choose another file. "
            "The file was not changed."
        )
    cut_short = header_problem(path, header)
    if cut_short is not None:
        raise CorruptDatabase(_corrupt_message(path, cut_short))
    if full_check is None:
        full_check = path.stat().st_size <= QUICK_CHECK_AT_OPEN_MAX_BYTES
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as conn:
            app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
                raise NotOurDatabase(
                    f"{path} is not a TPI Chart database (it belongs to another application); "
                    "choose another file. The file was not changed."
                )
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(_too_new_message(version))
            rows = [row[0] for row in conn.execute("PRAGMA quick_check")] if full_check else ["ok"]
    except sqlite3.DatabaseError as error:
        if "unable to open" in str(error).lower():  # SQLITE_CANTOPEN: not a damaged file
            if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
                raise ReadOnlyDatabase(_read_only_message(path)) from error
            raise StorageError(
                f"{path} cannot be opened ({error}); check that the file and its folder can be "
                "read and written. The file was not changed."
            ) from error
        raise CorruptDatabase(_corrupt_message(path, str(error))) from error
    if rows != ["ok"]:
        raise CorruptDatabase(_corrupt_message(path, "; ".join(str(r) for r in rows[:3])))
    return app_id, version, bool(tables)


def _corrupt_message(path: Path, detail: str) -> str:
    return (
        f"{path} is damaged and was not opened ({detail}). Restore the latest backup with "
        "`tpi-chart restore FILE`; the damaged file was left as it is."
    )


def open_database(path: Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at `path`.

    Refuses, without changing the file: a non-SQLite file, another application's database, a
    database from a newer version, a damaged database, a database that cannot be written (a
    read-only file, folder or disk: SQLite would otherwise open it read-only without a word, and
    the first save would fail). Before migrating an existing database it
    copies it to `<db>.v<N>-<timestamp>.bak`.
    """
    existing = path.exists() and path.stat().st_size > 0
    version = 0
    if existing:
        _, version, _ = inspect_file(path)
    elif not path.exists():
        # Created by us, owner-only, before SQLite creates it with the umask's permissions (its
        # -wal and -shm take the database file's); the records are PHI.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = connect(path, busy_timeout_ms)
    try:
        if existing and 0 < version < SCHEMA_VERSION:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            backup_copy(conn, path.with_name(f"{path.name}.v{version}-{stamp}.bak"))
        migrate(conn)
        _require_writable(conn, path, busy_timeout_ms)
    except sqlite3.Error as error:
        conn.close()
        raise translate(error, path) from error
    except BaseException:
        conn.close()
        raise
    return conn


def _read_only_message(path: Path) -> str:
    return (
        f"the database {path} cannot be written (attempt to write a readonly database: the file, "
        "its folder or the disk is read-only); TPI Chart does not open a database it could not "
        "save to. Check the permissions of the file and its folder, or copy it to a writable "
        "place and open that with --db. The database was not changed."
    )


def _require_writable(conn: sqlite3.Connection, path: Path, busy_timeout_ms: int) -> None:
    """Take and drop the write lock once. Read-only is refused; busy is not (another program is
    writing right now: the first save waits for it, then reports it)."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # A read-only file can still take the write lock; only a real page write tells.
            conn.execute(f"PRAGMA user_version = {user_version(conn):d}")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
    except sqlite3.Error as error:
        problem = translate(error, path)
        if isinstance(problem, ReadOnlyDatabase):
            raise ReadOnlyDatabase(_read_only_message(path)) from error
        if not isinstance(problem, DatabaseLocked):
            raise problem from error
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")


#: SQLite program steps between two looks at `QuickCheck.interrupted` (a few microseconds).
_STEPS_BETWEEN_LOOKS = 1000


class QuickCheck:
    """One `PRAGMA quick_check` of the file at `path` on a read-only connection of its own, run
    on a thread of its own; `interrupt`, from any thread, stops it at once (SQLite's interrupt:
    0.3 ms into a 2 GB check here), and `run` then returns None: not a finding."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._guard = threading.Lock()
        self._running: sqlite3.Connection | None = None
        self.interrupted = False

    def run(self) -> list[str] | None:
        """The problems found (empty: sound), or None when interrupted."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            return [str(error)]
        with closing(conn):
            with self._guard:
                if self.interrupted:
                    return None
                self._running = conn
            # SQLite drops an interrupt that finds no statement running, so one that arrives
            # between here and the statement's first step would let the check run on through
            # the whole file; the progress handler sees the flag at most 1,000 steps later.
            conn.set_progress_handler(lambda: int(self.interrupted), _STEPS_BETWEEN_LOOKS)
            try:
                rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
            except sqlite3.Error as error:
                return None if self.interrupted else [str(error)]
            finally:
                with self._guard:
                    self._running = None
        return [] if rows == ["ok"] else rows

    def interrupt(self) -> None:
        with self._guard:
            self.interrupted = True
            if self._running is not None:
                self._running.interrupt()


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """Empty when `integrity_check` is ok and `foreign_key_check` finds nothing."""
    problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    if problems == ["ok"]:
        problems = []
    for row in conn.execute("PRAGMA foreign_key_check"):
        problems.append(f"foreign key: {row[0]} row {row[1]} -> {row[2]}")
    return problems
