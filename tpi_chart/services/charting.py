"""Charting a procedure: create, copy forward, header changes, preparations and sites.

Every write is committed (and audited under the service's user) before the method returns. A
signed procedure refuses every change with `ProcedureLocked`; corrections are addenda.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.diagram import with_location
from tpi_chart.domain.errors import describe_validation_error
from tpi_chart.domain.models import (
    FORMAT_ID,
    Addendum,
    Component,
    Preparation,
    PriorProcedure,
    PriorSite,
    Procedure,
    ProcedureDocument,
    Signature,
    Site,
)
from tpi_chart.services.errors import InvalidInput, NotFound, ProcedureLocked
from tpi_chart.storage.errors import SignedRecord
from tpi_chart.storage.interfaces import ProcedureRecord, SiteRecord, Store

#: Fields `update()` does not change: they have their own methods.
_NOT_HEADER = {
    "sites": "use add_site/update_site/remove_site",
    "preparations": "use set_preparations",
    "signature": "sign the procedure instead",
    "addenda": "add an addendum instead",
}


@dataclass(frozen=True)
class StoredSite:
    id: int
    number: int  # 1-based charting order among the non-removed sites
    site: Site


@dataclass(frozen=True)
class StoredProcedure:
    id: int
    patient_id: int
    procedure: Procedure  # sites: the non-removed ones in number order
    site_ids: tuple[int, ...]  # aligned with procedure.sites


@dataclass(frozen=True)
class ProcedureSummary:
    id: int
    patient_id: int
    performed_at: datetime
    status: str
    site_count: int
    injected_count: int


def _stored(record: ProcedureRecord) -> StoredProcedure:
    return StoredProcedure(record.id, record.patient_id, record.procedure, record.site_ids)


def _stored_site(record: SiteRecord) -> StoredSite:
    return StoredSite(record.id, record.number, record.site)


def _validate_procedure(data: dict[str, Any]) -> Procedure:
    try:
        return Procedure.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(describe_validation_error(error, "procedure.")) from error


def locked_message(procedure_id: int, procedure: Procedure) -> str:
    signature = procedure.signature
    who = f" by {signature.signed_by} on {signature.signed_at.isoformat()}" if signature else ""
    return f"procedure {procedure_id} is signed{who}; it cannot be changed, add an addendum instead"


class ChartingService:
    def __init__(self, store: Store, user: str) -> None:
        self._store = store
        self._user = user

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

    def list_for_patient(self, patient_id: int) -> list[ProcedureSummary]:
        """The patient's procedures, newest first."""
        return [
            ProcedureSummary(
                s.id, s.patient_id, s.performed_at, s.status, s.site_count, s.injected_count
            )
            for s in self._store.procedures.list_for_patient(patient_id)
        ]

    def get(self, procedure_id: int) -> StoredProcedure:
        return _stored(self._record(procedure_id))

    def sites(self, procedure_id: int) -> list[StoredSite]:
        self._record(procedure_id)
        return [_stored_site(r) for r in self._store.procedures.sites(procedure_id)]

    def prior_procedures(self, procedure_id: int) -> tuple[PriorProcedure, ...]:
        """The patient's procedures performed before this one (signed or not) in which something
        was injected, newest first, each with its injected sites. The relief after a procedure
        is recorded at the next visit: the latest prior's relief is this procedure's
        `prior_relief_percent`/`_weeks`, an older one's that of the procedure that followed it."""
        current = self._record(procedure_id)
        history = self._store.procedures.history(current.patient_id)
        mine = next(record for record in history if record.id == procedure_id)
        chain = [
            record
            for record in history
            if record.id == procedure_id or record.performed_at < mine.performed_at
        ]
        priors = [
            PriorProcedure(
                performed_at=record.performed_at,
                relief_percent=chain[index + 1].prior_relief_percent,
                relief_weeks=chain[index + 1].prior_relief_weeks,
                sites=tuple(PriorSite(muscle=m, side=s) for m, s in record.injected),
            )
            for index, record in enumerate(chain[:-1])
            # A visit where nothing was injected (planned, then cancelled) was no session.
            if record.injected
        ]
        return tuple(reversed(priors))

    def document(self, procedure_id: int) -> ProcedureDocument:
        """Patient + procedure + prior procedures: what the rules, the note and export use. The
        prior procedures are the sessions the procedure's document reported when it was imported
        (in that order), then the earlier procedures in this database on other dates."""
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
        return record

    def create(self, patient_id: int, procedure: Procedure) -> StoredProcedure:
        """Store a new procedure with its preparations and sites (a signed one is stored signed,
        as on import)."""
        if self._store.patients.get(patient_id) is None:
            raise NotFound(f"patient {patient_id} does not exist")
        return _stored(self._store.procedures.add(patient_id, procedure, self._user))

    def copy_forward(self, patient_id: int, performed_at: datetime) -> StoredProcedure:
        """A new planned procedure from the patient's latest one: its sites become planned
        (muscle, side, view, x/y, preparation and volume kept; no twitch, findings or times), its
        preparations are copied without lot and expiry, payer and diagnoses carried over.
        Without an earlier procedure: an empty planned procedure."""
        summaries = self._store.procedures.list_for_patient(patient_id)
        if self._store.patients.get(patient_id) is None:
            raise NotFound(f"patient {patient_id} does not exist")
        if not summaries:
            return self.create(patient_id, Procedure(performed_at=performed_at, status="planned"))
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
            )
            for site in last.sites
        )
        procedure = Procedure(
            performed_at=performed_at,
            status="planned",
            payer_profile=last.payer_profile,
            diagnoses=last.diagnoses,
            indication=last.indication,
            preparations=preparations,
            sites=sites,
        )
        return self.create(patient_id, procedure)

    def update(self, procedure_id: int, changes: dict[str, Any]) -> StoredProcedure:
        """Change header fields (pain, checklist, consent, time-out, status planned ⇄
        in_progress, complications…). Validated through the model: bad values raise
        InvalidInput with one `procedure.<field>: …` line each, and nothing is stored."""
        record = self._unsigned(procedure_id)
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
        procedure = _validate_procedure(data)
        with self._locked_as_domain_error(procedure_id):
            return _stored(
                self._store.procedures.update_header(procedure_id, procedure, self._user)
            )

    def set_preparations(
        self, procedure_id: int, preparations: tuple[Preparation, ...]
    ) -> StoredProcedure:
        record = self._unsigned(procedure_id)
        data = record.procedure.model_dump()
        data["preparations"] = preparations
        procedure = _validate_procedure(data)
        with self._locked_as_domain_error(procedure_id):
            return _stored(
                self._store.procedures.set_preparations(
                    procedure_id, procedure.preparations, self._user
                )
            )

    def _check_preparation(self, record: ProcedureRecord, site: Site) -> None:
        ids = [p.id for p in record.procedure.preparations]
        if site.preparation is not None and site.preparation not in ids:
            allowed = ", ".join(ids) or "none defined"
            raise InvalidInput(
                [
                    f"site.preparation: {site.preparation!r} is not one of the preparations "
                    f"({allowed})"
                ]
            )

    def add_site(self, procedure_id: int, site: Site) -> StoredSite:
        record = self._unsigned(procedure_id)
        self._check_preparation(record, site)
        site = with_location(site)
        with self._locked_as_domain_error(procedure_id):
            return _stored_site(self._store.procedures.add_site(procedure_id, site, self._user))

    def update_site(self, site_id: int, site: Site) -> StoredSite:
        current = self._site_record(site_id)
        record = self._unsigned(current.procedure_id)
        self._check_preparation(record, site)
        site = with_location(site, current.site)
        with self._locked_as_domain_error(current.procedure_id):
            return _stored_site(self._store.procedures.update_site(site_id, site, self._user))

    def remove_site(self, site_id: int) -> None:
        """Soft delete: the row stays (removed = 1), audited; `restore_site` brings it back."""
        current = self._site_record(site_id)
        self._unsigned(current.procedure_id)
        if current.removed:
            return
        with self._locked_as_domain_error(current.procedure_id):
            self._store.procedures.set_site_removed(site_id, True, self._user)

    def restore_site(self, site_id: int) -> StoredSite:
        """Undo a removal: same id, same number as before it was removed."""
        current = self._site_record(site_id)
        record = self._unsigned(current.procedure_id)
        if not current.removed:
            return _stored_site(current)
        # Its preparation may have been replaced since the site was removed.
        self._check_preparation(record, current.site)
        with self._locked_as_domain_error(current.procedure_id):
            return _stored_site(self._store.procedures.set_site_removed(site_id, False, self._user))

    # ---- signing (storage-level; the user-facing rules live in services/signing.py) ----------
    def sign(self, procedure_id: int, signature: Signature) -> StoredProcedure:
        """Store a signature (status → signed). Checks only that the procedure is unsigned and
        that `signature.content_hash` is the document's content hash; required items and warning
        acknowledgements are the signing service's job."""
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
        record = self._record(procedure_id)
        if record.procedure.status != "signed":
            raise InvalidInput(["addendum: only a signed procedure takes addenda; edit it instead"])
        return _stored(self._store.procedures.add_addendum(procedure_id, addendum, self._user))
