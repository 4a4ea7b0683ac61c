"""The audit trail: append-only rows chained with HMAC-SHA256 under a key kept outside the database.

`mac = HMAC-SHA256(key, canonical_json(row fields) || prev_mac)`; the first row's `prev_mac` is
`GENESIS`. Triggers refuse UPDATE and DELETE on the table; the chain detects what a person with
file access does after dropping them (edited, deleted, forged or reordered rows).
Limitation: a chain alone cannot detect removing the *last* rows; anchors (tail seq and mac kept
elsewhere) are needed for that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from tpi_chart.domain.canonical import canonical_json

GENESIS = "0" * 64
KEY_BYTES = 32

ACTIONS = frozenset(
    {
        "create",
        "update",
        "delete",
        "restore",
        "sign",
        "addendum",
        "export",
        "login",
        "login_failed",
        "logout",
        "session_locked",
        "import",
        "backup",
        "restore_db",
        "settings",
        "access_denied",
    }
)

_FIELDS = (
    "seq",
    "at",
    "user",
    "action",
    "entity",
    "entity_id",
    "patient_id",
    "procedure_id",
    "before",
    "after",
)


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: str
    user: str
    action: str
    entity: str
    entity_id: int | None
    patient_id: int | None
    procedure_id: int | None
    before: str | None
    after: str | None
    prev_mac: str
    mac: str

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    rows_checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


def load_or_create_key(directory: Path, clinic_id: str) -> bytes:
    """The clinic's audit key: `<directory>/<clinic_id>.key`, 32 random bytes, created 0600."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{clinic_id}.key"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        return key
    if len(key) != KEY_BYTES:
        raise ValueError(f"{path}: the audit key file is damaged (expected {KEY_BYTES} bytes)")
    return key


def compute_mac(key: bytes, fields: dict[str, Any], prev_mac: str) -> str:
    message = canonical_json(fields) + prev_mac.encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def to_json(data: Any) -> str | None:
    return None if data is None else canonical_json(data).decode("utf-8")


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def record(
    conn: sqlite3.Connection,
    key: bytes,
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
    """Append one row; call inside the transaction that makes the change it records."""
    if not conn.in_transaction:
        raise RuntimeError("audit rows are written inside the transaction of the change")
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not user:
        raise ValueError("an audit row needs a user")
    last = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq = 1 if last is None else int(last[0]) + 1
    prev_mac = GENESIS if last is None else str(last[1])
    fields: dict[str, Any] = {
        "seq": seq,
        "at": now_utc(),
        "user": user,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "patient_id": patient_id,
        "procedure_id": procedure_id,
        "before": to_json(before),
        "after": to_json(after),
    }
    mac = compute_mac(key, fields, prev_mac)
    conn.execute(
        "INSERT INTO audit (seq, at, user, action, entity, entity_id, patient_id, procedure_id,"
        " before, after, prev_mac, mac) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (*fields.values(), prev_mac, mac),
    )
    return AuditRow(**fields, prev_mac=prev_mac, mac=mac)


def _row(raw: sqlite3.Row | tuple[Any, ...]) -> AuditRow:
    return AuditRow(*tuple(raw))


_SELECT = (
    "SELECT seq, at, user, action, entity, entity_id, patient_id, procedure_id, before, after,"
    " prev_mac, mac FROM audit"
)


def verify_audit_chain(conn: sqlite3.Connection, key: bytes) -> AuditReport:
    """Walk the chain in seq order; report the first row that breaks it and why."""
    expected_seq = 1
    prev_mac = GENESIS
    checked = 0
    for raw in conn.execute(f"{_SELECT} ORDER BY seq"):
        row = _row(raw)
        own = compute_mac(key, row.fields(), row.prev_mac)
        if row.seq != expected_seq:
            reason = (
                f"row(s) {expected_seq}..{row.seq - 1} are missing (deleted)"
                if row.seq > expected_seq
                else "sequence numbers out of order (reordered rows)"
            )
            return AuditReport(False, checked, row.seq, reason)
        if not hmac.compare_digest(own, row.mac):
            if row.prev_mac != prev_mac:
                reason = "row does not follow the previous row (forged or reordered row)"
            else:
                reason = "row content was changed after it was written (edited or forged row)"
            return AuditReport(False, checked, row.seq, reason)
        if row.prev_mac != prev_mac:
            return AuditReport(
                False,
                checked,
                row.seq,
                "row does not link to the previous row (a row was deleted, inserted or reordered)",
            )
        prev_mac = row.mac
        expected_seq += 1
        checked += 1
    return AuditReport(True, checked)


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
    return [_row(raw) for raw in conn.execute(f"{_SELECT}{where} ORDER BY seq", params)]


def decode(value: str | None) -> Any:
    """The before/after JSON of a row as data."""
    return None if value is None else json.loads(value)
