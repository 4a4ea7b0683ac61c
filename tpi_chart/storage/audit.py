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

This module is the engine-neutral part: the row and its MAC, the chain walk, the anchor and key
files. The SQL that reads and appends rows is the engine's (`storage/sqlite/audit_trail.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tpi_chart.domain.canonical import canonical_json
from tpi_chart.storage.errors import AuditKeyProblem

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
        "session_ended",
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
        "clinic_migrated",
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


def compute_mac(key: bytes, fields: dict[str, Any], prev_mac: str) -> str:
    message = canonical_json(fields) + prev_mac.encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def to_json(data: Any) -> str | None:
    return None if data is None else canonical_json(data).decode("utf-8")


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


LOCKED_MESSAGE = (
    "the clinic's audit key is locked: it opens with a signed-in person's password, and nobody "
    "has signed in here yet (or your account has no copy of it yet: any colleague's sign-in "
    "gives you one). Sign in, then try again; nothing was saved"
)


def check_event(action: str, user: str) -> None:
    """Refuse a row no trail may hold: an unknown action, or nobody to name."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if not user:
        raise ValueError("an audit row needs a user")


def next_row(key: bytes, last: Anchor | None, fields: dict[str, Any]) -> AuditRow:
    """The row that follows `last` (None: the first row), its seq, prev_mac and mac computed;
    `fields` are the row's own (at, user, action, entity, ids, before, after as JSON text)."""
    seq = 1 if last is None else last.seq + 1
    prev_mac = GENESIS if last is None else last.mac
    chained: dict[str, Any] = {"seq": seq, **fields}
    ordered = {name: chained[name] for name in _FIELDS}
    return AuditRow(**ordered, prev_mac=prev_mac, mac=compute_mac(key, ordered, prev_mac))


def against_anchor(
    report: AuditReport, anchor: Anchor | None, matches: Callable[[Anchor], bool]
) -> AuditReport:
    """A sound chain checked against the anchor kept outside the database: a tail behind it
    (rows removed from the end, or an older copy of the database) or a row at the anchor's seq
    whose mac differs (another copy, or rewritten rows) is a break. `matches`: whether the
    database holds the anchor's row with the anchor's mac."""
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
    if not matches(anchor):
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


def walk_chain(
    rows: Iterable[Sequence[Any]],
    key: bytes | None,
    unreadable: tuple[type[BaseException], ...] = (),
) -> AuditReport:
    """Walk the rows (as stored, seq order: the `AuditRow` fields in order) and report the first
    one that breaks the chain and why. Without the key (locked) only the links are checked, and
    the report says so (`macs_checked`). An error of `unreadable` raised while reading the rows
    (a damaged page) ends the walk with a report instead of a traceback."""
    expected_seq = 1
    prev_mac = GENESIS
    checked = 0
    caught: tuple[type[BaseException], ...] = (ValueError, TypeError, UnicodeError, *unreadable)
    try:
        for raw in rows:
            report = _check_row(key, raw, expected_seq, prev_mac, checked)
            if report is not None:
                return _locked(report, key)
            prev_mac = str(raw[11])
            expected_seq += 1
            checked += 1
    except caught as error:
        return _locked(_unreadable(checked, error), key)
    return _locked(AuditReport(True, checked), key)


def _locked(report: AuditReport, key: bytes | None) -> AuditReport:
    return report if key is not None else replace(report, macs_checked=False)


def row_of(raw: Sequence[Any]) -> AuditRow:
    return AuditRow(*tuple(raw))


def _unreadable(checked: int, error: BaseException) -> AuditReport:
    return AuditReport(
        False,
        checked,
        checked + 1,
        f"the row cannot be read: the database file is damaged there ({error}); restore the "
        "latest backup",
    )


def _check_row(
    key: bytes | None, raw: Any, expected_seq: int, prev_mac: str, checked: int
) -> AuditReport | None:
    """None when the row is the next link of the chain; else the report of the break."""
    row = row_of(raw)
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


def decode(value: str | None) -> Any:
    """The before/after JSON of a row as data."""
    return None if value is None else json.loads(value)
