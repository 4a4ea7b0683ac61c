"""What the rules return: the fixed warning vocabulary, the CPT codes and the frozen result
models of an :class:`Evaluation`."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

WarningCode = Literal[
    "anesthetic_dose_over_max",
    "anesthetic_dose_near_max",
    "weight_missing",
    "ptx_risk_site",
    "allergy_conflict",
    "anticoagulated",
    "expired_lot",
    "muscle_unspecified",
    "sessions_per_year_exceeded",
    "repeat_interval_short",
    "repeat_without_relief",
    "multi_region",
    "diagnosis_not_covered",
    "pain_score_missing",
    "dry_needling_not_tpi",
    "same_day_procedure",
    "pediatric_patient",
    "allergy_cross_reactivity",
    "drug_label_caution",
    "image_guidance_not_covered",
    "diagnosis_site_mismatch",
    "relief_exceeds_interval",
    "volume_exceeds_drawn",
]


# The fixed vocabulary, in the order of product.md §6; warnings are emitted in this order.
WARNING_CODES: tuple[WarningCode, ...] = get_args(WarningCode)


CPT_FEW_MUSCLES: Literal["20552"] = "20552"  # 1 or 2 muscles (clinical-reference §2.1)


CPT_MANY_MUSCLES: Literal["20553"] = "20553"  # 3 or more muscles


CPT_DRY_FEW: Literal["20560"] = "20560"  # needle insertion without injection, 1-2 muscles (§2.2)


CPT_DRY_MANY: Literal["20561"] = "20561"  # 3 or more muscles


MANY_MUSCLES_FROM = 3


Cpt = Literal["20552", "20553", "20560", "20561"]


#: Warnings that predict the payer will not pay: with one open, the claim lines carry the payer's
#: non-coverage modifier (GA with an ABN on file, GZ without).
COVERAGE_CODES: frozenset[WarningCode] = frozenset(
    {
        "sessions_per_year_exceeded",
        "repeat_interval_short",
        "repeat_without_relief",
        "multi_region",
        "diagnosis_not_covered",
        "image_guidance_not_covered",
        "diagnosis_site_mismatch",
    }
)


#: A claim line points to at most four diagnoses (CMS-1500 item 24E).
MAX_DIAGNOSIS_POINTERS = 4


#: The payers' "rolling 12 months": the procedure date and the 364 days before it.
ROLLING_YEAR_DAYS = 365


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleWarning(_Out):
    code: WarningCode
    message: str
    sites: tuple[int, ...] = ()


class Note(_Out):
    """Something worth knowing that is not in the fixed warning vocabulary."""

    message: str
    sites: tuple[int, ...] = ()


class Amount(_Out):
    agent: str
    mg: float
    ml: float


class AgentTotal(_Out):
    agent: str
    name: str
    agent_class: str
    mg: float
    ml: float


class SiteResult(_Out):
    number: int
    muscle: str
    muscle_name: str
    side: str
    state: str
    region: str | None
    preparation: str | None
    volume_ml: float | None
    ptx_risk: bool
    doses: tuple[Amount, ...]
    dry_needling: bool = False


class HcpcsLine(_Out):
    code: str
    units: int
    agent: str
    mg: float
    unit_mg: float
    verified: bool


class AnestheticAgent(_Out):
    agent: str
    mg: float
    max_mg: float
    mg_per_kg: float | None
    cap_mg: float
    weight_based: bool
    percent_of_max: float
    verified: bool
    source: str


class Anesthetic(_Out):
    percent_of_max: float
    max_mg: dict[str, float]
    weight_kg: float | None
    verified: bool
    agents: tuple[AnestheticAgent, ...]


class PreparationUse(_Out):
    id: str
    drawn_ml: float
    given_ml: float
    remaining_ml: float
    sites: tuple[int, ...]


class ClaimLine(_Out):
    """One line of the claim: the procedure code or a drug (HCPCS) with its modifiers."""

    kind: Literal["cpt", "hcpcs"]
    code: str
    units: int
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = ()  # 1-based positions in `procedure.diagnoses`
    agent: str | None = None
    mg: float | None = None
    ndc: str | None = None
    discarded: bool = False  # the JW line: drug discarded from a single-dose container


class Billing(_Out):
    lines: tuple[ClaimLine, ...]
    diagnoses: tuple[str, ...]
    coverage_warnings: tuple[str, ...]
    # GA or GZ on every line when a coverage warning is open and the ABN question is answered;
    # `abn_needed` when one is open and it is not.
    non_coverage_modifier: str | None
    abn_needed: bool
    dry_needled_muscles: tuple[str, ...]
    problems: tuple[str, ...]


class Unverified(_Out):
    kind: Literal[
        "max_dose",
        "hcpcs_unit",
        "steroid_equivalence",
        "risk_flag",
        "cross_reactivity",
        "label_caution",
        "diagnosis_region",
        "modifier",
    ]
    subject: str
    value: str
    source: str


class Evaluation(_Out):
    valid: Literal[True] = True
    payer_profile: str
    muscle_count: int
    regions: tuple[str, ...]
    cpt: Cpt | None
    hcpcs: tuple[HcpcsLine, ...]
    totals: tuple[AgentTotal, ...]
    anesthetic: Anesthetic
    steroid_mp_equivalent_mg: float
    preparations: tuple[PreparationUse, ...]
    sites: tuple[SiteResult, ...]
    warnings: tuple[RuleWarning, ...]
    notes: tuple[Note, ...]
    unverified: tuple[Unverified, ...]
    dry_needled_muscle_count: int = 0
    billing: Billing | None = None

    @property
    def warning_codes(self) -> tuple[str, ...]:
        return tuple(warning.code for warning in self.warnings)
