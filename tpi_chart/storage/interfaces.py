"""What the services need from a store, as Protocols and the records they return, whatever the
engine (SQLite today: `tpi_chart.storage.sqlite`; a database server later).

Write methods take the acting user for the audit trail and record the audit row in the same
transaction as the change. `Store.transaction()` groups several writes into one commit.
`Store` names no file: what only a store kept in a file on this computer can do (copy itself,
be replaced by a copy) is `FileBackedStore`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tpi_chart.domain.models import (
    Addendum,
    FollowUp,
    PainStroke,
    Patient,
    Preparation,
    PriorProcedure,
    Procedure,
    Signature,
    Site,
)
from tpi_chart.domain.users import User
from tpi_chart.storage.audit import AuditReport, AuditRow
from tpi_chart.storage.live import LiveRecords


@dataclass(frozen=True)
class PatientRecord:
    id: int
    patient: Patient
    version: int = 1  # raised by every change: a save from an older copy is refused


@dataclass(frozen=True)
class SiteRecord:
    id: int
    procedure_id: int
    seq: int
    number: int  # 1-based order among the procedure's non-removed sites (as if restored)
    removed: bool
    site: Site
    version: int = 1


@dataclass(frozen=True)
class ProcedureRecord:
    id: int
    patient_id: int
    procedure: Procedure  # sites: the non-removed ones in charting order
    site_ids: tuple[int, ...]
    version: int = 1  # of the header and preparations; sites carry their own
    site_versions: tuple[int, ...] = ()  # aligned with site_ids


@dataclass(frozen=True)
class SignedSnapshot:
    """What a signed procedure's document showed when it was signed, beyond its own rows."""

    patient: Patient
    prior_procedures: tuple[PriorProcedure, ...] | None  # None: signed before schema v5


@dataclass(frozen=True)
class ProcedureSummaryRecord:
    id: int
    patient_id: int
    performed_at: datetime
    status: str
    site_count: int
    injected_count: int
    physician: str | None = None
    pain_before: int | None = None
    pain_after: int | None = None
    #: relief recorded for this visit: a follow-up entry, or the next visit's prior relief
    relief_percent: int | None = None
    voided: bool = False  # voided, or signed and then marked entered in error
    muscles: tuple[str, ...] = ()  # injected (muscle, side) as "muscle:side", charting order


@dataclass(frozen=True)
class VoidRecord:
    procedure_id: int
    reason: str
    voided_by: str
    voided_at: str


@dataclass(frozen=True)
class FollowUpRecord:
    id: int
    procedure_id: int
    follow_up: FollowUp
    recorded_at: str
    recorded_by: str


@dataclass(frozen=True)
class HistoryRecord:
    """One procedure as the history rules see it: when, the relief reported at that visit for
    the one before it, and the (muscle, side) of its injected sites in charting order."""

    id: int
    performed_at: datetime
    prior_relief_percent: int | None
    prior_relief_weeks: float | None
    injected: tuple[tuple[str, str], ...]
    follow_up: FollowUp | None = None  # the newest follow-up entry for this visit
    prior_relief_scale: str | None = None
    prior_relief_measured_on: str | None = None


@dataclass(frozen=True)
class StrokeRecord:
    id: int
    procedure_id: int
    seq: int
    removed: bool
    stroke: PainStroke


@dataclass(frozen=True)
class OutboxItem:
    id: int
    procedure_id: int
    event: str
    format: str
    status: str
    attempts: int
    last_error: str | None
    queued_at: datetime
    sent_at: datetime | None
    files: tuple[str, ...]


@dataclass(frozen=True)
class AccountKeyRow:
    username: str
    public_key: bytes
    wrapped_private: str


@dataclass(frozen=True)
class CertificateRow:
    serial: str
    username: str
    certificate: bytes
    sealed_private: str
    issued_at: datetime
    issued_by: str
    revoked_at: datetime | None
    revocation_reason: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class SigningRequestRow:
    username: str
    public_key: bytes
    sealed_private: str
    requested_at: datetime


@dataclass(frozen=True)
class SignedNoteRow:
    procedure_id: int
    pdf: bytes
    signatures: int
    evaluation: str
    sha256: str


@dataclass(frozen=True)
class SessionRecord:
    """One sign-in at one workstation (its host name), open until `ended_at`."""

    id: int
    username: str
    workstation: str
    started_at: datetime
    last_seen_at: datetime
    state: str  # "active" or "locked"
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None


class SessionRepository(Protocol):
    def start(self, username: str, workstation: str, at: datetime) -> SessionRecord: ...
    def touch(self, session_id: int, at: datetime, state: str) -> None: ...
    def end(self, session_id: int, at: datetime, by: str, reason: str) -> SessionRecord | None: ...
    def get(self, session_id: int) -> SessionRecord | None: ...
    def open_sessions(self) -> list[SessionRecord]: ...


#: Called at the start of each of the store's transactions (`guard_writes`), inside it, with
#: whether the session the store tracks (`track_session`) has ended when the store learned it in
#: the transaction's first statement (the server's head-row lock reads it), else None; raises to
#: refuse what the transaction would write (services/sessions.py).
WriteGuard = Callable[[bool | None], None]


class PatientRepository(Protocol):
    def get(self, patient_id: int) -> PatientRecord | None: ...
    def by_mrn(self, mrn: str) -> PatientRecord | None: ...
    def search(self, text: str, limit: int) -> list[PatientRecord]: ...
    def add(self, patient: Patient, user: str) -> PatientRecord: ...
    def update(
        self,
        patient_id: int,
        patient: Patient,
        user: str,
        expected_version: int | None = None,
        *,
        per_field: bool = False,
    ) -> PatientRecord: ...
    def with_lot(self, lot: str) -> list[tuple[PatientRecord, int, str]]: ...


class ProcedureRepository(Protocol):
    def get(self, procedure_id: int) -> ProcedureRecord | None: ...
    def list_for_patient(
        self, patient_id: int, include_voided: bool = False
    ) -> list[ProcedureSummaryRecord]: ...
    def add_follow_up(
        self, procedure_id: int, follow_up: FollowUp, user: str, at: str
    ) -> FollowUpRecord: ...
    def follow_ups(self, procedure_id: int) -> list[FollowUpRecord]: ...
    def follow_ups_for_patient(self, patient_id: int) -> list[FollowUpRecord]: ...
    def for_patient(self, patient_id: int) -> list[ProcedureRecord]: ...
    def voided_ids(self, patient_id: int) -> frozenset[int]: ...
    def void(self, procedure_id: int, reason: str, user: str, at: str) -> VoidRecord: ...
    def void_of(self, procedure_id: int) -> VoidRecord | None: ...
    def ids_for_patient(self, patient_id: int) -> list[int]: ...
    def history(self, patient_id: int) -> list[HistoryRecord]: ...
    def reported_history(self, procedure_id: int) -> tuple[PriorProcedure, ...]: ...
    def signed_snapshot(self, procedure_id: int) -> SignedSnapshot | None: ...
    def add(
        self,
        patient_id: int,
        procedure: Procedure,
        user: str,
        reported_history: tuple[PriorProcedure, ...] = (),
        signed_patient: Patient | None = None,
    ) -> ProcedureRecord: ...
    def update_header(
        self,
        procedure_id: int,
        procedure: Procedure,
        user: str,
        expected_version: int | None = None,
    ) -> ProcedureRecord: ...
    def set_preparations(
        self,
        procedure_id: int,
        preparations: tuple[Preparation, ...],
        user: str,
        expected_version: int | None = None,
    ) -> ProcedureRecord: ...
    def on_date(self, patient_id: int, day: str) -> list[int]: ...
    def signed_ids(self, after: int = 0, limit: int | None = None) -> list[int]: ...
    def signed_between(self, first_day: str, last_day: str) -> list[int]: ...
    def sites(self, procedure_id: int, include_removed: bool = False) -> list[SiteRecord]: ...
    def get_site(self, site_id: int) -> SiteRecord | None: ...
    def add_site(self, procedure_id: int, site: Site, user: str) -> SiteRecord: ...
    def update_site(
        self, site_id: int, site: Site, user: str, expected_version: int | None = None
    ) -> SiteRecord: ...
    def set_site_removed(self, site_id: int, removed: bool, user: str) -> SiteRecord: ...
    def append_site(
        self, procedure_id: int, patient_id: int, site: Site, user: str
    ) -> SiteRecord: ...
    def write_site(
        self, before: SiteRecord, site: Site, patient_id: int, user: str
    ) -> SiteRecord: ...
    def mark_site_removed(
        self, before: SiteRecord, removed: bool, patient_id: int, user: str
    ) -> SiteRecord: ...
    def write_header(
        self,
        procedure_id: int,
        patient_id: int,
        before: Procedure,
        procedure: Procedure,
        expected_version: int,
        user: str,
    ) -> int: ...
    def sign(
        self,
        procedure_id: int,
        signature: Signature,
        user: str,
        prior_procedures: tuple[PriorProcedure, ...] | None = None,
        signed_patient: Patient | None = None,
    ) -> ProcedureRecord: ...
    def add_addendum(self, procedure_id: int, addendum: Addendum, user: str) -> ProcedureRecord: ...


class SettingsRepository(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, user: str) -> None: ...


class AuditTrail(Protocol):
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
    ) -> AuditRow: ...
    def verify(self) -> AuditReport: ...
    def rows(
        self, mrn: str | None = None, date_from: date | None = None, date_to: date | None = None
    ) -> list[AuditRow]: ...
    def latest_at(self) -> datetime | None: ...
    def last_change(
        self, patient_id: int, procedure_id: int | None
    ) -> tuple[str, datetime] | None: ...


class UserRepository(Protocol):
    """Accounts and login attempts. Only Argon2id PHC strings are stored, never a password."""

    def get(self, username: str) -> User | None: ...
    def all(self) -> list[User]: ...
    def count(self) -> int: ...
    def active_administrators(self) -> int: ...
    def password_hash(self, username: str) -> str | None: ...
    def create(self, user: User, password_hash: str, *, by: str, at: datetime) -> User: ...
    def update(self, user: User, *, by: str) -> User: ...
    def set_password_hash(
        self, username: str, password_hash: str, *, by: str, at: datetime, audit: bool = True
    ) -> None: ...
    def record_login(
        self,
        username: str,
        *,
        success: bool,
        at: datetime,
        detail: Mapping[str, Any],
        counts: bool = True,
        monotonic: float | None = None,
        boot: str | None = None,
    ) -> None: ...
    def failures_since_success(
        self, username: str, limit: int = 50
    ) -> list[tuple[datetime, float | None, str | None]]: ...
    def recent_failures(self, username: str, since: datetime) -> list[datetime]: ...


class PkiRepository(Protocol):
    """The signing authority's rows; only opaque blobs (wrapped or sealed keys, DER
    certificates, PDF bytes), never a key in clear."""

    def authority(self) -> bytes | None: ...
    def create_authority(self, certificate: bytes, by: str, fingerprint: str) -> None: ...
    def account_key(self, username: str) -> AccountKeyRow | None: ...
    def put_account_key(self, username: str, public_key: bytes, wrapped_private: str) -> None: ...
    def rewrap_account_key(self, username: str, wrapped_private: str) -> None: ...
    def grant(self, secret: str, holder: str) -> str | None: ...
    def holders(self, secret: str) -> list[str]: ...
    def put_grant(self, secret: str, holder: str, sealed: str, by: str) -> None: ...
    def drop_grant(self, secret: str, holder: str, by: str) -> None: ...
    def certificates(self, username: str | None = None) -> list[CertificateRow]: ...
    def active_certificate(self, username: str) -> CertificateRow | None: ...
    def add_certificate(
        self, serial: str, username: str, certificate: bytes, sealed_private: str, by: str
    ) -> None: ...
    def revoke(self, serial: str, reason: str, by: str, at: datetime) -> None: ...
    def revocations(self) -> list[tuple[str, datetime, str]]: ...
    def request(self, username: str) -> SigningRequestRow | None: ...
    def requests(self) -> list[SigningRequestRow]: ...
    def put_request(self, username: str, public_key: bytes, sealed_private: str) -> None: ...
    def signed_note(self, procedure_id: int) -> SignedNoteRow | None: ...
    def put_signed_note(
        self, procedure_id: int, pdf: bytes, signatures: int, evaluation: str, by: str
    ) -> None: ...


class OutboxRepository(Protocol):
    def enqueue(self, procedure_id: int, event: str, formats: tuple[str, ...]) -> None: ...
    def pending(self) -> list[OutboxItem]: ...
    def for_procedure(self, procedure_id: int) -> list[OutboxItem]: ...
    def mark_sent(self, item_id: int, files: tuple[str, ...]) -> None: ...
    def mark_failed(self, item_id: int, error: str) -> None: ...
    def pending_count(self) -> int: ...


class PainStrokeRepository(Protocol):
    def strokes(self, procedure_id: int, include_removed: bool = False) -> list[StrokeRecord]: ...
    def get_stroke(self, stroke_id: int) -> StrokeRecord | None: ...
    def add_stroke(self, procedure_id: int, stroke: PainStroke, user: str) -> StrokeRecord: ...
    def set_stroke_removed(self, stroke_id: int, removed: bool, user: str) -> StrokeRecord: ...


class Store(Protocol):
    """An open clinic database on either engine (a file, or a PostgreSQL server)."""

    @property
    def clinic_id(self) -> str: ...
    @property
    def patients(self) -> PatientRepository: ...
    @property
    def procedures(self) -> ProcedureRepository: ...
    @property
    def settings(self) -> SettingsRepository: ...
    @property
    def audit(self) -> AuditTrail: ...
    @property
    def users(self) -> UserRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def pki(self) -> PkiRepository: ...
    @property
    def pain_strokes(self) -> PainStrokeRepository: ...
    @property
    def live(self) -> LiveRecords: ...
    @property
    def sessions(self) -> SessionRepository: ...

    def guard_writes(self, guard: WriteGuard | None) -> None: ...
    def track_session(self, session_id: int | None) -> None: ...
    def transaction(self) -> AbstractContextManager[None]: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def audit_sealed(self) -> bool: ...
    def unlock_audit(self, key: bytes) -> int: ...
    def record_key_id(self, key: bytes) -> None: ...
    def destroy_plain_key(self) -> bool: ...
    def is_empty(self) -> bool: ...
    @property
    def registered(self) -> bool: ...
    @property
    def readonly(self) -> bool: ...
    def close(self) -> None: ...


@runtime_checkable
class FileBackedStore(Store, Protocol):
    """A store kept in one file on this computer, its keys in a folder beside it (SQLite): what
    the file backups, restores and checks need on top of `Store` (a server clinic has none of
    it, so services test for it with isinstance)."""

    @property
    def path(self) -> Path: ...
    @property
    def key_dir(self) -> Path: ...
    def backup_to(self, target: Path) -> list[str]: ...
    def snapshot(self) -> tuple[bytes, list[str]]: ...
    def restore_from(self, source: Path, keep_aside: Path) -> dict[str, Any]: ...
