"""One open SQLite database: its connection, the repositories over it, the audit key (plain
file or key slots), the audit anchor and clinic registry kept beside the key, the
single-instance lock; `open_store` and `open_store_readonly` open one."""

from __future__ import annotations

import hmac
import logging
import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from tpi_chart.storage import audit as audit_log
from tpi_chart.storage.audit import Anchor, AnchorWriter
from tpi_chart.storage.errors import (
    AuditKeyProblem,
    DataLoss,
    ReadOnlyDatabase,
    StorageError,
    translate,
)
from tpi_chart.storage.interfaces import WriteGuard
from tpi_chart.storage.live import SingleWindow
from tpi_chart.storage.sqlite import audit_trail as trail
from tpi_chart.storage.sqlite import backup
from tpi_chart.storage.sqlite.audit_trail import SqliteAudit
from tpi_chart.storage.sqlite.audited import AuditedWrites
from tpi_chart.storage.sqlite.connection import (
    BUSY_TIMEOUT_MS,
    Connection,
    open_database,
    transaction,
    user_version,
)
from tpi_chart.storage.sqlite.instance_lock import InstanceLock
from tpi_chart.storage.sqlite.migrations import MIGRATIONS
from tpi_chart.storage.sqlite.outbox import SqliteOutbox
from tpi_chart.storage.sqlite.pain import SqlitePainStrokes
from tpi_chart.storage.sqlite.patients import SqlitePatients
from tpi_chart.storage.sqlite.pki import SqlitePki
from tpi_chart.storage.sqlite.procedures import SqliteProcedures
from tpi_chart.storage.sqlite.sessions import SqliteSessions
from tpi_chart.storage.sqlite.settings import SqliteSettings
from tpi_chart.storage.sqlite.users import SqliteUsers

log = logging.getLogger(__name__)

CLINIC_ID = backup.CLINIC_ID


class SqliteStore:
    """One open database: connection, audit key, anchor, single-instance lock and the
    repositories over it."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        key_dir: Path,
        lock: InstanceLock | None = None,
        *,
        readonly: bool = False,
        check_registry: bool = True,
    ) -> None:
        self.conn = conn
        self.path = path
        self.key_dir = key_dir
        self.lock = lock
        self.readonly = readonly
        self.audit = SqliteAudit(self)
        #: One window per file: leases and notices have nobody else to concern (storage/live.py).
        self.live = SingleWindow()
        #: The one way the repositories write: each change and its audit row in one transaction.
        self.writes = AuditedWrites(lambda: self.conn, self.transaction, self.audit.record)
        # Accounts and key material write in the connection's own transaction, without the
        # store's read-only and -wal checks, as they always have.
        direct = AuditedWrites(lambda: self.conn, lambda: transaction(self.conn), self.audit.record)
        self.patients = SqlitePatients(self.writes)
        self.procedures = SqliteProcedures(self.writes)
        self.settings = SqliteSettings(self.writes)
        self.users = SqliteUsers(direct)
        self.outbox = SqliteOutbox(self.writes)
        self.pain_strokes = SqlitePainStrokes(self.writes)
        self.pki = SqlitePki(direct)
        self.sessions = SqliteSessions(direct)
        self._guard: WriteGuard | None = None
        #: Whether this computer's clinic registry knew the database before it was opened: a
        #: registered path is never seeded with the demo clinic (it held a real one).
        self.registered = self._registry() is not None
        self._wal_inode: int | None = None
        #: The audit key; None while it is sealed and nobody has unlocked it (`unlock_audit`).
        self.key: bytes | None
        if readonly:
            self.clinic_id = self._read_clinic_id() or ""
            has_rows = self._has_audit_rows()
            if trail.is_sealed(conn):
                self.key = None
            else:
                self.key = (
                    audit_log.load_key(key_dir, self.clinic_id, create=False) if has_rows else b""
                )
            self._anchor_writable = False
            return
        self.clinic_id = self._ensure_clinic_id()
        self.key = self._plain_key()
        if check_registry:
            self._refuse_data_loss()
        self._anchor_writable = self._check_anchor()
        self._wal_inode = self._wal_stat()

    def _plain_key(self) -> bytes | None:
        """The key file of a clinic whose key is not sealed yet (created for an empty trail);
        None for a sealed one (locked until a sign-in)."""
        if trail.is_sealed(self.conn):
            return None
        return audit_log.load_key(
            self.key_dir, self.clinic_id, create=trail.tail(self.conn) is None
        )

    @property
    def audit_sealed(self) -> bool:
        return trail.is_sealed(self.conn)

    def recorded_key_id(self) -> str | None:
        """The audit key's id as recorded outside the database, else in it."""
        outside = audit_log.read_key_id(self.key_dir, self.clinic_id)
        if outside is not None:
            return outside
        try:
            row = self.conn.execute(
                "SELECT value FROM meta WHERE key = ?", (audit_log.KEY_ID_META,)
            ).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else str(row[0])

    def unlock_audit(self, key: bytes) -> int:
        """Use `key` (opened from a key slot at a sign-in) for the audit trail: refused when it
        is not the key recorded for this clinic (slots replaced); then the events that waited
        for it are chained. Returns how many were."""
        recorded = self.recorded_key_id()
        if recorded is not None and not hmac.compare_digest(recorded, audit_log.key_id(key)):
            raise AuditKeyProblem(
                "the audit key sealed in this database is not the one recorded for this clinic "
                f"({audit_log.key_id_path(self.key_dir, self.clinic_id)}): its key slots were "
                "replaced outside TPI Chart, so nothing new is recorded on top of them. Run "
                "`tpi-chart audit verify` and restore the latest backup."
            )
        self.key = key
        if self.readonly:
            return 0
        self.record_key_id(key)
        if not trail.pending_count(self.conn):
            return 0
        with self.transaction():
            chained = trail.chain_pending(self.conn, key)
            if chained:
                self.anchor_after_commit(Anchor(chained[-1].seq, chained[-1].mac))
        return len(chained)

    def record_key_id(self, key: bytes) -> None:
        """Record the key's id in the database and beside it (first unlock, or sealing)."""
        identifier = audit_log.key_id(key)
        if audit_log.read_key_id(self.key_dir, self.clinic_id) != identifier:
            try:
                audit_log.write_key_id(self.key_dir, self.clinic_id, identifier)
            except OSError as error:
                log.warning("the audit key id could not be recorded: %s", error)
        row = self.conn.execute(
            "SELECT value FROM meta WHERE key = ?", (audit_log.KEY_ID_META,)
        ).fetchone()
        if row is None or str(row[0]) != identifier:
            with self.writes.unaudited("the key's public id, recorded when its slots are"):
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                    "SET value = excluded.value",
                    (audit_log.KEY_ID_META, identifier),
                )

    def destroy_plain_key(self) -> bool:
        """Overwrite and remove the plain key file once the key is sealed (its slots are
        committed): from then on the key is in clear only in memory."""
        if not trail.is_sealed(self.conn):
            raise AuditKeyProblem("the audit key has no key slots yet; its file is kept")
        return audit_log.destroy_key_file(self.key_dir, self.clinic_id)

    def has_table(self, name: str) -> bool:
        try:
            row = self.conn.execute(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
        except sqlite3.Error:
            return False
        return row is not None

    def missing_triggers(self) -> list[str]:
        """The protection triggers the migrations created that the database no longer has
        (dropped outside TPI Chart: signed records and the audit trail could then be edited)."""
        expected: set[str] = set()
        for sql in MIGRATIONS[: user_version(self.conn)]:
            expected |= set(re.findall(r"CREATE TRIGGER (\w+)", sql))
            expected -= set(re.findall(r"DROP TRIGGER (?:IF EXISTS )?(\w+)", sql))
        present = {
            str(row[0])
            for row in self.conn.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'")
        }
        return sorted(expected - present)

    def _read_clinic_id(self) -> str | None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else str(row[0])

    def _has_audit_rows(self) -> bool:
        try:
            return bool(self.conn.execute("SELECT EXISTS (SELECT 1 FROM audit)").fetchone()[0])
        except sqlite3.Error:
            return False

    def _registry(self) -> Anchor | None:
        try:
            entry = audit_log.registry_entry(self.key_dir, self.path)
        except ValueError:
            return None
        return None if entry is None else entry[1]

    def logical_size(self) -> int:
        """page_count × page_size: what the database holds, WAL included (the file on disk lags
        the WAL until a checkpoint)."""
        (size,) = self.conn.execute(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        ).fetchone()
        return int(size)

    def registry_problems(self) -> list[str]:
        """What the clinic registry (kept outside the database, beside the key) says the
        database lost: another clinic in its place, a shorter file, a shorter audit trail."""
        entry = self._registry()
        if entry is None:
            return []
        problems: list[str] = []
        if entry.clinic_id and self.clinic_id and entry.clinic_id != self.clinic_id:
            problems.append(
                f"{self.path} holds another clinic ({self.clinic_id}) than the one this computer "
                f"recorded there ({entry.clinic_id}): the database was replaced or emptied"
            )
            return problems
        tail = trail.tail(self.conn) if self.has_table("audit") else None
        if tail is None or tail.seq < entry.seq:
            rows = 0 if tail is None else tail.seq
            problems.append(
                f"{self.path} has lost changes: its audit trail ends at row {rows} but this "
                f"computer recorded row {entry.seq} (the database was emptied, replaced by an "
                "older copy, or its -wal file was deleted)"
            )
        elif not trail.matches(self.conn, entry):
            problems.append(
                f"{self.path} is not the database this computer last saw: its audit row "
                f"{entry.seq} differs from the one recorded (it was replaced by another copy)"
            )
        elif entry.size is not None and self.logical_size() < entry.size:
            problems.append(
                f"{self.path} is shorter ({self.logical_size()} bytes) than this computer "
                f"recorded ({entry.size} bytes): it was truncated or replaced"
            )
        return problems

    def _refuse_data_loss(self) -> None:
        problems = self.registry_problems()
        if problems:
            raise DataLoss(
                f"{problems[0]}. It was not opened, so nothing is added on top of the loss. "
                "Restore the latest backup (`tpi-chart restore FILE`), or run `tpi-chart audit "
                "verify` for details. The database was not changed."
            )

    @property
    def wal_path(self) -> Path:
        return self.path.with_name(self.path.name + "-wal")

    def _wal_stat(self) -> int | None:
        try:
            return self.wal_path.stat().st_ino
        except OSError:
            return None

    def _require_wal(self) -> None:
        """Refuse to write when the -wal file this connection writes to was deleted or replaced
        by another program: SQLite would go on committing into the deleted file, and every
        "saved" would be lost when the app closes."""
        if self._wal_inode is None:
            self._wal_inode = self._wal_stat()
            return
        if self._wal_stat() != self._wal_inode:
            raise DataLoss(
                f"the database's write-ahead log {self.wal_path} was deleted or replaced by "
                "another program while TPI Chart had it open; this change was not saved, and "
                "changes saved since the file was removed may be lost. Keep this window open, "
                "make a backup from it, and call for help; nothing more is saved until then."
            )

    @property
    def anchor_path(self) -> Path:
        return audit_log.anchor_path(self.key_dir, self.clinic_id, self.path)

    def _check_anchor(self) -> bool:
        """Whether ordinary audit writes may move the anchor: it matches the database, or there is
        none yet (then the current tail is adopted). An anchor that does not match is evidence of a
        rollback or truncation and is left for `audit verify` to report."""
        try:
            anchor = audit_log.read_anchor(self.anchor_path)
        except ValueError:
            return False
        if anchor is not None:
            return trail.matches(self.conn, anchor)
        current = trail.tail(self.conn)
        if current is not None:
            self._write_anchor(current)
        return True

    def anchor_after_commit(self, anchor: Anchor) -> None:
        def write() -> None:
            self._require_wal()
            if self._anchor_writable:
                entry = self._anchor_entry(anchor)
                # Written now (a crash of the program keeps it), its fsync off the click path:
                # the COMMIT is the acknowledgement, the anchor a detection aid that may lag
                # (never lead) the database after a power cut.
                if entry is not None and self._store_anchor(entry, sync=False):
                    self._anchor_writer.submit(entry)

        if isinstance(self.conn, Connection):
            self.conn.after_commit("audit-anchor", write)
        else:
            write()

    @cached_property
    def _anchor_writer(self) -> AnchorWriter:
        return AnchorWriter(lambda _entry: self._sync_anchor())

    def _sync_anchor(self) -> None:
        try:
            audit_log.sync_file(self.anchor_path)
        except OSError as error:
            log.warning("the audit anchor could not be synced: %s", error)

    def flush_anchor(self) -> None:
        """Wait until the newest anchor handed to the background writer is on disk."""
        if "_anchor_writer" in self.__dict__:
            self._anchor_writer.flush()

    def _anchor_entry(self, anchor: Anchor) -> Anchor | None:
        try:
            return Anchor(anchor.seq, anchor.mac, self.logical_size(), self.clinic_id)
        except sqlite3.Error as error:
            log.warning("the audit anchor could not be written: %s", error)
            return None

    def _store_anchor(self, entry: Anchor, *, sync: bool) -> bool:
        try:
            audit_log.write_anchor(self.anchor_path, entry, self.path, sync=sync)
        except OSError as error:
            log.warning("the audit anchor could not be written: %s", error)
            return False
        return True

    def _write_anchor(self, anchor: Anchor) -> None:
        # The change is committed by now: failing here must not turn "saved" into an error. A
        # missing anchor update only lags, which verification tolerates.
        try:
            entry = Anchor(anchor.seq, anchor.mac, self.logical_size(), self.clinic_id)
            audit_log.write_anchor(self.anchor_path, entry, self.path)
        except (OSError, sqlite3.Error) as error:
            log.warning("the audit anchor could not be written: %s", error)

    def _ensure_clinic_id(self) -> str:
        # Read first: opening must not need the write lock (another program may hold it).
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
        if row is not None:
            return str(row[0])
        with self.writes.unaudited("the clinic's identity, given once when the file is new"):
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
            if row is not None:
                return str(row[0])
            clinic_id = str(uuid.uuid4())
            self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (CLINIC_ID, clinic_id))
            return clinic_id

    def guard_writes(self, guard: WriteGuard | None) -> None:
        """Ask `guard` at the start of each transaction (sessions an administrator ended)."""
        self._guard = guard

    def track_session(self, session_id: int | None) -> None:
        """Nothing to do: BEGIN IMMEDIATE reads no row that could carry the session's state."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One BEGIN IMMEDIATE … COMMIT (joined by nested calls); driver errors become
        StorageError with a plain message."""
        if self.readonly:
            raise ReadOnlyDatabase(
                f"the database {self.path} was opened read-only (a rescue copy: the file, its "
                "folder or the disk cannot be written); nothing can be saved to it"
            )
        outermost = not self.conn.in_transaction
        if outermost:
            self._require_wal()
        try:
            with transaction(self.conn, self.path):
                if outermost and self._guard is not None:
                    self._guard(None)  # BEGIN read nothing: the guard reads for itself
                yield
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    def is_empty(self) -> bool:
        (count,) = self.conn.execute("SELECT count(*) FROM patients").fetchone()
        return int(count) == 0

    def backup_to(self, target: Path) -> list[str]:
        """Copy through the online backup API; return the copy's integrity problems (empty: ok)."""
        return backup.backup_to(self.conn, target)

    def snapshot(self) -> tuple[bytes, list[str]]:
        """A consistent copy of the database as bytes and its integrity problems (empty: ok);
        nothing is written to disk (`backup.snapshot`)."""
        return backup.snapshot(self.conn, self.path)

    def restore_from(self, source: Path, keep_aside: Path) -> dict[str, Any]:
        """Replace the database's content with `source` (checked first), keeping the current
        content at `keep_aside`. A restore legitimately rolls the audit trail back, so the anchor
        is moved to the restored tail; what it was and what it is now are returned for the
        `restore_db` audit row."""
        backup.check_restorable(source, self.key_dir)
        self.flush_anchor()  # a pending older anchor must not land over the restored one
        try:
            previous: dict[str, Any] | None = _anchor_dict(audit_log.read_anchor(self.anchor_path))
        except ValueError as error:
            previous = {"damaged": str(error)}
        backup.replace_content(self.conn, self.path, source, keep_aside)
        self.clinic_id = self._ensure_clinic_id()
        current = trail.tail(self.conn)
        if trail.is_sealed(self.conn):
            # The restored clinic's key opens at its next sign-in (or with the recovery slot);
            # the key in memory stays only when it is that clinic's key.
            restored_id = self.recorded_key_id()
            keep = self.key is not None and restored_id == audit_log.key_id(self.key)
            self.key = self.key if keep else None
        else:
            self.key = audit_log.load_key(self.key_dir, self.clinic_id, create=current is None)
        self._forget_registry()
        if current is not None:
            self._write_anchor(current)
        self._anchor_writable = True
        return {"anchor_before": previous, "anchor_restored": _anchor_dict(current)}

    def _forget_registry(self) -> None:
        """Drop every registry entry of this path (a restore re-registers what it restored)."""
        digest = self.anchor_path.name.rsplit("-", 1)[-1]
        for entry in self.key_dir.glob(f"*-{digest}"):
            entry.unlink(missing_ok=True)

    def close(self) -> None:
        try:
            self.flush_anchor()
            if "_anchor_writer" in self.__dict__:
                self._anchor_writer.stop()
            self.conn.close()
        finally:
            if self.lock is not None:
                self.lock.release()


def _anchor_dict(anchor: Anchor | None) -> dict[str, Any] | None:
    return None if anchor is None else anchor.as_dict()


def _refuse_lost_database(path: Path, key_dir: Path) -> None:
    """A registered database that is gone or empty is a loss, not a new clinic."""
    try:
        entry = audit_log.registry_entry(key_dir, path)
    except ValueError:
        return
    if entry is None:
        return
    size = path.stat().st_size if path.exists() else None
    if size:
        return
    what = "does not exist" if size is None else "is empty (0 bytes)"
    raise DataLoss(
        f"{path} {what}, but this computer recorded the clinic {entry[1].clinic_id} there with "
        f"{entry[1].seq} audit rows. It was not opened as a new clinic, so the loss stays "
        "visible. Restore the latest backup (`tpi-chart restore FILE`); if the clinic really "
        "moved, open the database where it is now with --db."
    )


def open_store_readonly(path: Path, key_dir: Path) -> SqliteStore:
    """Open the database without writing anything (`audit verify`, rescue of a read-only disk):
    `mode=ro`, or `immutable=1` when even the -shm cannot be created; no migration, no anchor
    or registry update. Every write is refused with `ReadOnlyDatabase`."""
    if not path.is_file():
        raise StorageError(f"{path}: no such database; check --db or TPI_CHART_DB")
    if path.stat().st_size > 0:
        backup.inspect_file_readonly(path)
    conn = backup.connect_readonly(path)
    try:
        return SqliteStore(conn, path, key_dir, readonly=True)
    except BaseException:
        conn.close()
        raise


def open_store(
    path: Path,
    key_dir: Path,
    *,
    exclusive: bool = False,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    for_restore: bool = False,
) -> SqliteStore:
    """Refuse a database whose audit key is missing, then open, check and migrate it (see
    `open_database`) with its audit key. With `exclusive` (the window), first take the
    single-instance lock (`AlreadyOpen` when another window has the database); it is released by
    `SqliteStore.close()`. Commands do not take it: SQLite serialises their writes with the
    window's, and a backup or an audit check must work while the app is open."""
    lock = InstanceLock.acquire(path) if exclusive else None
    try:
        if not for_restore:
            _refuse_lost_database(path, key_dir)
        backup.require_key(path, key_dir)
        conn = open_database(path, busy_timeout_ms)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    try:
        return SqliteStore(conn, path, key_dir, lock, check_registry=not for_restore)
    except BaseException:
        conn.close()
        if lock is not None:
            lock.release()
        raise
