"""The clinic on a PostgreSQL server: the same repositories as the SQLite file, over
`PgConnection` (storage/postgres/connection.py), which maps their transactions onto the pool and
serialises writers on the clinic's audit head row.

What a server clinic does not have, by design: a file path, a key folder, file backups and
restores, the single-instance lock and the audit anchor file. Several workstations write to one
clinic at once (row versions refuse a stale save); backups are the server's (`pg_dump`, not built
yet: docs/deployment.md).

The audit key never lives in a workstation's file: it is sealed in the database to each
account's key (`key_grants`, the same key slots as the SQLite store's), and opens at a sign-in.
A new clinic's key is made in memory and sealed at the first administrator's sign-in.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

from tpi_chart.storage import audit as audit_log
from tpi_chart.storage.audit import Anchor, AuditReport
from tpi_chart.storage.errors import AuditKeyProblem
from tpi_chart.storage.interfaces import WriteGuard
from tpi_chart.storage.postgres.connection import PgConnection
from tpi_chart.storage.postgres.schema import connect, host_of, migrate
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

    def verify(self) -> AuditReport:
        return trail.verify_audit_chain(self._conn, self._store.key)


class PostgresStore:
    """One clinic database on a server, open on this workstation."""

    readonly = False
    #: A server clinic is never seeded with the demo clinic on first open.
    registered = True

    def __init__(self, pg: PgConnection, key: bytes | None = None) -> None:
        self.pg = pg
        self.conn = _as_sqlite(pg)
        self.host = pg.host
        # PgAudit reads the store's conn, key and transaction, and calls anchor_after_commit.
        self.audit = PgAudit(cast("SqliteStore", self))
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
        self.clinic_id = self._ensure_clinic_id()
        pg.clinic_id = self.clinic_id
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

    def _new_clinic_key(self) -> bytes | None:
        """None (locked until a sign-in) when the key is sealed in the database; a new key for
        a clinic without audit rows; refused for a clinic whose unsealed key is not here."""
        if trail.is_sealed(self.conn):
            return None
        if trail.tail(self.conn) is None:
            return secrets.token_bytes(audit_log.KEY_BYTES)
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

    def close(self) -> None:
        self.pg.close()


def open_postgres_store(url: str, *, key: bytes | None = None, pool_size: int = 4) -> PostgresStore:
    """Connect to the clinic database at `url`, create or upgrade its schema, and open it.
    `key`: the audit key when the caller holds it already (a test, a migration)."""
    with connect(url) as conn:
        migrate(conn)
    pg = PgConnection(url, host_of(url), max_size=pool_size)
    try:
        return PostgresStore(pg, key)
    except BaseException:
        pg.close()
        raise
