"""The code catalog (`resources/catalog/codes.json`): SNOMED CT body structures and laterality,
CPT, RxNorm, LOINC. A code the catalog marks unverified is never sent as a code: the builders
send text instead, so a record system is not told something nobody could confirm."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from tpi_chart.domain.resources import resource_path


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Systems(_Data):
    snomed: str
    cpt: str
    hcpcs: str
    icd10cm: str
    loinc: str
    rxnorm: str
    ndc: str
    ucum: str
    route_v3: str


class SnomedCode(_Data):
    snomed: str | None
    display: str
    verified: bool
    source: str
    specificity: str | None = None

    @property
    def usable(self) -> str | None:
        """The code when it may be sent (present and verified), else None."""
        return self.snomed if self.verified else None


class Laterality(_Data):
    attribute: SnomedCode
    left: SnomedCode
    right: SnomedCode
    bilateral: SnomedCode


class ProcedureCode(_Data):
    display: str
    verified: bool
    source: str


class Route(_Data):
    v3: str
    hl7v2: str
    display: str
    verified: bool
    source: str


class LoincCode(_Data):
    loinc: str | None
    display: str
    verified: bool
    source: str

    @property
    def usable(self) -> str | None:
        return self.loinc if self.verified else None


class StrengthCode(_Data):
    rxnorm: str | None
    verified: bool
    source: str


class AgentCode(_Data):
    rxnorm: str | None
    display: str
    level: str
    verified: bool
    source: str
    note: str | None = None
    strengths: dict[str, StrengthCode]

    @property
    def usable(self) -> str | None:
        return self.rxnorm if self.verified else None


class Codes(_Data):
    systems: Systems
    laterality: Laterality
    procedures: dict[str, ProcedureCode]
    route: dict[str, Route]
    observations: dict[str, LoincCode]
    muscles: dict[str, SnomedCode]
    agents: dict[str, AgentCode]

    def side(self, side: str) -> SnomedCode | None:
        """The laterality qualifier of a site's side (a midline site has none)."""
        if side == "left":
            return self.laterality.left
        if side == "right":
            return self.laterality.right
        if side == "bilateral":
            return self.laterality.bilateral
        return None


@cache
def load_codes() -> Codes:
    data: dict[str, Any] = json.loads(
        resource_path("catalog/codes.json").read_text(encoding="utf-8")
    )
    data.pop("_about", None)
    return Codes.model_validate(data)
