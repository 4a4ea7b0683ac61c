"""The catalog: regions, muscles, formulary and payer profiles, read from resources/.

Everything clinical or numeric lives in those data files so a clinic can review or tighten it
without touching code. This module only loads and indexes them; a clinic's own additions come on
top (`tpi_chart.domain.clinic_overlay`).

Which catalog is in force is decided once, by whoever starts the program (`use_catalog`, called
with the shipped catalog plus the clinic folder); validation and the rules take a catalog as an
argument (`validation_context`, `evaluate(catalog=...)`) and fall back to the one in force.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tpi_chart.domain.resources import resource_path

UNSPECIFIED = "unspecified"


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Region(_Data):
    id: str
    name: str
    icd10_hint: str


class RiskFlag(_Data):
    flag: str
    message: str
    source: str | None = None
    verified: bool


class Muscle(_Data):
    id: str
    name: str
    region: str
    icd10_hint: str
    risks: tuple[RiskFlag, ...] = ()

    @property
    def pneumothorax_risk(self) -> bool:
        return any(risk.flag == "pneumothorax" for risk in self.risks)


class MaxDose(_Data):
    mg_per_kg: float | None = Field(gt=0)
    max_mg: float = Field(gt=0)
    verified: bool
    source: str


class HcpcsUnit(_Data):
    code: str
    unit_mg: float = Field(gt=0)
    verified: bool
    source: str


class Equivalence(_Data):
    factor: float = Field(ge=0)
    verified: bool
    source: str


AgentClass = Literal["local_anesthetic", "corticosteroid", "nsaid", "diluent", "other"]


class Agent(_Data):
    id: str
    name: str
    agent_class: AgentClass = Field(alias="class")
    parent: str | None = None
    allergy_classes: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    strengths: tuple[str, ...] = ()
    max_dose: MaxDose | None = None
    hcpcs: HcpcsUnit | None = None
    methylprednisolone_equivalent_per_mg: Equivalence | None = None


class ResponseThreshold(_Data):
    """Relief (%) that counts as a response when the payer profile sets none."""

    relief_percent: int = Field(ge=0, le=100)
    source: str


class NearMax(_Data):
    """Fraction of the maximum local anesthetic dose at which the rules start to warn."""

    fraction: float = Field(gt=0, le=1)
    source: str


class PayerProfile(_Data):
    id: str
    name: str
    effective: str
    source: str | None = None
    bilateral_counts_as_two: bool = True
    max_sessions_per_365_days: int | None = None
    min_days_same_muscle_side: int | None = None
    min_relief_percent_for_repeat: int | None = None
    min_relief_weeks_for_repeat: int | None = None
    max_regions_per_session: int | None = None
    covered_diagnoses: tuple[str, ...] | None = None
    anesthetic_billable: bool = False


class Catalog(_Data):
    regions: dict[str, Region]
    muscles: dict[str, Muscle]
    unspecified_name: str
    unspecified_message: str
    agents: dict[str, Agent]
    anesthetic_near_max: NearMax
    response: ResponseThreshold
    payers: dict[str, PayerProfile]

    def muscle_name(self, muscle_id: str) -> str:
        if muscle_id == UNSPECIFIED:
            return self.unspecified_name
        return self.muscles[muscle_id].name

    def region_of(self, muscle_id: str) -> str | None:
        muscle = self.muscles.get(muscle_id)
        return muscle.region if muscle else None


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def load_payer_profiles(directory: Path) -> dict[str, PayerProfile]:
    profiles: dict[str, PayerProfile] = {}
    for path in sorted(directory.glob("*.json")):
        profile = PayerProfile.model_validate(_read_json(path))
        profiles[profile.id] = profile
    return profiles


#: The key under which model validation finds the catalog to check ids against.
CATALOG_CONTEXT_KEY = "catalog"


def read_shipped_catalog() -> Catalog:
    """The catalog as shipped, read from the files each time (nothing cached here)."""
    muscles_doc = _read_json(resource_path("catalog/muscles.json"))
    formulary_doc = _read_json(resource_path("catalog/formulary.json"))
    regions = {r["id"]: Region.model_validate(r) for r in muscles_doc["regions"]}
    muscles = {m["id"]: Muscle.model_validate(m) for m in muscles_doc["muscles"]}
    agents = {a["id"]: Agent.model_validate(a) for a in formulary_doc["agents"]}
    return Catalog(
        regions=regions,
        muscles=muscles,
        unspecified_name=muscles_doc["unspecified"]["name"],
        unspecified_message=muscles_doc["unspecified"]["message"],
        agents=agents,
        anesthetic_near_max=NearMax.model_validate(formulary_doc["anesthetic_near_max"]),
        response=ResponseThreshold.model_validate(
            {
                k: v
                for k, v in _read_json(resource_path("catalog/response.json")).items()
                if k != "_about"
            }
        ),
        payers=load_payer_profiles(resource_path("payers")),
    )


_in_force: Catalog | None = None


def use_catalog(catalog: Catalog) -> None:
    """Put `catalog` in force for everything that does not receive one explicitly (the window's
    widgets, the notes). The program's entry point calls it once with the clinic's catalog."""
    global _in_force
    _in_force = catalog


def load_catalog() -> Catalog:
    """The catalog in force: the one given to `use_catalog`, else the shipped one."""
    global _in_force
    if _in_force is None:
        _in_force = read_shipped_catalog()
    return _in_force


def validation_context(catalog: Catalog) -> dict[str, Catalog]:
    """`Model.model_validate(data, context=validation_context(catalog))` checks muscle, agent
    and payer ids against `catalog` rather than the one in force."""
    return {CATALOG_CONTEXT_KEY: catalog}


def catalog_versions() -> dict[str, str]:
    """Each shipped catalog file and payer profile with a short digest of its content: two
    installs with the same digests apply the same rules data."""
    return {
        f"{folder}/{path.name}": _digest(path)
        for folder in ("catalog", "payers")
        for path in sorted(resource_path(folder).glob("*.json"))
    }


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def muscle_ids() -> frozenset[str]:
    return frozenset(load_catalog().muscles) | {UNSPECIFIED}
