"""The audit trail: append-only rows chained with HMAC-SHA256 under a key kept outside the database.

`mac = HMAC-SHA256(key, canonical_json(row fields) || prev_mac)`; the first row's `prev_mac` is
`GENESIS`. Triggers refuse UPDATE and DELETE on the table; the chain detects what a person with
file access does after dropping them (edited, deleted, forged or reordered rows).
A chain alone cannot detect removing the *last* rows, or the database being replaced by an older
copy: the anchor does. After every committed audit write the tail's seq and mac are written to
`<key dir>/<clinic id>-<path digest>.anchor` (atomically, 0600), next to the key and outside the
database; `verify_audit_chain` reports a break when the database's tail is behind the anchor or
the row at the anchor's seq has another mac. The anchor may lag the database (a crash between
COMMIT and the anchor write) but is never ahead of it. An anchor the database does not match is
never overwritten by ordinary writes (the evidence stays until a restore re-anchors, audited).
Limitation: someone who can write the key folder can delete or rewrite the anchor as well; the
anchor then only shows what it was last told.

Where the key lives (issue 11 §5): until a clinic's first administrator signs in, as the plain
file `<key dir>/<clinic id>.key` (a new clinic nobody can sign in to yet). From then on it is
*sealed*: one slot per account in `key_grants` (secret `audit_key`, X25519-sealed to the account
key, which only that person's password opens; `tpi_chart.services.audit_keys`) plus a recovery
slot under the backup passphrase, and the plain file is overwritten and removed. A store then
starts *locked* (`key` None): the key is unlocked by a sign-in. While locked, only the events in
`PENDING_ACTIONS` (sign-in bookkeeping, refusals, a restore) are recorded, unchained, in
`audit_pending`; the next unlock chains them with their original time. Every other change is
refused (`AuditKeyLocked`). A *key id* (an HMAC of a fixed text under the key) is kept in the
database's `meta` and in `<key dir>/<clinic id>.audit-key-id`: a key that does not match the
recorded id (slots replaced by someone who sealed a key of their own to the accounts' public
keys) is refused at unlock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from tpi_chart.domain.canonical import canonical_json
from tpi_chart.storage.errors import AuditKeyLocked, AuditKeyProblem

GENESIS = "0" * 64
KEY_BYTES = 32
#: The `key_grants` secret of the audit key's slots, and the `meta` key of its id.
AUDIT_KEY_SECRET = "audit_key"
KEY_ID_META = "audit_key_id"
#: What may be recorded while the key is locked (kept in `audit_pending` until a sign-in).
PENDING_ACTIONS = frozenset(
    {"login", "login_failed", "logout", "session_locked", "access_denied", "restore_db"}
)
PENDING_MARK = "recorded_before_key_unlocked"

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
        "clock_backwards",
        "signing_authority_created",
        "certificate_issued",
        "certificate_revoked",
        "key_granted",
        "void",
        "follow_up",
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
    anchored_seq: int | None = None  # the anchor's seq when one was checked
    #: False when the key was locked: only the links (numbers, prev_mac → mac, the anchor) were
    #: checked, not whether each row's content matches its MAC.
    macs_checked: bool = True


@dataclass(frozen=True)
class Anchor:
    """The tail of the chain as last written: its seq and mac; as the clinic registry entry
    also the clinic id and the database's logical size (page_count × page_size) then."""

    seq: int
    mac: str
    size: int | None = None
    clinic_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "mac": self.mac}


ANCHOR_FORMAT = "tpi-chart.audit-anchor/1"


def key_path(directory: Path, clinic_id: str) -> Path:
    return directory / f"{clinic_id}.key"


def anchor_path(directory: Path, clinic_id: str, db_path: Path) -> Path:
    """One anchor per clinic and database file: a copy of the database opened elsewhere (another
    path) keeps its own anchor instead of moving this one."""
    digest = hashlib.sha256(str(db_path.resolve()).encode("utf-8")).hexdigest()[:16]
    return directory / f"{clinic_id}-{digest}.anchor"


def read_anchor(path: Path) -> Anchor | None:
    """The anchor at `path`; None when there is none. ValueError when it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"the audit anchor {path} cannot be read ({error})") from error
    seq, mac = (data.get("seq"), data.get("mac")) if isinstance(data, dict) else (None, None)
    if (
        not isinstance(data, dict)
        or data.get("format") != ANCHOR_FORMAT
        or not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 1
        or not isinstance(mac, str)
        or len(mac) != 64
    ):
        raise ValueError(f"the audit anchor {path} is damaged")
    size = data.get("size")
    clinic = data.get("clinic_id")
    return Anchor(
        seq,
        mac,
        size if isinstance(size, int) and not isinstance(size, bool) else None,
        clinic if isinstance(clinic, str) else None,
    )


def registry_entry(directory: Path, db_path: Path) -> tuple[Path, Anchor] | None:
    """The clinic registry entry of the database at `db_path` (found by path alone, so an empty,
    replaced or deleted database is still recognised): its file and anchor, the newest when
    there are several; None when the path was never used here. ValueError: unreadable."""
    digest = hashlib.sha256(str(db_path.resolve()).encode("utf-8")).hexdigest()[:16]
    try:
        found = sorted(
            directory.glob(f"*-{digest}.anchor"), key=lambda p: p.stat().st_mtime, reverse=True
        )
    except OSError:
        return None
    if not found:
        return None
    anchor = read_anchor(found[0])
    if anchor is None:
        return None
    clinic = anchor.clinic_id or found[0].name[: -len(f"-{digest}.anchor")]
    return found[0], Anchor(anchor.seq, anchor.mac, anchor.size, clinic)


def write_anchor(path: Path, anchor: Anchor, db_path: Path, *, sync: bool = True) -> None:
    """Replace the anchor atomically: a 0600 temporary file, fsync, rename. Not fsyncing the folder
    is deliberate: after a power cut the anchor is at worst the previous one, which lags.
    `sync=False` leaves the fsync to the caller (`sync_file`, off the click path): a crash of
    the program still leaves the new anchor, only a power cut before the fsync may not."""
    data: dict[str, Any] = {"format": ANCHOR_FORMAT, "database": str(db_path), **anchor.as_dict()}
    if anchor.size is not None:
        data["size"] = anchor.size
    if anchor.clinic_id is not None:
        data["clinic_id"] = anchor.clinic_id
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(data, sort_keys=True).encode("utf-8"))
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def sync_file(path: Path) -> None:
    """fsync the file at `path` (an anchor written with `sync=False`)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AnchorWriter:
    """Runs the newest job handed to it in a thread of its own (older ones not yet run are
    skipped: only the tail matters): the anchor's fsync, off the click path."""

    def __init__(self, write: Callable[[Anchor], None]) -> None:
        self._write = write
        self._pending: Anchor | None = None
        self._busy = False
        self._stopped = False
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, anchor: Anchor) -> None:
        with self._ready:
            self._pending = anchor
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tpi-chart-audit-anchor", daemon=True
                )
                self._thread.start()
            self._ready.notify_all()

    def flush(self) -> None:
        with self._ready:
            self._ready.wait_for(lambda: self._pending is None and not self._busy)

    def stop(self) -> None:
        self.flush()
        with self._ready:
            self._stopped = True
            self._ready.notify_all()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._pending is not None or self._stopped)
                if self._pending is None:
                    return
                anchor, self._pending, self._busy = self._pending, None, True
            try:
                self._write(anchor)
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify_all()


def tail(conn: sqlite3.Connection) -> Anchor | None:
    """The last row's seq and mac (None on an empty trail)."""
    row = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else Anchor(int(row[0]), str(row[1]))


def matches(conn: sqlite3.Connection, anchor: Anchor) -> bool:
    """Whether the database holds the anchor's row with the anchor's mac."""
    row = conn.execute("SELECT mac FROM audit WHERE seq = ?", (anchor.seq,)).fetchone()
    return row is not None and hmac.compare_digest(str(row[0]), anchor.mac)


def load_key(directory: Path, clinic_id: str, *, create: bool) -> bytes:
    """The clinic's audit key, `<directory>/<clinic_id>.key` (32 bytes, 0600). Created only when
    `create` (an audit trail without rows); a missing key for existing rows is refused, since a new
    key would make every earlier row fail verification."""
    path = key_path(directory, clinic_id)
    if not create and not path.exists():
        raise AuditKeyProblem(missing_key_message(path))
    return load_or_create_key(directory, clinic_id)


def missing_key_message(path: Path) -> str:
    return (
        f"the audit key {path} is missing, and the audit trail could not be verified or extended "
        "without it (a new key would make every earlier audit row fail its check), so the "
        f"database was not opened. Restore the key file from your backup into {path.parent}, "
        "then try again. The database was not changed."
    )


def load_or_create_key(directory: Path, clinic_id: str) -> bytes:
    """The clinic's audit key: `<directory>/<clinic_id>.key`, 32 random bytes, created 0600."""
    directory.mkdir(parents=True, exist_ok=True)
    path = key_path(directory, clinic_id)
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
        raise AuditKeyProblem(
            f"the audit key {path} is damaged (it should be {KEY_BYTES} bytes, it is {len(key)}); "
            "restore it from your backup, then try again. The database was not changed."
        )
    return key


def key_id(key: bytes) -> str:
    """A public name for the key: who holds it can recompute it, nobody can invert it."""
    return hmac.new(key, b"tpi-chart audit key id", hashlib.sha256).hexdigest()[:32]


def key_id_path(directory: Path, clinic_id: str) -> Path:
    return directory / f"{clinic_id}.audit-key-id"


def read_key_id(directory: Path, clinic_id: str) -> str | None:
    try:
        text = key_id_path(directory, clinic_id).read_text(encoding="ascii").strip()
    except (OSError, UnicodeError):
        return None
    return text or None


def write_key_id(directory: Path, clinic_id: str, identifier: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = key_id_path(directory, clinic_id)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(identifier.encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def is_sealed(conn: sqlite3.Connection) -> bool:
    """Whether the clinic's audit key lives in key slots (then no plain key file is used)."""
    try:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM key_grants WHERE secret = ?)", (AUDIT_KEY_SECRET,)
        ).fetchone()
    except sqlite3.Error:
        return False
    return bool(row[0])


def destroy_key_file(directory: Path, clinic_id: str) -> bool:
    """Overwrite the plain key file with random bytes, fsync, then remove it (once its slots
    exist). On a journalling or flash file system old blocks may survive the overwrite;
    docs/security.md says so. True when there was a file."""
    path = key_path(directory, clinic_id)
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return False
    try:
        size = os.fstat(fd).st_size
        os.write(fd, secrets.token_bytes(max(size, KEY_BYTES)))
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    return True


def chain_pending(conn: sqlite3.Connection, key: bytes) -> list[AuditRow]:
    """Move the events recorded while the key was locked into the chain, in the order they
    happened, each marked as such; call inside a transaction."""
    rows = conn.execute(
        'SELECT id, at, "user", action, entity, entity_id, patient_id, procedure_id, before,'
        " after FROM audit_pending ORDER BY id"
    ).fetchall()
    chained: list[AuditRow] = []
    for raw in rows:
        after = decode(raw[9])
        marked = {**after, PENDING_MARK: True} if isinstance(after, dict) else after
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
                after=to_json(marked),
            )
        )
        conn.execute("DELETE FROM audit_pending WHERE id = ?", (raw[0],))
    return chained


def pending_count(conn: sqlite3.Connection) -> int:
    try:
        return int(conn.execute("SELECT count(*) FROM audit_pending").fetchone()[0])
    except sqlite3.Error:
        return 0


def compute_mac(key: bytes, fields: dict[str, Any], prev_mac: str) -> str:
    message = canonical_json(fields) + prev_mac.encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def to_json(data: Any) -> str | None:
    return None if data is None else canonical_json(data).decode("utf-8")


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


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
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not user:
        raise ValueError("an audit row needs a user")
    at = now_utc()
    before_json, after_json = to_json(before), to_json(after)
    if key is None:
        if action not in PENDING_ACTIONS:
            raise AuditKeyLocked(LOCKED_MESSAGE)
        conn.execute(
            'INSERT INTO audit_pending (at, "user", action, entity, entity_id, patient_id,'
            " procedure_id, before, after) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                at,
                user,
                action,
                entity,
                entity_id,
                patient_id,
                procedure_id,
                before_json,
                after_json,
            ),
        )
        return AuditRow(
            0,
            at,
            user,
            action,
            entity,
            entity_id,
            patient_id,
            procedure_id,
            before_json,
            after_json,
            "",
            "",
        )
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


LOCKED_MESSAGE = (
    "the clinic's audit key is locked: it opens with a signed-in person's password, and nobody "
    "has signed in here yet (or your account has no copy of it yet: any colleague's sign-in "
    "gives you one). Sign in, then try again; nothing was saved"
)


def _append(
    conn: sqlite3.Connection,
    key: bytes,
    *,
    at: str,
    user: str,
    action: str,
    entity: str,
    entity_id: int | None,
    patient_id: int | None,
    procedure_id: int | None,
    before: str | None,
    after: str | None,
) -> AuditRow:
    last = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq = 1 if last is None else int(last[0]) + 1
    prev_mac = GENESIS if last is None else str(last[1])
    fields: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "user": user,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "patient_id": patient_id,
        "procedure_id": procedure_id,
        "before": before,
        "after": after,
    }
    mac = compute_mac(key, fields, prev_mac)
    conn.execute(
        'INSERT INTO audit (seq, at, "user", action, entity, entity_id, patient_id, procedure_id,'
        " before, after, prev_mac, mac) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (*fields.values(), prev_mac, mac),
    )
    return AuditRow(**fields, prev_mac=prev_mac, mac=mac)


def _row(raw: sqlite3.Row | tuple[Any, ...]) -> AuditRow:
    return AuditRow(*tuple(raw))


_SELECT = (
    'SELECT seq, at, "user", action, entity, entity_id, patient_id, procedure_id, before, after,'
    " prev_mac, mac FROM audit"
)


def verify_audit_chain(
    conn: sqlite3.Connection, key: bytes | None, anchor: Anchor | None = None
) -> AuditReport:
    """Walk the chain in seq order; report the first row that breaks it and why. With `anchor`,
    also report a tail behind it (rows removed from the end, or an older copy of the database)
    and a row at the anchor's seq whose mac differs (another copy, or rewritten rows). Without
    the key (locked) only the links are checked, and the report says so (`macs_checked`)."""
    report = _verify_chain(conn, key)
    if key is None:
        report = replace(report, macs_checked=False)
    if not report.ok or anchor is None:
        return report
    checked = report.rows_checked
    if checked < anchor.seq:
        return AuditReport(
            False,
            checked,
            checked + 1,
            f"the audit trail ends at row {checked} but its anchor (kept outside the database) "
            f"records row {anchor.seq}: rows {checked + 1}..{anchor.seq} were removed from the "
            "end, or the database was replaced by an older copy",
            anchor.seq,
            report.macs_checked,
        )
    if not matches(conn, anchor):
        return AuditReport(
            False,
            checked,
            anchor.seq,
            "the row does not match the anchor kept outside the database (the database was "
            "replaced by another copy, or its audit rows were rewritten)",
            anchor.seq,
            report.macs_checked,
        )
    return AuditReport(True, checked, anchored_seq=anchor.seq, macs_checked=report.macs_checked)


def _unreadable(checked: int, error: BaseException) -> AuditReport:
    return AuditReport(
        False,
        checked,
        checked + 1,
        f"the row cannot be read: the database file is damaged there ({error}); restore the "
        "latest backup",
    )


def _rows_tolerantly(conn: sqlite3.Connection) -> Any:
    """Rows in seq order; a damaged page ends the walk with the error instead of a traceback."""
    cursor = conn.execute(f"{_SELECT} ORDER BY seq")
    while True:
        raw = cursor.fetchone()
        if raw is None:
            return
        yield raw


def _verify_chain(conn: sqlite3.Connection, key: bytes | None) -> AuditReport:
    expected_seq = 1
    prev_mac = GENESIS
    checked = 0
    try:
        for raw in _rows_tolerantly(conn):
            report = _check_row(key, raw, expected_seq, prev_mac, checked)
            if report is not None:
                return report
            prev_mac = str(raw[11])
            expected_seq += 1
            checked += 1
    except (sqlite3.Error, ValueError, TypeError, UnicodeError) as error:
        return _unreadable(checked, error)
    return AuditReport(True, checked)


def _check_row(
    key: bytes | None, raw: Any, expected_seq: int, prev_mac: str, checked: int
) -> AuditReport | None:
    """None when the row is the next link of the chain; else the report of the break."""
    row = _row(raw)
    if not isinstance(row.seq, int) or not isinstance(row.mac, str):
        raise ValueError("a row's number or hash is not of its type")
    # Locked: the row's own MAC cannot be recomputed; its link to the previous row still can.
    own = row.mac if key is None else compute_mac(key, row.fields(), row.prev_mac)
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
    return None


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
