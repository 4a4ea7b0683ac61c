"""Charting a procedure: create, copy forward, header changes, preparations and sites.

Every write is committed (and audited under the service's user) before the method returns. A
signed procedure refuses every change with `ProcedureLocked`; corrections are addenda.

The service is built for one signed-in `User` and checks the role matrix (`services.access`)
itself before every read and change: whoever calls it, an assistant cannot mark a site injected,
record the time-out or sign. A refusal raises `PermissionDenied`, is audited, and stores nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.errors import describe_validation_error
from tpi_chart.domain.models import (
    Addendum,
    FollowUp,
    PainStroke,
    Preparation,
    PriorProcedure,
    Procedure,
    ProcedureDocument,
    Signature,
    Site,
    TimeOut,
)
from tpi_chart.domain.status import event_between, next_status
from tpi_chart.domain.users import User
from tpi_chart.services.access import Action, DeniedHook, Permissions, require
from tpi_chart.services.errors import (
    InvalidInput,
    NotFound,
    ProcedureLocked,
    StaleEdit,
    changed_fields,
)
from tpi_chart.services.procedure_history import (
    copied_forward,
    prior_procedures,
    procedure_document,
)

# The values and checks moved to procedure_values; they stay importable from here, where the
# window and the operations have always found them.
from tpi_chart.services.procedure_values import (
    ProcedureSummary,
    StoredProcedure,
    StoredSite,
    StoredStroke,
    check_site,
    check_unlocked,
    creation_actions,
    last_author,
    locked_message,
    performed_now,
    site_action,
    stale_procedure,
    stored,
    stored_site,
    validate_procedure,
    voided_text,
)
from tpi_chart.storage.errors import SignedRecord, StaleRecord
from tpi_chart.storage.interfaces import (
    FollowUpRecord,
    ProcedureRecord,
    SiteRecord,
    Store,
    StrokeRecord,
    VoidRecord,
)

if TYPE_CHECKING:
    from tpi_chart.services.operations import ChartingOps

#: Fields `update()` does not change: they have their own methods.
_NOT_HEADER = {
    "sites": "use add_site/update_site/remove_site",
    "preparations": "use set_preparations",
    "signature": "sign the procedure instead",
    "addenda": "add an addendum instead",
    "pain_drawing": "use add_pain_stroke/remove_pain_stroke",
}


class ChartingService:
    def __init__(self, store: Store, user: User, *, on_denied: DeniedHook | None = None) -> None:
        self._store = store
        self._permissions = Permissions(user, on_denied)
        self._user = user.username
        self._on_denied = on_denied

    def operations(self) -> ChartingOps:
        """The charting operations (`services.operations`) for this service's person and
        database: what a window's clicks call."""
        from tpi_chart.services.operations import ChartingOps

        return ChartingOps(
            self._store, self._permissions.user, on_denied=self._on_denied, charting=self
        )

    def _require(self, *actions: Action) -> None:
        self._permissions.require(*actions)

    # ---- reading ---------------------------------------------------------------------------
    def _record(self, procedure_id: int) -> ProcedureRecord:
        record = self._store.procedures.get(procedure_id)
        if record is None:
            raise NotFound(f"procedure {procedure_id} does not exist")
        return record

    def _site_record(self, site_id: int) -> SiteRecord:
        record = self._store.procedures.get_site(site_id)
        if record is None:
            raise NotFound(f"site {site_id} does not exist")
        return record

    def list_for_patient(
        self, patient_id: int, *, include_voided: bool = False
    ) -> list[ProcedureSummary]:
        """The patient's procedures, newest first; voided ones only with `include_voided`."""
        self._require("view")
        return [
            ProcedureSummary(
                s.id,
                s.patient_id,
                s.performed_at,
                s.status,
                s.site_count,
                s.injected_count,
                s.physician,
                s.pain_before,
                s.pain_after,
                s.relief_percent,
                s.voided,
                s.muscles,
            )
            for s in self._store.procedures.list_for_patient(patient_id, include_voided)
        ]

    def void_of(self, procedure_id: int) -> VoidRecord | None:
        self._record(procedure_id)
        return self._store.procedures.void_of(procedure_id)

    def follow_ups(self, procedure_id: int) -> list[FollowUpRecord]:
        """The follow-up entries of a visit, oldest first (the newest counts)."""
        self._record(procedure_id)
        return self._store.procedures.follow_ups(procedure_id)

    def get(self, procedure_id: int) -> StoredProcedure:
        self._require("view")
        return stored(self._record(procedure_id))

    def for_patient(self, patient_id: int) -> list[StoredProcedure]:
        """Every procedure of the patient, whole (voided ones too), oldest first: one read
        however many visits (the History tab of a patient seen for ten years)."""
        self._require("view")
        return [stored(record) for record in self._store.procedures.for_patient(patient_id)]

    def voided_ids(self, patient_id: int) -> frozenset[int]:
        """Ids of the patient's voided visits (and signed ones entered in error)."""
        self._require("view")
        return self._store.procedures.voided_ids(patient_id)

    def newest_follow_ups(self, patient_id: int) -> dict[int, FollowUp]:
        """The newest follow-up entry of each of the patient's visits that has one."""
        self._require("view")
        entries = self._store.procedures.follow_ups_for_patient(patient_id)
        return {entry.procedure_id: entry.follow_up for entry in entries}

    def sites(self, procedure_id: int) -> list[StoredSite]:
        self._require("view")
        self._record(procedure_id)
        return [stored_site(r) for r in self._store.procedures.sites(procedure_id)]

    def prior_procedures(self, procedure_id: int) -> tuple[PriorProcedure, ...]:
        """The patient's injected sessions before this one (`procedure_history`)."""
        self._require("view")
        return prior_procedures(self._store, self._record(procedure_id))

    def document(self, procedure_id: int) -> ProcedureDocument:
        """Patient + procedure + prior procedures: what the rules, the note and export use
        (`procedure_history.procedure_document`)."""
        self._require("view")
        return procedure_document(self._store, self._record(procedure_id))

    # ---- writing ---------------------------------------------------------------------------
    @contextmanager
    def _locked_as_domain_error(self, procedure_id: int) -> Iterator[None]:
        try:
            yield
        except SignedRecord as error:
            raise ProcedureLocked(
                f"procedure {procedure_id} is signed; it cannot be changed, add an addendum instead"
            ) from error

    def _unsigned(self, procedure_id: int) -> ProcedureRecord:
        record = self._record(procedure_id)
        void = self._store.procedures.void_of(procedure_id)
        check_unlocked(procedure_id, record.procedure, voided_text(void))
        return record

    def create(self, patient_id: int, procedure: Procedure) -> StoredProcedure:
        """Store a new procedure with its preparations and sites (a signed one is stored signed,
        as on import)."""
        self._require(*creation_actions(procedure))
        if self._store.patients.get(patient_id) is None:
            raise NotFound(f"patient {patient_id} does not exist")
        return stored(self._store.procedures.add(patient_id, procedure, self._user))

    def copy_forward(self, patient_id: int, performed_at: datetime) -> StoredProcedure:
        """A new planned procedure from the patient's latest one (what is carried over:
        `procedure_history.copied_forward`); without an earlier procedure, an empty planned
        one."""
        self._require("plan")
        summaries = self._store.procedures.list_for_patient(patient_id)
        patient = self._store.patients.get(patient_id)
        if patient is None:
            raise NotFound(f"patient {patient_id} does not exist")
        coverage = patient.patient.payer_profile
        if not summaries:
            return self.create(
                patient_id,
                Procedure(
                    performed_at=performed_at, status="planned", payer_profile=coverage or "none"
                ),
            )
        last = self._record(summaries[0].id).procedure
        return self.create(patient_id, copied_forward(last, performed_at, coverage))

    @contextmanager
    def _stale_as_domain_error(
        self, procedure_id: int, base: StoredProcedure | None
    ) -> Iterator[None]:
        try:
            yield
        except StaleRecord as error:
            if base is None:  # pragma: no cover - only a versioned write can be stale
                raise
            current = self._record(procedure_id)
            raise self._stale_procedure(base, current) from error

    def _check_base(self, record: ProcedureRecord, base: StoredProcedure | None) -> None:
        if base is not None and base.version != record.version:
            raise self._stale_procedure(base, record)

    def update(
        self,
        procedure_id: int,
        changes: dict[str, Any],
        base: StoredProcedure | None = None,
    ) -> StoredProcedure:
        """Change header fields (pain, checklist, consent, time-out, status planned ⇄
        in_progress, complications…). Validated through the model: bad values raise
        InvalidInput with one `procedure.<field>: …` line each, and nothing is stored.
        Recording or changing the time-out is charting (physicians only). `base`: the stored
        copy the edit started from; if the header or preparations were saved elsewhere since,
        `StaleEdit` names what changed and nothing is stored."""
        self._require("plan")
        record = self._unsigned(procedure_id)
        self._check_base(record, base)
        problems = [
            f"procedure.{name}: not changed by update; {hint}"
            for name, hint in _NOT_HEADER.items()
            if name in changes
        ]
        if changes.get("status") == "signed":
            problems.append("procedure.status: a procedure is signed by signing it")
        if problems:
            raise InvalidInput(problems)
        data = record.procedure.model_dump()
        data.update(changes)
        procedure = validate_procedure(data)
        if procedure.time_out != record.procedure.time_out:
            self._require("chart")
        event_between(record.procedure.status, procedure.status)
        expected = None if base is None else base.version
        with (
            self._locked_as_domain_error(procedure_id),
            self._stale_as_domain_error(procedure_id, base),
        ):
            return stored(
                self._store.procedures.update_header(procedure_id, procedure, self._user, expected)
            )

    def set_preparations(
        self,
        procedure_id: int,
        preparations: tuple[Preparation, ...],
        base: StoredProcedure | None = None,
    ) -> StoredProcedure:
        self._require("plan")
        record = self._unsigned(procedure_id)
        self._check_base(record, base)
        data = record.procedure.model_dump()
        data["preparations"] = preparations
        procedure = validate_procedure(data)
        expected = None if base is None else base.version
        with (
            self._locked_as_domain_error(procedure_id),
            self._stale_as_domain_error(procedure_id, base),
        ):
            return stored(
                self._store.procedures.set_preparations(
                    procedure_id, procedure.preparations, self._user, expected
                )
            )

    def _check_preparation(self, record: ProcedureRecord, site: Site) -> None:
        check_site(record.procedure, site)

    def _first_injection(self, record: ProcedureRecord, site: Site) -> None:
        """Without a time-out, the first injection sets the date of service."""
        procedure = record.procedure
        if site.state != "injected" or procedure.time_out is not None:
            return
        if procedure.planned_at is not None or procedure.injected_sites:
            return
        moment = site.injected_at or datetime.now(UTC).astimezone()
        self.update(record.id, performed_now(procedure, moment))

    def add_site(self, procedure_id: int, site: Site) -> StoredSite:
        self._require(site_action(site))
        record = self._unsigned(procedure_id)
        self._check_preparation(record, site)
        self._first_injection(record, site)
        # The diagram geometry and the time-out checks are imported by the methods that chart:
        # the window's first screen builds this service only to list a patient's visits.
        from tpi_chart.domain.diagram import with_location

        site = with_location(site)
        with self._locked_as_domain_error(procedure_id):
            return stored_site(self._store.procedures.add_site(procedure_id, site, self._user))

    def update_site(self, site_id: int, site: Site, base: StoredSite | None = None) -> StoredSite:
        """Store the site's new values. `base`: the stored site the edit started from; if the
        site was saved elsewhere since, `StaleEdit` names what changed and nothing is stored."""
        current = self._site_record(site_id)
        self._require(site_action(current.site, site))
        record = self._unsigned(current.procedure_id)
        if base is not None and base.version != current.version:
            raise self._stale_site(base, current)
        self._check_preparation(record, site)
        self._first_injection(record, site)
        from tpi_chart.domain.diagram import with_location

        site = with_location(site, current.site)
        expected = None if base is None else base.version
        try:
            with self._locked_as_domain_error(current.procedure_id):
                return stored_site(
                    self._store.procedures.update_site(site_id, site, self._user, expected)
                )
        except StaleRecord as error:
            assert base is not None
            raise self._stale_site(base, self._site_record(site_id)) from error

    def _stale_procedure(self, base: StoredProcedure, current: ProcedureRecord) -> StaleEdit:
        author = last_author(self._store, current.patient_id, current.id)
        return stale_procedure(base, current).with_author(author)

    def _stale_site(self, base: StoredSite, current: SiteRecord) -> StaleEdit:
        record = self._record(current.procedure_id)
        return StaleEdit(
            f"site {current.number}",
            changed_fields(
                "site", base.site.model_dump(mode="json"), current.site.model_dump(mode="json")
            ),
        ).with_author(last_author(self._store, record.patient_id, current.procedure_id))

    def remove_site(self, site_id: int) -> None:
        """Soft delete: the row stays (removed = 1), audited; `restore_site` brings it back."""
        current = self._site_record(site_id)
        self._require(site_action(current.site))
        self._unsigned(current.procedure_id)
        if current.removed:
            return
        with self._locked_as_domain_error(current.procedure_id):
            self._store.procedures.set_site_removed(site_id, True, self._user)

    def restore_site(self, site_id: int) -> StoredSite:
        """Undo a removal: same id, same number as before it was removed."""
        current = self._site_record(site_id)
        self._require(site_action(current.site))
        record = self._unsigned(current.procedure_id)
        if not current.removed:
            return stored_site(current)
        # Its preparation may have been replaced since the site was removed.
        self._check_preparation(record, current.site)
        with self._locked_as_domain_error(current.procedure_id):
            return stored_site(self._store.procedures.set_site_removed(site_id, False, self._user))

    # ---- time-out, follow-up, void --------------------------------------------------------
    def record_time_out(
        self,
        procedure_id: int,
        user: User,
        *,
        site_marked: bool | None,
        at: datetime,
    ) -> StoredProcedure:
        """The time-out as shown and confirmed by `user` (who must be allowed to chart): needs a
        planned site and recorded consent. The date of service becomes the time-out's time; the
        time it was planned for stays in `planned_at`."""
        require(user, "chart")
        record = self._unsigned(procedure_id)
        procedure = record.procedure
        if procedure.time_out is not None:
            raise InvalidInput(
                [
                    f"procedure.time_out: already recorded by {procedure.time_out.performed_by} "
                    f"at {procedure.time_out.at:%H:%M}"
                ]
            )
        from tpi_chart.domain.timeout import time_out_elements, time_out_problems

        problems = time_out_problems(procedure)
        if problems:
            raise InvalidInput([f"procedure.time_out: {problem}" for problem in problems])
        patient = self._store.patients.get(record.patient_id)
        assert patient is not None  # a foreign key guarantees it
        time_out = TimeOut(
            performed_by=user.display_name,
            at=at,
            site_marked=site_marked,
            elements=time_out_elements(patient.patient, procedure, site_marked),
        )
        changes: dict[str, Any] = {"time_out": time_out, **performed_now(procedure, at)}
        changes["status"] = next_status(procedure.status, "start")
        return self.update(procedure_id, changes)

    def record_follow_up(self, procedure_id: int, follow_up: FollowUp) -> FollowUpRecord:
        """The relief after a visit, measured later; allowed on a signed visit (it is not part of
        that note). The newest entry counts for the rules and the history."""
        record = self._record(procedure_id)
        if self._store.procedures.void_of(procedure_id) is not None:
            raise InvalidInput(["follow_up: this procedure was voided"])
        if follow_up.measured_on < record.procedure.performed_at.date():
            raise InvalidInput(
                [
                    "follow_up.measured_on: must be on or after the visit "
                    f"({record.procedure.performed_at.date().isoformat()})"
                ]
            )
        stamped = follow_up.model_copy(update={"recorded_by": follow_up.recorded_by or self._user})
        return self._store.procedures.add_follow_up(
            procedure_id, stamped, self._user, datetime.now(UTC).isoformat(timespec="seconds")
        )

    def void(self, procedure_id: int, reason: str) -> VoidRecord:
        """Void a procedure opened by mistake (kept and audited; hidden from lists, left out of
        the rules and the history). A signed one is marked entered in error by an addendum."""
        if not reason.strip():
            raise InvalidInput(["void.reason: say why the procedure is voided"])
        record = self._record(procedure_id)
        if record.procedure.status == "signed":
            raise ProcedureLocked(
                f"procedure {procedure_id} is signed; mark it entered in error with a signed "
                "addendum instead"
            )
        self._unsigned(procedure_id)
        return self._store.procedures.void(
            procedure_id,
            reason.strip(),
            self._user,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )

    # ---- signing (storage-level; the user-facing rules live in services/signing.py) ----------
    def sign(self, procedure_id: int, signature: Signature) -> StoredProcedure:
        """Store a signature (status → signed). Checks only that the procedure is unsigned and
        that `signature.content_hash` is the document's content hash; required items and warning
        acknowledgements are the signing service's job."""
        self._require("sign")
        self._unsigned(procedure_id)
        document = self.document(procedure_id)
        expected = content_hash(document)
        if signature.content_hash != expected:
            raise InvalidInput(
                ["signature.content_hash: does not match the procedure's content; sign it again"]
            )
        with self._locked_as_domain_error(procedure_id):
            return stored(
                self._store.procedures.sign(
                    procedure_id, signature, self._user, document.prior_procedures
                )
            )

    def add_addendum(self, procedure_id: int, addendum: Addendum) -> StoredProcedure:
        """Append an addendum to a signed procedure (insert-only)."""
        self._require("addendum")
        record = self._record(procedure_id)
        if record.procedure.status != "signed":
            raise InvalidInput(["addendum: only a signed procedure takes addenda; edit it instead"])
        return stored(self._store.procedures.add_addendum(procedure_id, addendum, self._user))

    # ---- the patient's pain drawing ----------------------------------------------------------
    def pain_strokes(self, procedure_id: int) -> list[StoredStroke]:
        """The drawing's strokes in drawing order (removed ones left out)."""
        self._require("view")
        self._record(procedure_id)
        return [
            StoredStroke(r.id, r.stroke) for r in self._store.pain_strokes.strokes(procedure_id)
        ]

    def _stroke_record(self, stroke_id: int) -> StrokeRecord:
        record = self._store.pain_strokes.get_stroke(stroke_id)
        if record is None:
            raise NotFound(f"pain drawing stroke {stroke_id} does not exist")
        return record

    def add_pain_stroke(self, procedure_id: int, stroke: PainStroke) -> StoredStroke:
        """Store one stroke of the pain drawing (anyone who may plan: the assistant, or the
        patient on the clinic's tablet under the assistant's sign-in)."""
        self._require("plan")
        self._unsigned(procedure_id)
        try:
            stroke = PainStroke.model_validate(stroke.model_dump())
        except ValidationError as error:
            raise InvalidInput(describe_validation_error(error, "pain_stroke.")) from error
        with self._locked_as_domain_error(procedure_id):
            record = self._store.pain_strokes.add_stroke(procedure_id, stroke, self._user)
        return StoredStroke(record.id, record.stroke)

    def remove_pain_stroke(self, stroke_id: int) -> None:
        """Soft delete (undo, clear); `restore_pain_stroke` brings the same stroke back."""
        self._set_stroke_removed(stroke_id, True)

    def restore_pain_stroke(self, stroke_id: int) -> StoredStroke:
        record = self._set_stroke_removed(stroke_id, False)
        return StoredStroke(record.id, record.stroke)

    def _set_stroke_removed(self, stroke_id: int, removed: bool) -> StrokeRecord:
        current = self._stroke_record(stroke_id)
        self._require("plan")
        self._unsigned(current.procedure_id)
        if current.removed == removed:
            return current
        with self._locked_as_domain_error(current.procedure_id):
            return self._store.pain_strokes.set_stroke_removed(stroke_id, removed, self._user)


__all__ = [
    "ChartingService",
    "ProcedureSummary",
    "StoredProcedure",
    "StoredSite",
    "StoredStroke",
    "check_site",
    "locked_message",
    "performed_now",
    "site_action",
    "validate_procedure",
]
