"""The values the charting services hand out (a stored procedure, site, stroke, a patient's
procedure list row) and the checks shared by `ChartingService` and `ChartingOps`: one place for
what a valid site, a locked procedure and the role an edit needs mean."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tpi_chart.domain.errors import describe_validation_error
from tpi_chart.domain.models import PainStroke, Procedure, Site
from tpi_chart.services.access import Action
from tpi_chart.services.errors import InvalidInput, ProcedureLocked, StaleEdit, changed_fields
from tpi_chart.storage.interfaces import ProcedureRecord, SiteRecord, Store, VoidRecord


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


def stored(record: ProcedureRecord) -> StoredProcedure:
    return StoredProcedure(
        record.id,
        record.patient_id,
        record.procedure,
        record.site_ids,
        record.version,
        record.site_versions,
    )


def last_author(
    store: Store, patient_id: int, procedure_id: int | None = None
) -> tuple[str, datetime] | None:
    """Who (their display name) last changed the patient's record or this procedure, and when:
    what a refused stale save names ("changed by Dr. Chen at 10:42")."""
    found = store.audit.last_change(patient_id, procedure_id)
    if found is None:
        return None
    username, at = found
    account = store.users.get(username)
    return (account.display_name if account is not None else username), at


def stored_site(record: SiteRecord) -> StoredSite:
    return StoredSite(record.id, record.number, record.site, record.version)


_HEADER_ONLY = {"sites", "signature", "addenda"}


def stale_procedure(base: StoredProcedure, current: ProcedureRecord) -> StaleEdit:
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


def voided_text(void: VoidRecord | None) -> str | None:
    """Who voided a procedure and why, as the refusals say it; None when it is not voided."""
    return None if void is None else f"{void.voided_by} ({void.reason})"


def check_unlocked(procedure_id: int, procedure: Procedure, voided: str | None) -> None:
    """ProcedureLocked when the procedure cannot be changed: signed here, signed elsewhere
    (an imported record), or voided (`voided`: `voided_text`)."""
    if procedure.status == "signed":
        raise ProcedureLocked(locked_message(procedure_id, procedure))
    if procedure.status == "external":
        raise ProcedureLocked(
            f"procedure {procedure_id} was signed elsewhere and imported as a read-only "
            "record; it cannot be changed"
        )
    if voided is not None:
        raise ProcedureLocked(
            f"procedure {procedure_id} was voided by {voided}; it cannot be changed"
        )


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


def creation_actions(procedure: Procedure) -> tuple[Action, ...]:
    actions: list[Action] = ["plan"]
    if procedure.time_out is not None or any(s.state != "planned" for s in procedure.sites):
        actions.append("chart")
    if procedure.signature is not None:
        actions.append("sign")
    return tuple(actions)
