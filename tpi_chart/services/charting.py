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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.diagram import with_location
from tpi_chart.domain.errors import describe_validation_error
from tpi_chart.domain.localdates import local_date
from tpi_chart.domain.models import (
    FORMAT_ID,
    Addendum,
    Component,
    FollowUp,
    PainStroke,
    Preparation,
    PriorProcedure,
    PriorSite,
    Procedure,
    ProcedureDocument,
    Signature,
    Site,
    TimeOut,
)
from tpi_chart.domain.status import event_between, next_status
from tpi_chart.domain.timeout import time_out_elements, time_out_problems
from tpi_chart.domain.users import User
from tpi_chart.services.access import Action, DeniedHook, Permissions, require
from tpi_chart.services.errors import (
    InvalidInput,
    NotFound,
    ProcedureLocked,
    StaleEdit,
    changed_fields,
)
from tpi_chart.storage.errors import SignedRecord, StaleRecord
from tpi_chart.storage.interfaces import (
    FollowUpRecord,
    HistoryRecord,
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


@dataclass(frozen=True)
class StoredSite:
    id: int
    number: int  # 1-based charting order among the non-removed sites
    site: Site
    version: int = 1  # give the StoredSite back to `update_site` as `base`


@dataclass(frozen=True)
class StoredStroke:
    id: int
    stroke: PainStroke


@dataclass(frozen=True)
class StoredProcedure:
    id: int
    patient_id: int
    procedure: Procedure  # sites: the non-removed ones in number order
    site_ids: tuple[int, ...]  # aligned with procedure.sites
    version: int = 1  # of the header and preparations (give it back as `base`)
    site_versions: tuple[int, ...] = ()  # aligned with site_ids

    def stored_sites(self) -> list[StoredSite]:
        """The sites as StoredSite, in number order."""
        versions = self.site_versions or (1,) * len(self.site_ids)
        return [
            StoredSite(site_id, number, site, version)
            for number, (site_id, site, version) in enumerate(
                zip(self.site_ids, self.procedure.sites, versions, strict=True), start=1
            )
        ]


@dataclass(frozen=True)
class ProcedureSummary:
    id: int
    patient_id: int
    performed_at: datetime
    status: str
    site_count: int
    injected_count: int
    physician: str | None = None
    pain_before: int | None = None
    pain_after: int | None = None
    relief_percent: int | None = None
    voided: bool = False
    muscles: tuple[str, ...] = ()  # "muscle:side" of the injected sites


def _prior(record: HistoryRecord, following: HistoryRecord) -> PriorProcedure:
    """A session with the relief recorded for it: its newest follow-up entry, else what the
    next visit recorded as prior relief."""
    sites = tuple(PriorSite(muscle=m, side=s) for m, s in record.injected)
    follow_up = record.follow_up
    if follow_up is not None:
        return PriorProcedure(
            performed_at=record.performed_at,
            relief_percent=follow_up.relief_percent,
            relief_weeks=follow_up.relief_weeks,
            relief_scale=follow_up.scale,
            relief_measured_on=follow_up.measured_on,
            functional_change=follow_up.functional_change,
            sites=sites,
        )
    return PriorProcedure.model_validate(
        {
            "performed_at": record.performed_at,
            "relief_percent": following.prior_relief_percent,
            "relief_weeks": following.prior_relief_weeks,
            "relief_scale": following.prior_relief_scale,
            "relief_measured_on": following.prior_relief_measured_on,
            "sites": sites,
        }
    )


def _stored(record: ProcedureRecord) -> StoredProcedure:
    return StoredProcedure(
        record.id,
        record.patient_id,
        record.procedure,
        record.site_ids,
        record.version,
        record.site_versions,
    )


def _stored_site(record: SiteRecord) -> StoredSite:
    return StoredSite(record.id, record.number, record.site, record.version)


_HEADER_ONLY = {"sites", "signature", "addenda"}


def _stale_procedure(base: StoredProcedure, current: ProcedureRecord) -> StaleEdit:
    return StaleEdit(
        f"procedure {current.id}",
        changed_fields(
            "procedure",
            base.procedure.model_dump(mode="json", exclude=_HEADER_ONLY),
            current.procedure.model_dump(mode="json", exclude=_HEADER_ONLY),
        ),
    )


def validate_procedure(data: dict[str, Any]) -> Procedure:
    try:
        return Procedure.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(describe_validation_error(error, "procedure.")) from error


def performed_now(procedure: Procedure, moment: datetime) -> dict[str, Any]:
    """The changes that make `moment` the date of service, keeping the planned time once."""
    if procedure.planned_at is not None:
        return {}
    return {"planned_at": procedure.performed_at, "performed_at": moment}


def locked_message(procedure_id: int, procedure: Procedure) -> str:
    signature = procedure.signature
    who = f" by {signature.signed_by} on {signature.signed_at.isoformat()}" if signature else ""
    return f"procedure {procedure_id} is signed{who}; it cannot be changed, add an addendum instead"


def check_site(procedure: Procedure, site: Site) -> None:
    """InvalidInput unless `site` is a valid site whose syringe is one of `procedure`'s."""
    # A copy made with model_copy(update=...) skips validation: check it again here, so a
    # site the model refuses (a volume on a dry-needled site) is never stored unreadable.
    try:
        Site.model_validate(site.model_dump())
    except ValidationError as error:
        raise InvalidInput(describe_validation_error(error, "site.")) from error
    ids = [p.id for p in procedure.preparations]
    if site.preparation is not None and site.preparation not in ids:
        allowed = ", ".join(ids) or "none defined"
        raise InvalidInput(
            [f"site.preparation: {site.preparation!r} is not one of the preparations ({allowed})"]
        )


def site_action(*sites: Site) -> Action:
    """Planned sites are anyone's to edit; an injected one is charting (physicians only)."""
    return "edit_planned_sites" if all(s.state == "planned" for s in sites) else "chart"


def _creation_actions(procedure: Procedure) -> tuple[Action, ...]:
    actions: list[Action] = ["plan"]
    if procedure.time_out is not None or any(s.state != "planned" for s in procedure.sites):
        actions.append("chart")
    if procedure.signature is not None:
        actions.append("sign")
    return tuple(actions)


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
        return _stored(self._record(procedure_id))

    def sites(self, procedure_id: int) -> list[StoredSite]:
        self._require("view")
        self._record(procedure_id)
        return [_stored_site(r) for r in self._store.procedures.sites(procedure_id)]

    def prior_procedures(self, procedure_id: int) -> tuple[PriorProcedure, ...]:
        """The patient's procedures performed before this one (signed or not) in which something
        was injected, newest first, each with its injected sites. The relief after a procedure
        is recorded at the next visit: the latest prior's relief is this procedure's
        `prior_relief_percent`/`_weeks`, an older one's that of the procedure that followed it."""
        self._require("view")
        current = self._record(procedure_id)
        history = self._store.procedures.history(current.patient_id)
        mine = next((record for record in history if record.id == procedure_id), None)
        if mine is None:  # voided: it has no place in the patient's sessions
            return ()
        chain = [
            record
            for record in history
            if record.id == procedure_id or record.performed_at < mine.performed_at
        ]
        priors = [
            _prior(record, chain[index + 1])
            for index, record in enumerate(chain[:-1])
            # A visit where nothing was injected (planned, then cancelled) was no session.
            if record.injected
        ]
        # Later procedures on the same local date belong to this day's session: the rules need
        # them for one TPI code per day (same_day_procedure) and the day's regions.
        day = local_date(mine.performed_at)
        later_same_day = [
            PriorProcedure(
                performed_at=record.performed_at,
                sites=tuple(PriorSite(muscle=m, side=s) for m, s in record.injected),
            )
            for record in history
            if record.performed_at > mine.performed_at
            and record.id != procedure_id
            and record.injected
            and local_date(record.performed_at) == day
        ]
        return tuple(reversed(priors)) + tuple(later_same_day)

    def document(self, procedure_id: int) -> ProcedureDocument:
        """Patient + procedure + prior procedures: what the rules, the note and export use. The
        prior procedures are the sessions the procedure's document reported when it was imported
        (in that order), then the earlier procedures in this database on other dates."""
        self._require("view")
        record = self._record(procedure_id)
        # A signed note keeps the patient and the earlier sessions it was signed with: its hash
        # covers the patient, and its acknowledged warnings came from those sessions.
        snapshot = self._store.procedures.signed_snapshot(procedure_id)
        if snapshot is None or record.procedure.status != "signed":
            current = self._store.patients.get(record.patient_id)
            if current is None:  # pragma: no cover - a foreign key guarantees it
                raise NotFound(f"patient {record.patient_id} does not exist")
            patient, priors = current.patient, None
        else:
            patient, priors = snapshot.patient, snapshot.prior_procedures
        return ProcedureDocument(
            format=FORMAT_ID,
            patient=patient,
            procedure=record.procedure,
            prior_procedures=self._history_for_document(procedure_id) if priors is None else priors,
        )

    def _history_for_document(self, procedure_id: int) -> tuple[PriorProcedure, ...]:
        reported = self._store.procedures.reported_history(procedure_id)
        reported_at = {prior.performed_at for prior in reported}
        stored = self.prior_procedures(procedure_id)
        return reported + tuple(p for p in stored if p.performed_at not in reported_at)

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
        if record.procedure.status == "signed":
            raise ProcedureLocked(locked_message(procedure_id, record.procedure))
        if record.procedure.status == "external":
            raise ProcedureLocked(
                f"procedure {procedure_id} was signed elsewhere and imported as a read-only "
                "record; it cannot be changed"
            )
        void = self._store.procedures.void_of(procedure_id)
        if void is not None:
            raise ProcedureLocked(
                f"procedure {procedure_id} was voided by {void.voided_by} ({void.reason}); "
                "it cannot be changed"
            )
        return record

    def create(self, patient_id: int, procedure: Procedure) -> StoredProcedure:
        """Store a new procedure with its preparations and sites (a signed one is stored signed,
        as on import)."""
        self._require(*_creation_actions(procedure))
        if self._store.patients.get(patient_id) is None:
            raise NotFound(f"patient {patient_id} does not exist")
        return _stored(self._store.procedures.add(patient_id, procedure, self._user))

    def copy_forward(self, patient_id: int, performed_at: datetime) -> StoredProcedure:
        """A new planned procedure from the patient's latest one: its sites become planned
        (muscle, side, view, x/y, preparation and volume kept; no twitch, findings or times), its
        preparations are copied without lot and expiry; coverage (the patient's, else the last
        visit's), diagnoses, indication, history, position, prep, needle and technique carried
        over. Consent, safety screen, time-out and outcomes are never copied.
        Without an earlier procedure: an empty planned procedure."""
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
        preparations = tuple(
            Preparation(
                id=prep.id,
                label=prep.label,
                components=tuple(
                    Component(
                        agent=c.agent,
                        concentration=c.concentration,
                        volume_ml=c.volume_ml,
                        ndc=c.ndc,
                        container=c.container,
                        container_ml=c.container_ml,
                    )
                    for c in prep.components
                ),
            )
            for prep in last.preparations
        )
        sites = tuple(
            Site(
                muscle=site.muscle,
                side=site.side,
                state="planned",
                view=site.view,
                x=site.x,
                y=site.y,
                preparation=site.preparation,
                volume_ml=site.volume_ml,
                dry_needling=site.dry_needling,
            )
            for site in last.sites
        )
        procedure = Procedure(
            performed_at=performed_at,
            status="planned",
            payer_profile=coverage or last.payer_profile,
            diagnoses=last.diagnoses,
            indication=last.indication,
            history=last.history,
            # How this clinic does it, shown on the checklist to change: not attestations.
            position=last.position,
            skin_prep=last.skin_prep,
            needle=last.needle,
            technique=last.technique,
            image_guidance=last.image_guidance,
            preparations=preparations,
            sites=sites,
        )
        return self.create(patient_id, procedure)

    @contextmanager
    def _stale_as_domain_error(
        self, procedure_id: int, base: StoredProcedure | None
    ) -> Iterator[None]:
        try:
            yield
        except StaleRecord as error:
            if base is None:  # pragma: no cover - only a versioned write can be stale
                raise
            raise _stale_procedure(base, self._record(procedure_id)) from error

    def _check_base(self, record: ProcedureRecord, base: StoredProcedure | None) -> None:
        if base is not None and base.version != record.version:
            raise _stale_procedure(base, record)

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
            return _stored(
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
            return _stored(
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
        site = with_location(site)
        with self._locked_as_domain_error(procedure_id):
            return _stored_site(self._store.procedures.add_site(procedure_id, site, self._user))

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
        site = with_location(site, current.site)
        expected = None if base is None else base.version
        try:
            with self._locked_as_domain_error(current.procedure_id):
                return _stored_site(
                    self._store.procedures.update_site(site_id, site, self._user, expected)
                )
        except StaleRecord as error:
            assert base is not None
            raise self._stale_site(base, self._site_record(site_id)) from error

    def _stale_site(self, base: StoredSite, current: SiteRecord) -> StaleEdit:
        return StaleEdit(
            f"site {current.number}",
            changed_fields(
                "site", base.site.model_dump(mode="json"), current.site.model_dump(mode="json")
            ),
        )

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
            return _stored_site(current)
        # Its preparation may have been replaced since the site was removed.
        self._check_preparation(record, current.site)
        with self._locked_as_domain_error(current.procedure_id):
            return _stored_site(self._store.procedures.set_site_removed(site_id, False, self._user))

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
            return _stored(
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
        return _stored(self._store.procedures.add_addendum(procedure_id, addendum, self._user))

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
