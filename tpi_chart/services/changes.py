"""What an operation returns (`Changes`) and the open procedure the operations hold between
clicks (`OpenProcedure`): the values of `services.operations`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tpi_chart.domain.models import FORMAT_ID, Patient, PriorProcedure, Procedure, ProcedureDocument
from tpi_chart.domain.rules import Evaluation
from tpi_chart.services.procedure_values import StoredProcedure, StoredSite
from tpi_chart.storage.interfaces import SiteRecord

Part = Literal["sites", "header", "status", "time_out", "all"]


@dataclass(frozen=True)
class Changes:
    """What one operation changed. `sites`: the rows added, changed or restored (stored, with
    their new versions); `removed`: ids no longer shown; `procedure`: the whole procedure after
    the change (header, sites in number order); `evaluation`: the rules on it."""

    procedure_id: int
    parts: frozenset[Part]
    procedure: StoredProcedure
    evaluation: Evaluation | None  # None while the rules cannot read the chart yet
    sites: tuple[StoredSite, ...] = ()
    removed: tuple[int, ...] = ()

    @property
    def status_changed(self) -> bool:
        return "status" in self.parts

    @property
    def site(self) -> StoredSite | None:
        """The one site a site operation changed (None for the others)."""
        return self.sites[0] if len(self.sites) == 1 else None


@dataclass
class OpenProcedure:
    """The open procedure as stored: the header at `version`, the shown sites in number order,
    the removed ones (a restore brings them back), and what its evaluation needs."""

    id: int
    patient_id: int
    patient: Patient
    procedure: Procedure  # its `sites` are not kept up to date here: `sites` is
    version: int
    sites: list[SiteRecord]
    removed: dict[int, SiteRecord] = field(default_factory=dict)
    priors: tuple[PriorProcedure, ...] = ()
    voided: str | None = None

    def stored(self) -> StoredProcedure:
        return StoredProcedure(
            self.id,
            self.patient_id,
            self.procedure.model_copy(update={"sites": tuple(r.site for r in self.sites)}),
            tuple(r.id for r in self.sites),
            self.version,
            tuple(r.version for r in self.sites),
        )

    def document(self, stored: StoredProcedure) -> ProcedureDocument:
        return ProcedureDocument(
            format=FORMAT_ID,
            patient=self.patient,
            procedure=stored.procedure,
            prior_procedures=self.priors,
        )

    def index(self, site_id: int) -> int | None:
        return next((i for i, r in enumerate(self.sites) if r.id == site_id), None)
