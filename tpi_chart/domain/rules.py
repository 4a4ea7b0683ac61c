"""Clinical and billing rules for one procedure document (product.md §6).

Pure and data-driven: every number (maxima, unit sizes, payer limits, the near-maximum threshold)
comes from the catalog files in resources/, which cite clinical-reference.md. Values the reference
marks UNVERIFIED are flagged ``verified: false`` in the data and reported in ``unverified``.

Scope of each rule (product.md §6 is silent on planned sites):

* Placement and preparation safety (``ptx_risk_site``, ``muscle_unspecified``, ``allergy_conflict``,
  ``expired_lot``) look at every site, planned or injected: the physician must see them before the
  needle goes in.
* Doses, billing and the payer's per-site rules (CPT, HCPCS, totals, anesthetic maximum,
  ``multi_region``, ``repeat_interval_short``) count injected sites only.
* Procedure-level payer rules (``sessions_per_year_exceeded``, ``repeat_without_relief``,
  ``diagnosis_not_covered``) and ``anticoagulated``/``pain_score_missing`` apply whatever the sites.

Site numbers are 1-based positions in ``procedure.sites`` (planned and injected alike).
``evaluate`` never raises on a valid document: validation is the models' job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from tpi_chart.domain.catalog import UNSPECIFIED, Agent, Catalog, PayerProfile, load_catalog
from tpi_chart.domain.localdates import age_on, clinic_zone, local_date
from tpi_chart.domain.models import (
    PriorProcedure,
    Procedure,
    ProcedureDocument,
    Site,
)

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
_MANY_MUSCLES_FROM = 3
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

# Units are computed from the charted mg (rounded to 0.1 mg, as printed); the epsilon keeps float
# noise such as 4.000000001 units from rounding up to 5.
_UNIT_EPSILON = 1e-9
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


# --------------------------------------------------------------------------------------------
# Arithmetic


def round_half_up(value: float, places: int) -> float:
    """Round as people do (0.25 → 0.3), from the shortest decimal form of the float."""
    if not math.isfinite(value):
        return value
    quantum = Decimal(1).scaleb(-places)
    # Enough digits for any finite float: the default 28 fail on large values.
    context = Context(prec=400)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP, context=context))


def _mg(value: float) -> float:
    return round_half_up(value, 1)


def _ml(value: float) -> float:
    return round_half_up(value, 2)


def _num(value: float) -> str:
    return f"{value:g}"


def hcpcs_units(mg: float, unit_mg: float) -> int:
    """Billing units: charted mg (0.1 mg) ÷ unit size, rounded up (clinical-reference §2.9)."""
    return max(0, math.ceil(_mg(mg) / unit_mg - _UNIT_EPSILON))


@dataclass(frozen=True)
class _Dose:
    mg: float
    ml: float


def site_doses(procedure: Procedure) -> tuple[dict[str, _Dose], ...]:
    """Unrounded mg and mL of each agent delivered at each site (index-aligned with sites).

    A site's volume carries each component in proportion to the component's share of its
    preparation's total volume (product.md §5). Planned sites, and sites without a preparation or
    a volume, deliver nothing.
    """
    result: list[dict[str, _Dose]] = []
    # Each preparation's total and its components' strengths, worked out once per procedure
    # rather than once per site (a patient's ten-year history sums thousands of sites).
    parts: dict[str, tuple[float, list[tuple[str, float, float]]]] = {}
    for site in procedure.sites:
        doses: dict[str, _Dose] = {}
        preparation = procedure.preparation(site.preparation)
        if site.state == "injected" and preparation is not None and site.volume_ml is not None:
            known = parts.get(preparation.id)
            if known is None:
                known = parts[preparation.id] = (
                    preparation.total_volume_ml,
                    [(c.agent, c.volume_ml, c.mg_per_ml) for c in preparation.components],
                )
            total, components = known
            for agent, volume_ml, mg_per_ml in components:
                ml = site.volume_ml * volume_ml / total
                previous = doses.get(agent, _Dose(0.0, 0.0))
                doses[agent] = _Dose(previous.mg + ml * mg_per_ml, previous.ml + ml)
        result.append(doses)
    return tuple(result)


def agent_totals(procedure: Procedure) -> dict[str, _Dose]:
    """Unrounded totals per agent over injected sites."""
    totals: dict[str, _Dose] = {}
    for doses in site_doses(procedure):
        for agent, dose in doses.items():
            previous = totals.get(agent, _Dose(0.0, 0.0))
            totals[agent] = _Dose(previous.mg + dose.mg, previous.ml + dose.ml)
    return totals


# --------------------------------------------------------------------------------------------
# Allergy matching

_STOP_WORDS = frozenset(
    {"a", "an", "and", "the", "of", "to", "with", "hcl", "allergy", "allergic", "reaction"}
)


def _tokens(text: str) -> frozenset[str]:
    """Words of a drug or allergy name, lower case, singular, British 'anaesth' folded."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("anaesth", "anesth"))
    tokens: set[str] = set()
    for word in words:
        if word in _STOP_WORDS or word.isdigit():
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.add(word)
    return frozenset(tokens)


def _agent_terms(agent: Agent, catalog: Catalog) -> list[frozenset[str]]:
    names = [agent.id.replace("_", " "), agent.name, *agent.synonyms, *agent.allergy_classes]
    parent = catalog.agents.get(agent.parent) if agent.parent else None
    if parent is not None:
        names += [parent.id.replace("_", " "), parent.name, *parent.synonyms]
    return [terms for terms in (_tokens(name) for name in names) if terms]


def allergy_matches(allergy: str, agent: Agent, catalog: Catalog | None = None) -> bool:
    """Whether a recorded allergy names this agent, a synonym, its parent or its allergy class.

    Whole words are compared, so 'amide' matches 'amide local anesthetic' but 'sulfonamides' does
    not. A match is either every word of the allergy within one name of the agent ('amide
    anesthetics' ⊆ 'amide local anesthetic') or every word of a name within the allergy ('lidocaine
    and latex' ⊇ 'lidocaine').
    """
    words = _tokens(allergy)
    if not words:
        return False
    terms = _agent_terms(agent, catalog or load_catalog())
    return any(words <= term or term <= words for term in terms)


# --------------------------------------------------------------------------------------------
# Evaluation


def is_session(prior: PriorProcedure) -> bool:
    """A prior visit where nothing was injected (planned then cancelled, dry needling only) was
    no session: the same rule as the database history (`ChartingService.prior_procedures`)."""
    return bool(prior.sites)


@dataclass(frozen=True)
class _Context:
    document: ProcedureDocument
    catalog: Catalog
    payer: PayerProfile
    zone: tzinfo | None = None

    @property
    def procedure(self) -> Procedure:
        return self.document.procedure

    def day_of(self, moment: datetime) -> date:
        return local_date(moment, self.zone)

    @property
    def procedure_date(self) -> date:
        # The clinic's local date of the procedure (never the UTC date).
        return self.day_of(self.procedure.performed_at)

    def earlier_sessions(self) -> list[PriorProcedure]:
        # Prior procedures on the same local date belong to this session (LCD definition of a
        # session: everything done during one day; see same_day_sessions); later ones are not
        # history.
        return [
            prior
            for prior in self.document.prior_procedures
            if is_session(prior) and self.day_of(prior.performed_at) < self.procedure_date
        ]

    def same_day_sessions(self) -> list[PriorProcedure]:
        """The patient's other procedures on this local date in which something was injected."""
        return sorted(
            (
                prior
                for prior in self.document.prior_procedures
                if is_session(prior)
                and self.day_of(prior.performed_at) == self.procedure_date
                and prior.performed_at != self.procedure.performed_at
            ),
            key=lambda prior: prior.performed_at,
        )

    def clock(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone) if self.zone else moment.astimezone()
        return local.strftime("%H:%M")

    def describe_site(self, number: int) -> str:
        site = self.procedure.sites[number - 1]
        return f"{number} ({self.catalog.muscle_name(site.muscle)}, {site.side})"


def _site_list(numbers: Sequence[int]) -> str:
    return _join([str(number) for number in numbers])


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _sites_word(numbers: Sequence[int]) -> str:
    return "site" if len(numbers) == 1 else "sites"


def _numbered(sites: Iterable[Site]) -> list[tuple[int, Site]]:
    return list(enumerate(sites, start=1))


def evaluate(
    document: ProcedureDocument, *, catalog: Catalog | None = None, zone: tzinfo | None = None
) -> Evaluation:
    """Apply product.md §6 to one document. Deterministic: depends only on the document, the data
    and the clinic's time zone (which local date each moment falls on).

    ``catalog`` defaults to the shipped data; tests and clinics may pass a stricter one. ``zone``
    defaults to the clinic's (`localdates.clinic_zone`), else the machine's.
    """
    data = catalog or load_catalog()
    context = _Context(
        document, data, data.payers[document.procedure.payer_profile], zone or clinic_zone()
    )
    procedure = document.procedure
    numbered = _numbered(procedure.sites)
    performed = [(number, site) for number, site in numbered if site.state == "injected"]
    # Dry-needled sites are performed but inject nothing: they are no TPI (§2.2).
    injected = [(number, site) for number, site in performed if not site.dry_needling]
    dry = [(number, site) for number, site in performed if site.dry_needling]

    per_site = site_doses(procedure)
    totals = agent_totals(procedure)
    order = list(data.agents)
    given = {agent: dose for agent, dose in totals.items() if dose.mg > 0 or dose.ml > 0}
    agents_given = sorted(given, key=order.index)

    muscle_count = _muscle_count(context, [site for _, site in injected])
    dry_count = _muscle_count(context, [site for _, site in dry])
    regions = sorted(
        {region for _, site in injected if (region := data.region_of(site.muscle)) is not None}
    )
    cpt: Cpt | None = None
    if muscle_count >= _MANY_MUSCLES_FROM:
        cpt = CPT_MANY_MUSCLES
    elif muscle_count >= 1:
        cpt = CPT_FEW_MUSCLES
    elif dry_count >= _MANY_MUSCLES_FROM:
        cpt = CPT_DRY_MANY
    elif dry_count >= 1:
        cpt = CPT_DRY_FEW

    unverified: list[Unverified] = []
    notes: list[Note] = []
    hcpcs = _hcpcs_lines(context, agents_given, given, unverified)
    anesthetic = _anesthetic(context, given, notes, unverified)
    steroid_mp = _steroid_equivalent(context, agents_given, given, unverified)

    warnings: list[RuleWarning] = []
    warnings += _dose_warnings(context, anesthetic, per_site)
    warnings += _ptx_warnings(context, numbered, unverified)
    warnings += _allergy_warnings(context, numbered)
    warnings += _anticoagulation_warnings(context)
    warnings += _expired_lot_warnings(context, numbered)
    warnings += _unspecified_warnings(context, numbered)
    warnings += _session_warnings(context)
    warnings += _repeat_interval_warnings(context, injected)
    warnings += _relief_warnings(context)
    warnings += _region_warnings(context, injected, regions)
    warnings += _diagnosis_warnings(context)
    warnings += _pain_warnings(context)
    warnings += _dry_needling_warnings(context, injected, dry)
    warnings += _same_day_warnings(context, injected)
    warnings += _pediatric_warnings(context)
    warnings += _cross_reactivity_warnings(context, numbered, unverified)
    warnings += _label_caution_warnings(context, numbered, unverified)
    warnings += _image_guidance_warnings(context)
    warnings += _site_diagnosis_warnings(context, performed, unverified)
    warnings += _relief_interval_warnings(context)
    warnings += _overdrawn_warnings(context)
    warnings.sort(key=lambda warning: WARNING_CODES.index(warning.code))

    notes += _site_notes(context, injected)
    preparations = _preparation_use(context, injected)
    billing = _billing(context, cpt, hcpcs, warnings, injected or dry, dry, notes, unverified)

    return Evaluation(
        payer_profile=context.payer.id,
        muscle_count=muscle_count,
        regions=tuple(regions),
        cpt=cpt,
        hcpcs=tuple(hcpcs),
        totals=tuple(
            AgentTotal(
                agent=agent,
                name=data.agents[agent].name,
                agent_class=data.agents[agent].agent_class,
                mg=_mg(given[agent].mg),
                ml=_ml(given[agent].ml),
            )
            for agent in agents_given
        ),
        anesthetic=anesthetic,
        steroid_mp_equivalent_mg=steroid_mp,
        preparations=tuple(preparations),
        sites=tuple(
            SiteResult(
                number=number,
                muscle=site.muscle,
                muscle_name=data.muscle_name(site.muscle),
                side=site.side,
                state=site.state,
                region=data.region_of(site.muscle),
                preparation=site.preparation,
                volume_ml=site.volume_ml,
                ptx_risk=_ptx(data, site.muscle),
                dry_needling=site.dry_needling,
                doses=tuple(
                    Amount(agent=agent, mg=_mg(dose.mg), ml=_ml(dose.ml))
                    for agent, dose in sorted(
                        per_site[number - 1].items(), key=lambda item: order.index(item[0])
                    )
                ),
            )
            for number, site in numbered
        ),
        warnings=tuple(warnings),
        notes=tuple(notes),
        unverified=tuple(_dedupe(unverified)),
        dry_needled_muscle_count=dry_count,
        billing=billing,
    )


def _dedupe(items: list[Unverified]) -> list[Unverified]:
    seen: list[Unverified] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _ptx(catalog: Catalog, muscle_id: str) -> bool:
    muscle = catalog.muscles.get(muscle_id)
    return muscle is not None and muscle.pneumothorax_risk


def _billing_key(context: _Context, muscle: str, side: str) -> tuple[str, str]:
    """What a coder counts once: the named muscle (upper trapezius → trapezius) and, unless the
    payer counts left and right as one, the side (clinical-reference §2.1)."""
    entry = context.catalog.muscles[muscle]
    return entry.billing_id, side if context.payer.bilateral_counts_as_two else ""


def _muscle_count(context: _Context, injected: Sequence[Site]) -> int:
    return len(
        {
            _billing_key(context, site.muscle, site.side)
            for site in injected
            if site.muscle != UNSPECIFIED
        }
    )


def _hcpcs_lines(
    context: _Context,
    agents_given: list[str],
    given: dict[str, _Dose],
    unverified: list[Unverified],
) -> list[HcpcsLine]:
    lines: list[HcpcsLine] = []
    for agent_id in agents_given:
        agent = context.catalog.agents[agent_id]
        if agent.hcpcs is None:
            continue
        # Local anesthesia is part of 20552/20553 for Medicare (clinical-reference §2.1, §2.7).
        if agent.agent_class == "local_anesthetic" and not context.payer.anesthetic_billable:
            continue
        units = hcpcs_units(given[agent_id].mg, agent.hcpcs.unit_mg)
        if units == 0:
            continue
        lines.append(
            HcpcsLine(
                code=agent.hcpcs.code,
                units=units,
                agent=agent_id,
                mg=_mg(given[agent_id].mg),
                unit_mg=agent.hcpcs.unit_mg,
                verified=agent.hcpcs.verified,
            )
        )
        if not agent.hcpcs.verified:
            unverified.append(
                Unverified(
                    kind="hcpcs_unit",
                    subject=agent_id,
                    value=f"{agent.hcpcs.code} per {_num(agent.hcpcs.unit_mg)} mg",
                    source=agent.hcpcs.source,
                )
            )
    return lines


def _anesthetic(
    context: _Context,
    given: dict[str, _Dose],
    notes: list[Note],
    unverified: list[Unverified],
) -> Anesthetic:
    """Maximum per agent = min(mg/kg × weight, absolute cap); several agents add as fractions."""
    weight = context.document.patient.weight_kg
    present = {
        component.agent
        for preparation in context.procedure.preparations
        for component in preparation.components
    } | set(given)
    rows: list[AnestheticAgent] = []
    fraction = 0.0
    verified = True
    for agent_id, agent in context.catalog.agents.items():
        if agent_id not in present or agent.agent_class != "local_anesthetic":
            continue
        mg = given[agent_id].mg if agent_id in given else 0.0
        limit = agent.max_dose
        if limit is None:
            if mg > 0:
                notes.append(
                    Note(message=f"{agent.name}: no maximum dose in the formulary; not counted.")
                )
            continue
        weight_based = limit.mg_per_kg is not None and weight is not None
        max_mg = limit.max_mg
        if limit.mg_per_kg is not None and weight is not None:
            max_mg = min(limit.mg_per_kg * weight, limit.max_mg)
        share = mg / max_mg
        fraction += share
        if mg > 0 and not limit.verified:
            verified = False
            per_kg = f"{_num(limit.mg_per_kg)} mg/kg, " if limit.mg_per_kg is not None else ""
            unverified.append(
                Unverified(
                    kind="max_dose",
                    subject=agent_id,
                    value=f"{per_kg}at most {_num(limit.max_mg)} mg",
                    source=limit.source,
                )
            )
        rows.append(
            AnestheticAgent(
                agent=agent_id,
                mg=_mg(mg),
                max_mg=_mg(max_mg),
                mg_per_kg=limit.mg_per_kg,
                cap_mg=limit.max_mg,
                weight_based=weight_based,
                percent_of_max=round_half_up(share * 100, 1),
                verified=limit.verified,
                source=limit.source,
            )
        )
    return Anesthetic(
        percent_of_max=round_half_up(fraction * 100, 1),
        max_mg={row.agent: row.max_mg for row in rows},
        weight_kg=weight,
        verified=verified,
        agents=tuple(rows),
    )


def _steroid_equivalent(
    context: _Context,
    agents_given: list[str],
    given: dict[str, _Dose],
    unverified: list[Unverified],
) -> float:
    total = 0.0
    for agent_id in agents_given:
        agent = context.catalog.agents[agent_id]
        factor = agent.methylprednisolone_equivalent_per_mg
        if agent.agent_class != "corticosteroid" or factor is None:
            continue
        total += given[agent_id].mg * factor.factor
        if not factor.verified:
            unverified.append(
                Unverified(
                    kind="steroid_equivalence",
                    subject=agent_id,
                    value=f"1 mg = {_num(factor.factor)} mg methylprednisolone",
                    source=factor.source,
                )
            )
    return _mg(total)


def _anesthetic_sites(context: _Context, per_site: tuple[dict[str, _Dose], ...]) -> list[int]:
    agents = context.catalog.agents
    return [
        index + 1
        for index, doses in enumerate(per_site)
        if any(agents[agent].agent_class == "local_anesthetic" for agent in doses)
    ]


def _dose_warnings(
    context: _Context, anesthetic: Anesthetic, per_site: tuple[dict[str, _Dose], ...]
) -> list[RuleWarning]:
    warnings: list[RuleWarning] = []
    given = [row for row in anesthetic.agents if row.mg > 0]
    if not given:
        return warnings
    sites = tuple(_anesthetic_sites(context, per_site))
    weight = anesthetic.weight_kg
    parts = []
    for row in given:
        name = context.catalog.agents[row.agent].name
        if row.weight_based and row.mg_per_kg is not None and weight is not None:
            basis = (
                f"{_num(row.mg_per_kg)} mg/kg × {_num(weight)} kg, at most {_num(row.cap_mg)} mg"
            )
        else:
            basis = f"absolute cap {_num(row.cap_mg)} mg"
        parts.append(f"{name} {_num(row.mg)} mg of a {_num(row.max_mg)} mg maximum ({basis})")
    detail = "; ".join(parts)
    percent = anesthetic.percent_of_max
    near = round_half_up(context.catalog.anesthetic_near_max.fraction * 100, 1)
    # Decided on the printed percentage (0.1 %) so the warning and the number shown agree.
    if percent > 100:
        warnings.append(
            RuleWarning(
                code="anesthetic_dose_over_max",
                message=(
                    f"Local anesthetic dose is {_num(percent)} % of the maximum: {detail}. "
                    "Reduce the volume or the concentration."
                ),
                sites=sites,
            )
        )
    elif percent >= near:
        warnings.append(
            RuleWarning(
                code="anesthetic_dose_near_max",
                message=(
                    f"Local anesthetic dose is {_num(percent)} % of the maximum "
                    f"(warning from {_num(near)} %): {detail}."
                ),
                sites=sites,
            )
        )
    if weight is None:
        weight_dependent = [
            context.catalog.agents[row.agent].name for row in given if row.mg_per_kg is not None
        ]
        if weight_dependent:
            warnings.append(
                RuleWarning(
                    code="weight_missing",
                    message=(
                        "No weight recorded: the maximum dose of "
                        f"{_join(weight_dependent)} is taken as the absolute cap, not the "
                        "weight-based limit. Record the patient's weight."
                    ),
                    sites=sites,
                )
            )
    return warnings


def _ptx_warnings(
    context: _Context, numbered: list[tuple[int, Site]], unverified: list[Unverified]
) -> list[RuleWarning]:
    sites = [number for number, site in numbered if _ptx(context.catalog, site.muscle)]
    if not sites:
        return []
    cautions: list[str] = []
    for number in sites:
        muscle = context.catalog.muscles[numbered[number - 1][1].muscle]
        for risk in muscle.risks:
            if risk.flag != "pneumothorax":
                continue
            caution = f"{muscle.name} — {risk.message}"
            if caution not in cautions:
                cautions.append(caution)
            if not risk.verified:
                unverified.append(
                    Unverified(
                        kind="risk_flag",
                        subject=muscle.id,
                        value=f"pneumothorax: {risk.message}",
                        source=risk.source or "clinical-reference §4 (anatomical inference)",
                    )
                )
    described = _join([context.describe_site(number) for number in sites])
    return [
        RuleWarning(
            code="ptx_risk_site",
            message=f"Pneumothorax risk at {_sites_word(sites)} {described}. " + " ".join(cautions),
            sites=tuple(sites),
        )
    ]


def _allergy_warnings(context: _Context, numbered: list[tuple[int, Site]]) -> list[RuleWarning]:
    allergies = context.document.patient.allergies
    if not allergies:
        return []
    warnings: list[RuleWarning] = []
    checked: set[str] = set()
    for preparation in context.procedure.preparations:
        for component in preparation.components:
            if component.agent in checked:
                continue
            checked.add(component.agent)
            agent = context.catalog.agents[component.agent]
            matched = [a for a in allergies if allergy_matches(a, agent, context.catalog)]
            if not matched:
                continue
            preparations = [
                p.id
                for p in context.procedure.preparations
                if any(c.agent == component.agent for c in p.components)
            ]
            sites = tuple(number for number, site in numbered if site.preparation in preparations)
            quoted = _join([f"“{a}”" for a in matched])
            where = f" ({_sites_word(sites)} {_site_list(sites)})" if sites else ""
            warnings.append(
                RuleWarning(
                    code="allergy_conflict",
                    message=(
                        f"Allergy conflict: recorded allergy {quoted} matches {agent.name} in "
                        f"preparation {_join(preparations)}{where}."
                    ),
                    sites=sites,
                )
            )
    return warnings


def _anticoagulation_warnings(context: _Context) -> list[RuleWarning]:
    patient = context.document.patient
    if not patient.anticoagulated:
        return []
    which = f" ({patient.anticoagulant})" if patient.anticoagulant else ""
    return [
        RuleWarning(
            code="anticoagulated",
            message=(
                f"Patient is anticoagulated{which}: a contraindication or precaution for trigger "
                "point injection depending on the source (clinical-reference §6.1). Confirm the "
                "decision and document it."
            ),
        )
    ]


def _expired_lot_warnings(context: _Context, numbered: list[tuple[int, Site]]) -> list[RuleWarning]:
    # Convention: a product may be used through the end of its expiry date (USP: the expiry date is
    # the last day of use; a month/year date means the last day of that month). So a lot expiring
    # ON the procedure date is still usable; it is expired only when `expires` < procedure date,
    # the calendar date of performed_at in its own UTC offset (the clinic's local date).
    warnings: list[RuleWarning] = []
    day = context.procedure_date
    for preparation in context.procedure.preparations:
        sites = tuple(number for number, site in numbered if site.preparation == preparation.id)
        for component in preparation.components:
            if component.expires is None or component.expires >= day:
                continue
            agent = context.catalog.agents[component.agent]
            lot = f"lot {component.lot}" if component.lot else "(no lot recorded)"
            where = f" ({_sites_word(sites)} {_site_list(sites)})" if sites else ""
            warnings.append(
                RuleWarning(
                    code="expired_lot",
                    message=(
                        f"Expired: {agent.name} {lot} in preparation {preparation.id} expired "
                        f"{component.expires.isoformat()}, before the procedure date "
                        f"{day.isoformat()}{where}."
                    ),
                    sites=sites,
                )
            )
    return warnings


def _unspecified_warnings(context: _Context, numbered: list[tuple[int, Site]]) -> list[RuleWarning]:
    sites = tuple(number for number, site in numbered if site.muscle == UNSPECIFIED)
    if not sites:
        return []
    return [
        RuleWarning(
            code="muscle_unspecified",
            message=(
                f"{_sites_word(sites).capitalize()} {_site_list(sites)} — "
                f"{context.catalog.unspecified_message}"
            ),
            sites=sites,
        )
    ]


def _session_warnings(context: _Context) -> list[RuleWarning]:
    limit = context.payer.max_sessions_per_365_days
    if limit is None:
        return []
    day = context.procedure_date
    earlier = sorted(
        {
            context.day_of(prior.performed_at)
            for prior in context.earlier_sessions()
            if (day - context.day_of(prior.performed_at)).days < ROLLING_YEAR_DAYS
        }
    )
    sessions = len(earlier) + 1
    if sessions <= limit:
        return []
    dates = _join([d.isoformat() for d in earlier])
    return [
        RuleWarning(
            code="sessions_per_year_exceeded",
            message=(
                f"This is session {sessions} in the 365 days up to {day.isoformat()} "
                f"(earlier: {dates}); {context.payer.id} covers at most "
                f"{_plural(limit, 'session')} in a rolling 365 days."
            ),
        )
    ]


def _repeat_interval_warnings(
    context: _Context, injected: list[tuple[int, Site]]
) -> list[RuleWarning]:
    min_days = context.payer.min_days_same_muscle_side
    if min_days is None:
        return []
    day = context.procedure_date
    last: dict[tuple[str, str], date] = {}
    for prior in context.earlier_sessions():
        for prior_site in prior.sites:
            key = (prior_site.muscle, prior_site.side)
            when = context.day_of(prior.performed_at)
            if key not in last or when > last[key]:
                last[key] = when
    sites: list[int] = []
    details: list[str] = []
    for number, site in injected:
        key = (site.muscle, site.side)
        if site.muscle == UNSPECIFIED or key not in last:
            continue
        days = (day - last[key]).days
        if days < min_days:
            sites.append(number)
            detail = (
                f"{context.catalog.muscle_name(site.muscle)} {site.side} last injected "
                f"{last[key].isoformat()} ({_plural(days, 'day')} ago)"
            )
            if detail not in details:
                details.append(detail)
    if not sites:
        return []
    return [
        RuleWarning(
            code="repeat_interval_short",
            message=(
                f"Repeat too soon at {_sites_word(sites)} {_site_list(sites)}: "
                f"{'; '.join(details)}. {context.payer.id} requires at least "
                f"{_plural(min_days, 'day')} before the same muscle and side are injected again."
            ),
            sites=tuple(sites),
        )
    ]


def _relief_warnings(context: _Context) -> list[RuleWarning]:
    minimum = context.payer.min_relief_percent_for_repeat
    earlier = context.earlier_sessions()
    if minimum is None or not earlier:
        return []
    latest = max(earlier, key=lambda prior: prior.performed_at)
    relief = context.procedure.prior_relief_percent
    if relief is None:
        relief = latest.relief_percent
    when = context.day_of(latest.performed_at).isoformat()
    rule = f"{context.payer.id} requires at least {minimum} % relief after the latest session"
    weeks_needed = context.payer.min_relief_weeks_for_repeat
    weeks = context.procedure.prior_relief_weeks
    if weeks is None:
        weeks = latest.relief_weeks
    if relief is None:
        message = f"Repeat without recorded relief: no relief recorded for the session of {when}; "
    elif relief < minimum:
        message = f"Repeat without enough relief: the session of {when} gave {relief} % relief; "
    elif weeks_needed is None:
        return []
    elif weeks is None:
        message = (
            f"Repeat without a recorded duration of relief: the session of {when} gave {relief} % "
            f"relief, but for how long is not recorded; "
        )
        rule += f", lasting at least {weeks_needed} weeks"
    elif weeks < weeks_needed:
        message = (
            f"Repeat after too short a relief: the session of {when} gave {relief} % relief for "
            f"{weeks:g} weeks; "
        )
        rule += f", lasting at least {weeks_needed} weeks"
    else:
        return []
    return [RuleWarning(code="repeat_without_relief", message=message + rule + ".")]


def _region_warnings(
    context: _Context, injected: list[tuple[int, Site]], regions: list[str]
) -> list[RuleWarning]:
    # The LCD's session is the whole day: the regions of the patient's other procedures on this
    # local date count too (clinical-reference §2.4).
    limit = context.payer.max_regions_per_session
    if limit is None:
        return []
    elsewhere: dict[str, list[str]] = {}
    for prior in context.same_day_sessions():
        for prior_site in prior.sites:
            region = context.catalog.region_of(prior_site.muscle)
            if region is not None and context.clock(prior.performed_at) not in elsewhere.get(
                region, []
            ):
                elsewhere.setdefault(region, []).append(context.clock(prior.performed_at))
    day_regions = sorted(set(regions) | set(elsewhere))
    if len(day_regions) <= limit:
        return []
    parts = []
    sites: list[int] = []
    for region in day_regions:
        numbers = [n for n, site in injected if context.catalog.region_of(site.muscle) == region]
        sites += numbers
        name = context.catalog.regions[region].name
        where = [f"{_sites_word(numbers)} {_site_list(numbers)}"] if numbers else []
        where += [f"the procedure at {clock}" for clock in elsewhere.get(region, [])]
        parts.append(f"{name} ({_join(where)})")
    scope = "one session" if not elsewhere else f"one day's session ({context.procedure_date})"
    return [
        RuleWarning(
            code="multi_region",
            message=(
                f"Injections in {len(day_regions)} anatomical regions in {scope}: "
                f"{_join(parts)}; {context.payer.id} covers at most "
                f"{_plural(limit, 'region')} per session."
            ),
            sites=tuple(sorted(sites)),
        )
    ]


def _diagnosis_warnings(context: _Context) -> list[RuleWarning]:
    covered = context.payer.covered_diagnoses
    if covered is None:
        return []
    diagnoses = context.procedure.diagnoses
    if not diagnoses:
        message = f"No diagnosis recorded; {context.payer.id} covers only {', '.join(covered)}."
    else:
        outside = [code for code in diagnoses if code not in covered]
        if not outside:
            return []
        message = (
            f"Diagnosis {_join(outside)} not covered by {context.payer.id} "
            f"(covered: {', '.join(covered)})."
        )
    return [RuleWarning(code="diagnosis_not_covered", message=message)]


def _pain_warnings(context: _Context) -> list[RuleWarning]:
    # pain_before is due before the first injection; pain_after once the procedure is done, which
    # we take as: signed, or every site (at least one) injected.
    procedure = context.procedure
    missing: list[str] = []
    if procedure.pain_before is None:
        missing.append("before the procedure")
    done = procedure.status == "signed" or (
        bool(procedure.sites) and all(site.state == "injected" for site in procedure.sites)
    )
    if done and procedure.pain_after is None:
        missing.append("after the procedure")
    if not missing:
        return []
    return [
        RuleWarning(
            code="pain_score_missing",
            message=f"Pain score (0–10) not recorded {' and '.join(missing)}.",
        )
    ]


def _site_notes(context: _Context, injected: list[tuple[int, Site]]) -> list[Note]:
    # `injected` holds no dry-needled site: having no preparation is what dry needling means.
    empty = [
        number for number, site in injected if site.preparation is None or site.volume_ml is None
    ]
    if not empty:
        return []
    return [
        Note(
            message=(
                f"Injected {_sites_word(empty)} {_site_list(empty)} without a preparation or a "
                "volume: nothing is counted for them in doses or billing units."
            ),
            sites=tuple(empty),
        )
    ]


def _preparation_use(context: _Context, injected: list[tuple[int, Site]]) -> list[PreparationUse]:
    uses: list[PreparationUse] = []
    for preparation in context.procedure.preparations:
        sites = [
            (n, site)
            for n, site in injected
            if site.preparation == preparation.id and site.volume_ml is not None
        ]
        given = sum(site.volume_ml or 0.0 for _, site in sites)
        drawn = preparation.total_volume_ml
        numbers = tuple(n for n, _ in sites)
        uses.append(
            PreparationUse(
                id=preparation.id,
                drawn_ml=_ml(drawn),
                given_ml=_ml(given),
                remaining_ml=_ml(max(0.0, drawn - given)),
                sites=numbers,
            )
        )
    return uses


# --------------------------------------------------------------------------------------------
# Version 2 rules (issue 14)


def _muscle_side(context: _Context, muscle: str, side: str) -> str:
    return f"{context.catalog.muscle_name(muscle)} ({side})"


def _dry_needling_warnings(
    context: _Context, injected: list[tuple[int, Site]], dry: list[tuple[int, Site]]
) -> list[RuleWarning]:
    if not dry:
        return []
    numbers = [number for number, _ in dry]
    muscles: list[str] = []
    for _, site in dry:
        named = _muscle_side(context, site.muscle, site.side)
        if named not in muscles:
            muscles.append(named)
    source = context.payer.dry_needling_source or (
        "clinical-reference §2.2, §5.5: Medicare covers dry needling only under NCD 30.3.3 "
        "for chronic low back pain"
    )
    if injected:
        coding = (
            "the TPI code counts the injected muscles only; the dry-needled muscles are listed "
            f"separately: {_join(muscles)}"
        )
    else:
        coding = "code it 20560 (1–2 muscles) or 20561 (3 or more), never 20552/20553"
    return [
        RuleWarning(
            code="dry_needling_not_tpi",
            message=(
                f"Dry needling at {_sites_word(numbers)} {_site_list(numbers)} (needle without "
                f"injectate) is not a trigger point injection: {coding}. {source}."
            ),
            sites=tuple(numbers),
        )
    ]


def _same_day_warnings(context: _Context, injected: list[tuple[int, Site]]) -> list[RuleWarning]:
    same_day = context.same_day_sessions()
    if not same_day or not injected:
        return []
    keys = {
        _billing_key(context, site.muscle, site.side)
        for _, site in injected
        if site.muscle != UNSPECIFIED
    }
    described = []
    for prior in same_day:
        muscles = []
        for prior_site in prior.sites:
            if prior_site.muscle != UNSPECIFIED:
                keys.add(_billing_key(context, prior_site.muscle, prior_site.side))
            named = _muscle_side(context, prior_site.muscle, prior_site.side)
            if named not in muscles:
                muscles.append(named)
        described.append(f"at {context.clock(prior.performed_at)}: {_join(muscles)}")
    count = len(keys)
    code = CPT_MANY_MUSCLES if count >= _MANY_MUSCLES_FROM else CPT_FEW_MUSCLES
    word = "procedure" if len(same_day) == 1 else "procedures"
    return [
        RuleWarning(
            code="same_day_procedure",
            message=(
                f"Another {word} for this patient on {context.procedure_date.isoformat()} "
                f"({'; '.join(described)}). Only one code from 20552/20553 is reported per "
                f"patient per day (clinical-reference §2.1): {_plural(count, 'muscle')} over the "
                f"day → one {code} for the day."
            ),
        )
    ]


def _pediatric_warnings(context: _Context) -> list[RuleWarning]:
    rule = context.catalog.formulary_rules.pediatric
    age = age_on(context.document.patient.birth_date, context.procedure_date)
    if age >= rule.under_age_years:
        return []
    return [
        RuleWarning(
            code="pediatric_patient",
            message=(
                f"Patient is {_plural(age, 'year')} old on {context.procedure_date.isoformat()} "
                f"(under {rule.under_age_years}): the anesthetic labels call for reduced doses in "
                "children; the maximum shown is the weight-based one, reduce it "
                f"({rule.source})."
            ),
        )
    ]


def _agents_in_preparations(context: _Context) -> list[str]:
    agents: list[str] = []
    for preparation in context.procedure.preparations:
        for component in preparation.components:
            if component.agent not in agents:
                agents.append(component.agent)
    return agents


def _preparations_with(context: _Context, agent: str) -> list[str]:
    return [
        p.id for p in context.procedure.preparations if any(c.agent == agent for c in p.components)
    ]


def _cross_reactivity_warnings(
    context: _Context, numbered: list[tuple[int, Site]], unverified: list[Unverified]
) -> list[RuleWarning]:
    allergies = context.document.patient.allergies
    rule = context.catalog.formulary_rules.cross_reactivity
    if not allergies:
        return []
    warnings: list[RuleWarning] = []
    for agent_id in _agents_in_preparations(context):
        agent = context.catalog.agents[agent_id]
        klass = agent.chemical_class
        if klass is None or klass not in rule.classes:
            continue
        if any(allergy_matches(a, agent, context.catalog) for a in allergies):
            continue  # the same agent or its class: allergy_conflict says so
        related: list[str] = []
        for allergy in allergies:
            for other in context.catalog.agents.values():
                if (
                    other.id != agent_id
                    and other.chemical_class == klass
                    and allergy_matches(allergy, other, context.catalog)
                ):
                    related.append(f"“{allergy}” ({other.name})")
                    break
        if not related:
            continue
        preparations = _preparations_with(context, agent_id)
        sites = tuple(number for number, site in numbered if site.preparation in preparations)
        where = f" ({_sites_word(sites)} {_site_list(sites)})" if sites else ""
        warnings.append(
            RuleWarning(
                code="allergy_cross_reactivity",
                message=(
                    f"Possible cross-reactivity: recorded allergy {_join(related)} is to an "
                    f"{klass} local anesthetic, and {agent.name} in preparation "
                    f"{_join(preparations)}{where} is an {klass} too ({rule.source})."
                ),
                sites=sites,
            )
        )
        if not rule.verified:
            unverified.append(
                Unverified(
                    kind="cross_reactivity",
                    subject=klass,
                    value=f"allergy to one {klass} anesthetic flags the others",
                    source=rule.source,
                )
            )
    return warnings


def _label_caution_warnings(
    context: _Context, numbered: list[tuple[int, Site]], unverified: list[Unverified]
) -> list[RuleWarning]:
    # Like allergies, label points are shown for every preparation drawn up, before the needle
    # goes in: a trigger point injection is always intramuscular.
    warnings: list[RuleWarning] = []
    agents = context.catalog.agents
    for preparation in context.procedure.preparations:
        sites = tuple(number for number, site in numbered if site.preparation == preparation.id)
        where = f" ({_sites_word(sites)} {_site_list(sites)})" if sites else ""
        for component in preparation.components:
            for caution in agents[component.agent].label_cautions:
                strength = caution.concentration_mg_per_ml
                if strength is not None and not math.isclose(component.mg_per_ml, strength):
                    continue
                warnings.append(
                    RuleWarning(
                        code="drug_label_caution",
                        message=(
                            f"{agents[component.agent].name} {component.concentration} in "
                            f"preparation {preparation.id}{where}: {caution.message} "
                            f"(source: {caution.source})"
                        ),
                        sites=sites,
                    )
                )
                if not caution.verified:
                    unverified.append(
                        Unverified(
                            kind="label_caution",
                            subject=component.agent,
                            value=caution.id,
                            source=caution.source,
                        )
                    )
    site_rule = context.catalog.formulary_rules.corticosteroid_site_caution
    for number, site in numbered:
        muscle = context.catalog.muscles.get(site.muscle)
        used = context.procedure.preparation(site.preparation)
        if muscle is None or used is None:
            continue
        steroids = [
            agents[c.agent].name
            for c in used.components
            if agents[c.agent].agent_class == "corticosteroid"
        ]
        for risk in muscle.risks:
            if risk.flag != site_rule.flag or not steroids:
                continue
            warnings.append(
                RuleWarning(
                    code="drug_label_caution",
                    message=(
                        f"{_join(steroids)} into the {muscle.name.lower()} at site {number}: "
                        f"{risk.message} (source: {risk.source or site_rule.source})"
                    ),
                    sites=(number,),
                )
            )
    return warnings


def _image_guidance_warnings(context: _Context) -> list[RuleWarning]:
    guidance = context.procedure.image_guidance
    if guidance == "none" or context.payer.image_guidance_covered:
        return []
    source = context.payer.image_guidance_source or "payer profile"
    return [
        RuleWarning(
            code="image_guidance_not_covered",
            message=(
                f"{guidance.capitalize()} guidance is recorded; {context.payer.id} does not cover "
                f"image guidance for trigger point injections ({source})."
            ),
        )
    ]


def diagnosis_supports(catalog: Catalog, code: str, muscle_id: str) -> bool:
    """Whether a diagnosis supports injecting this muscle: its own code (the muscle's
    `icd10_hint`), a code mapped to the muscle's region, or a generic or unmapped code."""
    muscle = catalog.muscles.get(muscle_id)
    if muscle is None or code == muscle.icd10_hint:
        return True
    entry = catalog.regions_supported_by(code)
    return entry is None or entry.regions is None or muscle.region in entry.regions


def _site_diagnosis_warnings(
    context: _Context, performed: list[tuple[int, Site]], unverified: list[Unverified]
) -> list[RuleWarning]:
    diagnoses = context.procedure.diagnoses
    if not diagnoses:
        return []  # signing asks for a diagnosis; the payer rule reports none recorded
    by_region: dict[str, list[int]] = {}
    for number, site in performed:
        if site.muscle == UNSPECIFIED:
            continue
        if any(diagnosis_supports(context.catalog, code, site.muscle) for code in diagnoses):
            continue
        by_region.setdefault(context.catalog.muscles[site.muscle].region, []).append(number)
    if not by_region:
        return []
    parts = [
        f"{context.catalog.regions[region].name} ({_sites_word(numbers)} {_site_list(numbers)})"
        for region, numbers in by_region.items()
    ]
    supported = []
    for code in diagnoses:
        entry = context.catalog.regions_supported_by(code)
        if entry is not None and entry.regions is not None:
            names = [context.catalog.regions[r].name for r in entry.regions]
            supported.append(f"{code}: {_join(names)}")
            if not entry.verified:
                unverified.append(
                    Unverified(
                        kind="diagnosis_region",
                        subject=entry.code,
                        value=", ".join(entry.regions),
                        source=entry.source,
                    )
                )
    sites = tuple(sorted(n for numbers in by_region.values() for n in numbers))
    return [
        RuleWarning(
            code="diagnosis_site_mismatch",
            message=(
                f"No diagnosis supports {_join(parts)}; the diagnoses cover "
                f"{'; '.join(supported)}. Add the diagnosis for these sites or correct them."
            ),
            sites=sites,
        )
    ]


def _relief_interval_warnings(context: _Context) -> list[RuleWarning]:
    """Relief reported for a session cannot have lasted longer than the time until the next
    session (for the latest one: until this procedure)."""
    earlier = sorted(context.earlier_sessions(), key=lambda prior: prior.performed_at)
    if not earlier:
        return []
    problems: list[str] = []
    for index, prior in enumerate(earlier):
        latest = index == len(earlier) - 1
        weeks = prior.relief_weeks
        if latest and context.procedure.prior_relief_weeks is not None:
            weeks = context.procedure.prior_relief_weeks
        if weeks is None:
            continue
        start = context.day_of(prior.performed_at)
        end = context.procedure_date if latest else context.day_of(earlier[index + 1].performed_at)
        days = (end - start).days
        if weeks * 7 > days:
            until = "this procedure" if latest else "the next session"
            problems.append(
                f"the session of {start.isoformat()} is recorded with {weeks:g} weeks of relief "
                f"({_plural(round(weeks * 7), 'day')}), but {until} on {end.isoformat()} came "
                f"{_plural(days, 'day')} later"
            )
    if not problems:
        return []
    return [
        RuleWarning(
            code="relief_exceeds_interval",
            message=(
                f"Relief longer than possible: {'; '.join(problems)}. Check the duration of "
                "relief (a payer's review rejects it)."
            ),
        )
    ]


@dataclass(frozen=True)
class Overdrawn:
    preparation: str
    drawn_ml: float
    given_ml: float
    sites: tuple[int, ...]


def overdrawn_preparations(procedure: Procedure) -> list[Overdrawn]:
    """Preparations of which the injected sites were given more than was drawn (to 0.01 mL)."""
    found: list[Overdrawn] = []
    for preparation in procedure.preparations:
        numbers = tuple(
            number
            for number, site in enumerate(procedure.sites, start=1)
            if site.state == "injected"
            and site.preparation == preparation.id
            and site.volume_ml is not None
        )
        given = sum(procedure.sites[number - 1].volume_ml or 0.0 for number in numbers)
        drawn = preparation.total_volume_ml
        if _ml(given) > _ml(drawn):
            found.append(Overdrawn(preparation.id, _ml(drawn), _ml(given), numbers))
    return found


def overdrawn_message(item: Overdrawn) -> str:
    return (
        f"Preparation {item.preparation}: {_num(item.given_ml)} mL charted at "
        f"{_sites_word(item.sites)} {_site_list(item.sites)} but only {_num(item.drawn_ml)} mL "
        "drawn up. Correct the volumes (or what was drawn) before signing."
    )


def _overdrawn_warnings(context: _Context) -> list[RuleWarning]:
    return [
        RuleWarning(code="volume_exceeds_drawn", message=overdrawn_message(item), sites=item.sites)
        for item in overdrawn_preparations(context.procedure)
    ]


# --------------------------------------------------------------------------------------------
# Claim lines


def _diagnosis_pointers(context: _Context, billed: list[tuple[int, Site]]) -> tuple[int, ...]:
    diagnoses = context.procedure.diagnoses
    pointers = [
        index
        for index, code in enumerate(diagnoses, start=1)
        if any(
            site.muscle != UNSPECIFIED and diagnosis_supports(context.catalog, code, site.muscle)
            for _, site in billed
        )
    ]
    if not pointers and diagnoses:
        pointers = [1]
    return tuple(pointers[:MAX_DIAGNOSIS_POINTERS])


def _component_given_mg(procedure: Procedure) -> list[list[float]]:
    """mg of each component (by preparation, then component) given at injected sites."""
    given: list[list[float]] = []
    for preparation in procedure.preparations:
        total = preparation.total_volume_ml
        ml_given = sum(
            site.volume_ml or 0.0
            for site in procedure.sites
            if site.state == "injected" and site.preparation == preparation.id
        )
        given.append([ml_given * c.volume_ml / total * c.mg_per_ml for c in preparation.components])
    return given


def _billing(
    context: _Context,
    cpt: Cpt | None,
    hcpcs: list[HcpcsLine],
    warnings: list[RuleWarning],
    billed: list[tuple[int, Site]],
    dry_sites: list[tuple[int, Site]],
    notes: list[Note],
    unverified: list[Unverified],
) -> Billing:
    payer = context.payer
    procedure = context.procedure
    coverage = [w.code for w in warnings if w.code in COVERAGE_CODES]
    if payer.dry_needling_covered is False and cpt in (CPT_DRY_FEW, CPT_DRY_MANY):
        coverage.append("dry_needling_not_tpi")
    coverage = list(dict.fromkeys(coverage))
    modifiers = payer.non_coverage_modifiers
    non_coverage: str | None = None
    abn_needed = False
    if coverage and modifiers is not None:
        if procedure.abn_on_file is None:
            abn_needed = True
        else:
            non_coverage = modifiers.on_file if procedure.abn_on_file else modifiers.not_on_file
        if not modifiers.verified:
            unverified.append(
                Unverified(
                    kind="modifier",
                    subject=payer.id,
                    value=f"{modifiers.on_file} (ABN on file) / {modifiers.not_on_file} (none)",
                    source=modifiers.source,
                )
            )
    extra = (non_coverage,) if non_coverage else ()
    pointers = _diagnosis_pointers(context, billed)
    lines: list[ClaimLine] = []
    if cpt is not None:
        lines.append(
            ClaimLine(kind="cpt", code=cpt, units=1, modifiers=extra, diagnosis_pointers=pointers)
        )
    problems: list[str] = []
    given_mg = _component_given_mg(procedure)
    for line in hcpcs:
        components = [
            (component, given_mg[p_index][c_index])
            for p_index, preparation in enumerate(procedure.preparations)
            for c_index, component in enumerate(preparation.components)
            if component.agent == line.agent
        ]
        ndcs = list(dict.fromkeys(c.ndc for c, _ in components if c.ndc))
        if payer.ndc_required and len(ndcs) != 1:
            name = context.catalog.agents[line.agent].name
            problem = (
                f"{line.code} ({name}): no NDC recorded; {payer.id} needs the NDC on the drug "
                f"line ({payer.ndc_source or 'payer profile'})."
                if not ndcs
                else f"{line.code} ({name}): several NDCs ({', '.join(ndcs)}); bill one line "
                "per NDC."
            )
            problems.append(problem)
        drug_modifiers: tuple[str, ...] = ()
        waste_units = 0
        single = [(c, mg) for c, mg in components if c.container == "single_dose"]
        if payer.discarded_drug_modifiers and single and len(single) == len(components):
            discarded = sum(
                max(0.0, (c.container_ml or c.volume_ml) * c.mg_per_ml - mg) for c, mg in single
            )
            waste_units = hcpcs_units(line.mg + discarded, line.unit_mg) - line.units
            if waste_units <= 0:
                drug_modifiers = ("JZ",)
        lines.append(
            ClaimLine(
                kind="hcpcs",
                code=line.code,
                units=line.units,
                modifiers=drug_modifiers + extra,
                diagnosis_pointers=pointers,
                agent=line.agent,
                mg=line.mg,
                ndc=ndcs[0] if ndcs else None,
            )
        )
        if waste_units > 0:
            lines.append(
                ClaimLine(
                    kind="hcpcs",
                    code=line.code,
                    units=waste_units,
                    modifiers=("JW", *extra),
                    diagnosis_pointers=pointers,
                    agent=line.agent,
                    ndc=ndcs[0] if ndcs else None,
                    discarded=True,
                )
            )
    if abn_needed and modifiers is not None:
        problems.append(
            f"A coverage warning is open ({', '.join(coverage)}): record whether an ABN is on "
            f"file — {modifiers.on_file} if it is, {modifiers.not_on_file} if not."
        )
    notes += [Note(message=problem) for problem in problems]
    dry = []
    for _, site in dry_sites:
        if site.muscle != UNSPECIFIED:
            named = _muscle_side(context, site.muscle, site.side)
            if named not in dry:
                dry.append(named)
    return Billing(
        lines=tuple(lines),
        diagnoses=procedure.diagnoses,
        coverage_warnings=tuple(coverage),
        non_coverage_modifier=non_coverage,
        abn_needed=abn_needed,
        dry_needled_muscles=tuple(dry),
        problems=tuple(problems),
    )
