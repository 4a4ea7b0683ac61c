"""The clinic on a PostgreSQL server: the same repositories as the SQLite file, over
`PgConnection` (storage/postgres/connection.py), which maps their transactions onto the pool and
serialises writers on the clinic's audit head row.

What a server clinic does not have, by design: a file path, a key folder, file backups and
restores, the single-instance lock and the audit anchor file. Several workstations write to one
clinic at once (row versions refuse a stale save); backups are `pg_dump` archives, sealed as the
file backups are (`storage/postgres/dump.py`, `services/server_backup.py`).

The audit key never lives in a workstation's file: it is sealed in the database to each
account's key (`key_grants`, the same key slots as the SQLite store's), and opens at a sign-in.
A new clinic's key is made in memory and sealed at the first administrator's sign-in.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import psycopg

from tpi_chart.storage import audit as audit_log
from tpi_chart.storage.audit import Anchor, AuditReport, AuditRow
from tpi_chart.storage.errors import AuditKeyProblem, SchemaTooNew, StorageError
from tpi_chart.storage.interfaces import WriteGuard
from tpi_chart.storage.postgres.connection import PgConnection
from tpi_chart.storage.postgres.live import PostgresLive
from tpi_chart.storage.postgres.migrations import MIGRATIONS, SCHEMA_VERSION
from tpi_chart.storage.postgres.schema import connect, current_version, host_of, migrate
from tpi_chart.storage.sqlite import audit_trail as trail
from tpi_chart.storage.sqlite.audit_trail import SqliteAudit
from tpi_chart.storage.sqlite.audited import AuditedWrites
from tpi_chart.storage.sqlite.outbox import SqliteOutbox
from tpi_chart.storage.sqlite.pain import SqlitePainStrokes
from tpi_chart.storage.sqlite.patients import SqlitePatients
from tpi_chart.storage.sqlite.pki import SqlitePki
from tpi_chart.storage.sqlite.procedures import SqliteProcedures
from tpi_chart.storage.sqlite.sessions import SqliteSessions
from tpi_chart.storage.sqlite.settings import SqliteSettings
from tpi_chart.storage.sqlite.store import CLINIC_ID
from tpi_chart.storage.sqlite.users import SqliteUsers

if TYPE_CHECKING:
    import sqlite3

    from tpi_chart.storage.sqlite.store import SqliteStore

__all__ = ["PostgresStore", "open_postgres_store"]

log = logging.getLogger(__name__)


def _as_sqlite(conn: PgConnection) -> sqlite3.Connection:
    # The shared repositories are annotated with sqlite3's types (they were SQLite-only until
    # this store); PgConnection provides the part of that API they use (execute, rows by name,
    # lastrowid, rowcount, in_transaction, BEGIN/COMMIT/ROLLBACK). A Protocol would have to
    # replace sqlite3.Connection and sqlite3.Row in every repository module's signatures.
    return cast("sqlite3.Connection", conn)


class PgAudit(SqliteAudit):
    """The audit trail on the server: the same rows and HMAC chain as SQLite's
    (storage/sqlite/audit_trail.py), appended under the head row lock `PgConnection.begin`
    takes. Verified without an anchor: the anchor file beside a workstation's key describes a
    file clinic."""

    def __init__(self, store: SqliteStore, live: PostgresLive) -> None:
        super().__init__(store)
        self._live = live

    def verify(self) -> AuditReport:
        return trail.verify_audit_chain(self._conn, self._store.key)

    def record(self, **fields: Any) -> AuditRow:
        # Remembered so that this row's change notice is not delivered back to this program.
        row = super().record(**fields)
        if row.mac:  # (a row waiting for the key has none, and is in no table others watch)
            self._live.wrote(row.mac)
        return row


class PostgresStore:
    """One clinic database on a server, open on this workstation."""

    #: A server clinic is never seeded with the demo clinic on first open.
    registered = True

    def __init__(
        self, pg: PgConnection, key: bytes | None = None, *, readonly: bool = False
    ) -> None:
        self.pg = pg
        #: Opened to be checked (`audit verify`): nothing is written, the server refuses it too.
        self.readonly = readonly
        self.conn = _as_sqlite(pg)
        self.host = pg.host
        #: Leases of the procedures open in this program, and notices of others' changes.
        self.live = PostgresLive(pg)
        # PgAudit reads the store's conn, key and transaction, and calls anchor_after_commit.
        self.audit = PgAudit(cast("SqliteStore", self), self.live)
        #: Every write goes through the same audited-write helper as on SQLite: the change and
        #: its audit row in one transaction (here one that holds the audit head row lock).
        self.writes = AuditedWrites(lambda: self.conn, self.transaction, self.audit.record)
        self.patients = SqlitePatients(self.writes, search_index=False)
        self.procedures = SqliteProcedures(self.writes)
        self.settings = SqliteSettings(self.writes)
        self.users = SqliteUsers(self.writes)
        self.outbox = SqliteOutbox(self.writes)
        self.pain_strokes = SqlitePainStrokes(self.writes)
        self.pki = SqlitePki(self.writes)
        self.sessions = SqliteSessions(self.writes)
        self._guard: WriteGuard | None = None
        self.clinic_id = self._read_clinic_id() if readonly else self._ensure_clinic_id()
        pg.clinic_id = None if readonly else self.clinic_id
        self.key: bytes | None = key if key is not None else self._new_clinic_key()

    def anchor_after_commit(self, anchor: Anchor) -> None:
        """Nothing to do: the audit anchor is a file clinic's (kept beside the workstation's
        key); the server clinic's tail is guarded by the head row and its backups."""

    def _ensure_clinic_id(self) -> str:
        # The head row is created with the clinic id, before any transaction locks it.
        with self.pg.transaction():
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
            if row is None:
                clinic_id = str(uuid.uuid4())
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                    (CLINIC_ID, clinic_id),
                )
                row = self.conn.execute(
                    "SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)
                ).fetchone()
            assert row is not None
            clinic_id = str(row[0])
            self.conn.execute(
                "INSERT INTO audit_head (clinic_id) VALUES (?) ON CONFLICT DO NOTHING",
                (clinic_id,),
            )
        return clinic_id

    def _read_clinic_id(self) -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
        if row is None:
            raise StorageError(
                f"the database at {self.host} holds no TPI Chart clinic yet (no clinic id); "
                "nothing was checked"
            )
        return str(row[0])

    def _new_clinic_key(self) -> bytes | None:
        """None (locked until a sign-in) when the key is sealed in the database; a new key for
        a clinic without audit rows; refused for a clinic whose unsealed key is not here."""
        if trail.is_sealed(self.conn):
            return None
        if trail.tail(self.conn) is None:
            # Read-only: an empty trail has no MAC to check (as a read-only file's: b"").
            return b"" if self.readonly else secrets.token_bytes(audit_log.KEY_BYTES)
        raise AuditKeyProblem(
            f"the clinic database at {self.host} has audit rows but its audit key was never "
            "sealed in it (the workstation that started the clinic closed before an "
            "administrator signed in); its audit trail cannot be verified or continued. Restore "
            "the server's latest backup. Nothing was changed."
        )

    # -- the Store protocol ----------------------------------------------------------------------

    def guard_writes(self, guard: WriteGuard | None) -> None:
        """Ask `guard` at the start of each transaction (sessions an administrator ended)."""
        self._guard = guard

    def track_session(self, session_id: int | None) -> None:
        """Whether this session has ended is read by each transaction's head-row lock."""
        self.pg.session_id = session_id

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction (joined by nested calls), holding the clinic's audit head lock."""
        outermost = not self.pg.in_transaction
        with self.pg.transaction():
            if outermost and self._guard is not None:
                self._guard(self.pg.session_ended)  # read with the head row lock: no round trip
            yield

    @property
    def audit_sealed(self) -> bool:
        return trail.is_sealed(self.conn)

    def recorded_key_id(self) -> str | None:
        row = self.conn.execute(
            "SELECT value FROM meta WHERE key = ?", (audit_log.KEY_ID_META,)
        ).fetchone()
        return None if row is None else str(row[0])

    def unlock_audit(self, key: bytes) -> int:
        recorded = self.recorded_key_id()
        if recorded is not None and recorded != audit_log.key_id(key):
            raise AuditKeyProblem(
                "the audit key sealed in this clinic database is not the one recorded for the "
                "clinic: its key slots were replaced outside TPI Chart, so nothing new is "
                "recorded on top of them. Run `tpi-chart audit verify`."
            )
        self.key = key
        if self.readonly:
            return 0
        self.record_key_id(key)
        if not trail.pending_count(self.conn):
            return 0
        with self.transaction():
            return len(trail.chain_pending(self.conn, key))

    def record_key_id(self, key: bytes) -> None:
        with self.writes.unaudited("the key's public id, recorded when its slots are"):
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value",
                (audit_log.KEY_ID_META, audit_log.key_id(key)),
            )

    def destroy_plain_key(self) -> bool:
        """There is no key file on a workstation to destroy (the key is only sealed)."""
        if not trail.is_sealed(self.conn):
            raise AuditKeyProblem("the audit key has no key slots yet")
        return False

    def is_empty(self) -> bool:
        (count,) = self.conn.execute("SELECT count(*) FROM patients").fetchone()
        return int(count) == 0

    # -- what `audit verify` checks beside the chain (services/integrity.py) -------------------

    def registry_problems(self) -> list[str]:
        """None to report: the clinic registry and anchor are a file clinic's (kept beside a
        workstation's key); a server clinic's tail is guarded by its head row and its backups."""
        return []

    def has_table(self, name: str) -> bool:
        row = self.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_tables"
            " WHERE schemaname = current_schema() AND tablename = ?)",
            (name,),
        ).fetchone()
        return bool(row and row[0])

    def missing_triggers(self) -> list[str]:
        """The protection triggers the schema created that are gone or switched off (`ALTER
        TABLE … DISABLE TRIGGER`): signed records or the audit trail could then be edited."""
        version = int(self.conn.execute("SELECT max(version) FROM schema_version").fetchone()[0])
        expected: set[str] = set()
        for sql in MIGRATIONS[:version]:
            expected |= set(re.findall(r"CREATE TRIGGER (\w+)", sql))
            expected -= set(re.findall(r"DROP TRIGGER (?:IF EXISTS )?(\w+)", sql))
        present = {
            str(row[0])
            for row in self.conn.execute(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
                " AND t.tgenabled <> 'D'"
            )
        }
        return sorted(expected - present)

    def close(self) -> None:
        """Release this program's leases and close the pool; closing again does nothing (a
        file store's close is idempotent too)."""
        if self.pg.pool.closed:
            return
        try:  # the other rooms need not wait for the leases to lapse
            self.live.close()
        except StorageError:
            log.info("leases not released at close (the server is unreachable); they lapse")
        self.pg.close()


def open_postgres_store(
    url: str, *, key: bytes | None = None, pool_size: int = 4, readonly: bool = False
) -> PostgresStore:
    """Connect to the clinic database at `url`, create or upgrade its schema, and open it.
    `key`: the audit key when the caller holds it already (a test, a migration). `readonly`:
    open an existing clinic to check it, without creating or upgrading anything."""
    with connect(url) as conn:
        if readonly:
            _require_current_schema(conn, host_of(url))
        else:
            migrate(conn)
    pg = PgConnection(url, host_of(url), max_size=pool_size, read_only=readonly)
    try:
        return PostgresStore(pg, key, readonly=readonly)
    except BaseException:
        pg.close()
        raise


def _require_current_schema(conn: psycopg.Connection[Any], host: str) -> None:
    version = current_version(conn)
    if version == 0:
        raise StorageError(f"the database at {host} holds no TPI Chart clinic; nothing was checked")
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the clinic database at {host} was upgraded by a newer version of TPI Chart "
            f"(schema {version}; this version understands up to {SCHEMA_VERSION}); check it "
            "with that version. Nothing was changed."
        )
    if version < SCHEMA_VERSION:
        raise StorageError(
            f"the clinic database at {host} has an older schema ({version}); open it once with "
            "a workstation of this version (which upgrades it), then check it again. Nothing "
            "was changed."
        )
