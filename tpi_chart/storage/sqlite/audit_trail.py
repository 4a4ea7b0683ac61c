"""The audit trail's SQL (the chain itself is `tpi_chart.storage.audit`): the `audit` table,
its tail, the events waiting in `audit_pending` for the key, and `SqliteAudit`, the store's
`AuditTrail`."""

from __future__ import annotations

import hmac
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from tpi_chart.storage import audit
from tpi_chart.storage.audit import Anchor, AuditReport, AuditRow
from tpi_chart.storage.errors import AuditKeyLocked

if TYPE_CHECKING:
    from tpi_chart.storage.sqlite.store import SqliteStore


def tail(conn: sqlite3.Connection) -> Anchor | None:
    """The last row's seq and mac (None on an empty trail)."""
    row = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else Anchor(int(row[0]), str(row[1]))


def matches(conn: sqlite3.Connection, anchor: Anchor) -> bool:
    """Whether the database holds the anchor's row with the anchor's mac."""
    row = conn.execute("SELECT mac FROM audit WHERE seq = ?", (anchor.seq,)).fetchone()
    return row is not None and hmac.compare_digest(str(row[0]), anchor.mac)


def is_sealed(conn: sqlite3.Connection) -> bool:
    """Whether the clinic's audit key lives in key slots (then no plain key file is used)."""
    try:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM key_grants WHERE secret = ?)", (audit.AUDIT_KEY_SECRET,)
        ).fetchone()
    except sqlite3.Error:
        return False
    return bool(row[0])


def chain_pending(conn: sqlite3.Connection, key: bytes) -> list[AuditRow]:
    """Move the events recorded while the key was locked into the chain, in the order they
    happened, each marked as such; call inside a transaction."""
    rows = conn.execute(
        'SELECT id, at, "user", action, entity, entity_id, patient_id, procedure_id, before,'
        " after FROM audit_pending ORDER BY id"
    ).fetchall()
    chained: list[AuditRow] = []
    for raw in rows:
        after = audit.decode(raw[9])
        marked = {**after, audit.PENDING_MARK: True} if isinstance(after, dict) else after
        chained.append(
            _append(
                conn,
                key,
                at=str(raw[1]),
                user=str(raw[2]),
                action=str(raw[3]),
                entity=str(raw[4]),
                entity_id=raw[5],
                patient_id=raw[6],
                procedure_id=raw[7],
                before=raw[8],
                after=audit.to_json(marked),
            )
        )
        conn.execute("DELETE FROM audit_pending WHERE id = ?", (raw[0],))
    return chained


def pending_count(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("SELECT count(*) FROM audit_pending").fetchone()[0])
    except sqlite3.Error:
        return 0


def latest_at(conn: sqlite3.Connection) -> datetime | None:
    """The latest time any audit row was recorded at (by the clock of the day), or None."""
    row = conn.execute("SELECT max(at) FROM audit").fetchone()
    return None if row is None or row[0] is None else datetime.fromisoformat(str(row[0]))


def record(
    conn: sqlite3.Connection,
    key: bytes | None,
    *,
    user: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    patient_id: int | None = None,
    procedure_id: int | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditRow:
    """Append one row; call inside the transaction that makes the change it records. With the
    key locked (`key` None) an event of `PENDING_ACTIONS` waits in `audit_pending` (the row
    returned has seq 0 and no mac); anything else raises `AuditKeyLocked`."""
    if not conn.in_transaction:
        raise RuntimeError("audit rows are written inside the transaction of the change")
    audit.check_event(action, user)
    at = audit.now_utc()
    before_json, after_json = audit.to_json(before), audit.to_json(after)
    if key is None:
        if action not in audit.PENDING_ACTIONS:
            raise AuditKeyLocked(audit.LOCKED_MESSAGE)
        fields = (at, user, action, entity, entity_id, patient_id, procedure_id)
        conn.execute(
            'INSERT INTO audit_pending (at, "user", action, entity, entity_id, patient_id,'
            " procedure_id, before, after) VALUES (?,?,?,?,?,?,?,?,?)",
            (*fields, before_json, after_json),
        )
        return AuditRow(0, *fields, before_json, after_json, "", "")
    return _append(
        conn,
        key,
        at=at,
        user=user,
        action=action,
        entity=entity,
        entity_id=entity_id,
        patient_id=patient_id,
        procedure_id=procedure_id,
        before=before_json,
        after=after_json,
    )


def _append(conn: sqlite3.Connection, key: bytes, **fields: Any) -> AuditRow:
    row = audit.next_row(key, tail(conn), fields)
    conn.execute(
        'INSERT INTO audit (seq, at, "user", action, entity, entity_id, patient_id, procedure_id,'
        " before, after, prev_mac, mac) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (*row.fields().values(), row.prev_mac, row.mac),
    )
    return row


_SELECT = (
    'SELECT seq, at, "user", action, entity, entity_id, patient_id, procedure_id, before, after,'
    " prev_mac, mac FROM audit"
)


def verify_audit_chain(
    conn: sqlite3.Connection, key: bytes | None, anchor: Anchor | None = None
) -> AuditReport:
    """Walk the chain in seq order; report the first row that breaks it and why. With `anchor`,
    also report a tail behind it and a row at the anchor's seq whose mac differs
    (`audit.against_anchor`). Without the key (locked) only the links are checked, and the
    report says so (`macs_checked`)."""
    report = audit.walk_chain(_rows_tolerantly(conn), key, unreadable=(sqlite3.Error,))
    return audit.against_anchor(report, anchor, lambda entry: matches(conn, entry))


def _rows_tolerantly(conn: sqlite3.Connection) -> Iterator[sqlite3.Row]:
    """Rows in seq order, fetched one by one: a damaged page ends the walk with its error (which
    `walk_chain` reports) after the rows before it were checked."""
    cursor = conn.execute(f"{_SELECT} ORDER BY seq")
    while True:
        raw = cursor.fetchone()
        if raw is None:
            return
        yield raw


def audit_rows(
    conn: sqlite3.Connection,
    mrn: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[AuditRow]:
    """Audit rows in seq order, optionally for one patient (by MRN) and a UTC date range
    (inclusive)."""
    clauses: list[str] = []
    params: list[Any] = []
    if mrn is not None:
        clauses.append("patient_id IN (SELECT id FROM patients WHERE mrn = ?)")
        params.append(mrn)
    if date_from is not None:
        clauses.append("at >= ?")
        params.append(datetime.combine(date_from, time(0), UTC).isoformat(timespec="microseconds"))
    if date_to is not None:
        clauses.append("at < ?")
        end = datetime.combine(date_to + timedelta(days=1), time(0), UTC)
        params.append(end.isoformat(timespec="microseconds"))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return [audit.row_of(raw) for raw in conn.execute(f"{_SELECT}{where} ORDER BY seq", params)]


class SqliteAudit:
    """The store's `AuditTrail`: rows appended under the store's key, in the store's
    transaction, the anchor moved after the commit."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._store.conn

    def record(
        self,
        *,
        user: str,
        action: str,
        entity: str,
        entity_id: int | None = None,
        patient_id: int | None = None,
        procedure_id: int | None = None,
        before: Any = None,
        after: Any = None,
    ) -> AuditRow:
        with self._store.transaction():
            row = record(
                self._conn,
                self._store.key,
                user=user,
                action=action,
                entity=entity,
                entity_id=entity_id,
                patient_id=patient_id,
                procedure_id=procedure_id,
                before=before,
                after=after,
            )
            if row.seq:  # 0: waiting in audit_pending for the key (not chained yet)
                self._store.anchor_after_commit(Anchor(row.seq, row.mac))
            return row

    def verify(self) -> AuditReport:
        """The chain, and the tail against the anchor kept beside the key (the clinic registry
        entry of this database path)."""
        try:
            entry = audit.registry_entry(self._store.key_dir, self._store.path)
        except ValueError as error:
            return AuditReport(False, 0, None, f"{error}; truncation cannot be ruled out")
        anchor = None if entry is None else entry[1]
        if not self._store.has_table("audit"):
            if anchor is None:
                return AuditReport(True, 0)
            return AuditReport(
                False,
                0,
                1,
                f"the database has no audit trail at all, but this computer recorded "
                f"{anchor.seq} rows (the database was emptied or replaced)",
                anchor.seq,
            )
        return verify_audit_chain(self._conn, self._store.key, anchor)

    def rows(
        self, mrn: str | None = None, date_from: date | None = None, date_to: date | None = None
    ) -> list[AuditRow]:
        return audit_rows(self._conn, mrn, date_from, date_to)

    def latest_at(self) -> datetime | None:
        return latest_at(self._conn)

    def last_change(self, patient_id: int, procedure_id: int | None) -> tuple[str, datetime] | None:
        """Who last changed the patient's record (or this procedure of theirs), and when: what
        a refused stale save names. Read only on a refusal (the patient index finds it)."""
        sql = 'SELECT "user", at FROM audit WHERE patient_id = ?'
        params: tuple[int, ...] = (patient_id,)
        if procedure_id is not None:
            sql, params = sql + " AND procedure_id = ?", (patient_id, procedure_id)
        row = self._conn.execute(sql + " ORDER BY seq DESC LIMIT 1", params).fetchone()
        return None if row is None else (str(row[0]), datetime.fromisoformat(str(row[1])))
