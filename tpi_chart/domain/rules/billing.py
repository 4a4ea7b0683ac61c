"""The claim: CPT and drug lines with their diagnosis pointers, NDCs, discarded-drug (JW/JZ)
and non-coverage (GA/GZ) modifiers, and the problems a coder must fix."""

from __future__ import annotations

from tpi_chart.domain.catalog import UNSPECIFIED
from tpi_chart.domain.models import Procedure, Site
from tpi_chart.domain.rules.amounts import hcpcs_units
from tpi_chart.domain.rules.context import RuleContext, named_muscle_side
from tpi_chart.domain.rules.payer import diagnosis_supports
from tpi_chart.domain.rules.results import (
    COVERAGE_CODES,
    CPT_DRY_FEW,
    CPT_DRY_MANY,
    MAX_DIAGNOSIS_POINTERS,
    Billing,
    ClaimLine,
    Cpt,
    HcpcsLine,
    Note,
    RuleWarning,
    Unverified,
)


def _diagnosis_pointers(context: RuleContext, billed: list[tuple[int, Site]]) -> tuple[int, ...]:
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


def build_billing(
    context: RuleContext,
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
            named = named_muscle_side(context, site.muscle, site.side)
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
