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


class BillingMuscle(_Data):
    """The named muscle a coder counts for 20552/20553 (upper trapezius → trapezius)."""

    id: str
    name: str
    source: str


class Muscle(_Data):
    id: str
    name: str
    region: str
    icd10_hint: str
    risks: tuple[RiskFlag, ...] = ()
    billing_muscle: BillingMuscle | None = None
    midline: bool = False

    @property
    def billing_id(self) -> str:
        return self.billing_muscle.id if self.billing_muscle else self.id

    @property
    def billing_name(self) -> str:
        return self.billing_muscle.name if self.billing_muscle else self.name

    #: Other names a clinician types for it (abbreviations such as SCM, QL): the muscle picker.
    synonyms: tuple[str, ...] = ()

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


class LabelCaution(_Data):
    """A label point raised as `drug_label_caution` whenever the product is injected into muscle
    (a TPI is intramuscular). `concentration_mg_per_ml` None: every strength."""

    id: str
    concentration_mg_per_ml: float | None = None
    message: str
    source: str
    verified: bool


AgentClass = Literal["local_anesthetic", "corticosteroid", "nsaid", "diluent", "other"]
ChemicalClass = Literal["amide", "ester"]


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
    chemical_class: ChemicalClass | None = None
    label_cautions: tuple[LabelCaution, ...] = ()


class ResponseThreshold(_Data):
    """Relief (%) that counts as a response when the payer profile sets none."""

    relief_percent: int = Field(ge=0, le=100)
    source: str


class NearMax(_Data):
    """Fraction of the maximum local anesthetic dose at which the rules start to warn."""

    fraction: float = Field(gt=0, le=1)
    source: str


class CrossReactivity(_Data):
    classes: tuple[ChemicalClass, ...]
    verified: bool
    source: str


class Pediatric(_Data):
    under_age_years: int = Field(gt=0)
    source: str


class SiteCaution(_Data):
    """The muscle risk flag that makes a corticosteroid into that muscle a label caution."""

    flag: str
    source: str


class FormularyRules(_Data):
    cross_reactivity: CrossReactivity
    pediatric: Pediatric
    corticosteroid_site_caution: SiteCaution


class DiagnosisRegions(_Data):
    """The regions a diagnosis code (or code prefix) supports; None: any region."""

    code: str
    regions: tuple[str, ...] | None
    verified: bool
    source: str


class NonCoverageModifiers(_Data):
    on_file: str
    not_on_file: str
    verified: bool
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
    image_guidance_covered: bool = True
    image_guidance_source: str | None = None
    dry_needling_covered: bool = True
    dry_needling_source: str | None = None
    ndc_required: bool = False
    ndc_source: str | None = None
    discarded_drug_modifiers: bool = False
    discarded_drug_source: str | None = None
    non_coverage_modifiers: NonCoverageModifiers | None = None


class Catalog(_Data):
    regions: dict[str, Region]
    muscles: dict[str, Muscle]
    unspecified_name: str
    unspecified_message: str
    agents: dict[str, Agent]
    anesthetic_near_max: NearMax
    response: ResponseThreshold
    payers: dict[str, PayerProfile]
    formulary_rules: FormularyRules
    diagnosis_regions: tuple[DiagnosisRegions, ...] = ()

    def muscle_name(self, muscle_id: str) -> str:
        if muscle_id == UNSPECIFIED:
            return self.unspecified_name
        return self.muscles[muscle_id].name

    def region_of(self, muscle_id: str) -> str | None:
        muscle = self.muscles.get(muscle_id)
        return muscle.region if muscle else None

    def regions_supported_by(self, code: str) -> DiagnosisRegions | None:
        """The longest entry whose code starts the diagnosis (M54.5 for M54.50), if any."""
        matches = [entry for entry in self.diagnosis_regions if code.startswith(entry.code)]
        return max(matches, key=lambda entry: len(entry.code), default=None)


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
        formulary_rules=FormularyRules.model_validate(
            {key: formulary_doc[key] for key in FormularyRules.model_fields}
        ),
        diagnosis_regions=tuple(
            DiagnosisRegions.model_validate(entry)
            for entry in _read_json(resource_path("catalog/diagnosis_regions.json"))["diagnoses"]
        ),
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
