"""A patient's earlier sessions as the rules and the note see them, the document a procedure is
exported as, and a new visit copied forward from the last one.

Reads through the store and builds values; the permission checks stay with the
`ChartingService` methods that call these ("view", "plan").
"""

from __future__ import annotations

from datetime import datetime

from tpi_chart.domain.fields import PayerId
from tpi_chart.domain.localdates import local_date
from tpi_chart.domain.models import (
    FORMAT_ID,
    Component,
    Preparation,
    PriorProcedure,
    PriorSite,
    Procedure,
    ProcedureDocument,
    Site,
)
from tpi_chart.services.errors import NotFound
from tpi_chart.storage.interfaces import HistoryRecord, ProcedureRecord, Store


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


def prior_procedures(store: Store, current: ProcedureRecord) -> tuple[PriorProcedure, ...]:
    """The patient's procedures performed before `current` (signed or not) in which something
    was injected, newest first, each with its injected sites. The relief after a procedure
    is recorded at the next visit: the latest prior's relief is this procedure's
    `prior_relief_percent`/`_weeks`, an older one's that of the procedure that followed it."""
    procedure_id = current.id
    history = store.procedures.history(current.patient_id)
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


def procedure_document(store: Store, record: ProcedureRecord) -> ProcedureDocument:
    """Patient + procedure + prior procedures: what the rules, the note and export use. The
    prior procedures are the sessions the procedure's document reported when it was imported
    (in that order), then the earlier procedures in this database on other dates."""
    # A signed note keeps the patient and the earlier sessions it was signed with: its hash
    # covers the patient, and its acknowledged warnings came from those sessions.
    snapshot = store.procedures.signed_snapshot(record.id)
    if snapshot is None or record.procedure.status != "signed":
        current = store.patients.get(record.patient_id)
        if current is None:  # pragma: no cover - a foreign key guarantees it
            raise NotFound(f"patient {record.patient_id} does not exist")
        patient, priors = current.patient, None
    else:
        patient, priors = snapshot.patient, snapshot.prior_procedures
    if priors is None:
        reported = store.procedures.reported_history(record.id)
        reported_at = {prior.performed_at for prior in reported}
        stored = prior_procedures(store, record)
        priors = reported + tuple(p for p in stored if p.performed_at not in reported_at)
    return ProcedureDocument(
        format=FORMAT_ID, patient=patient, procedure=record.procedure, prior_procedures=priors
    )


def copied_forward(last: Procedure, performed_at: datetime, coverage: PayerId | None) -> Procedure:
    """A new planned procedure from `last`: its sites become planned (muscle, side, view, x/y,
    preparation and volume kept; no twitch, findings or times), its preparations are copied
    without lot and expiry; coverage (the patient's, else the last visit's), diagnoses,
    indication, history, position, prep, needle and technique carried over. Consent, safety
    screen, time-out and outcomes are never copied."""
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
    return Procedure(
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
