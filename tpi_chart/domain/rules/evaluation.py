"""The entry point: :func:`evaluate` applies every rule to one document, in the order of the
warning vocabulary."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from tpi_chart.domain.catalog import Catalog, load_catalog
from tpi_chart.domain.localdates import clinic_zone
from tpi_chart.domain.models import ProcedureDocument, Site
from tpi_chart.domain.rules.allergy import allergy_warnings, cross_reactivity_warnings
from tpi_chart.domain.rules.amounts import agent_totals, round_mg, round_ml, site_doses
from tpi_chart.domain.rules.billing import build_billing
from tpi_chart.domain.rules.context import RuleContext, count_muscles, is_ptx_risk
from tpi_chart.domain.rules.doses import (
    anesthetic_limits,
    dose_warnings,
    hcpcs_lines,
    overdrawn_warnings,
    preparation_use,
    site_notes,
    steroid_equivalent,
)
from tpi_chart.domain.rules.payer import (
    diagnosis_warnings,
    dry_needling_warnings,
    image_guidance_warnings,
    region_warnings,
    relief_interval_warnings,
    relief_warnings,
    repeat_interval_warnings,
    same_day_warnings,
    session_warnings,
    site_diagnosis_warnings,
)
from tpi_chart.domain.rules.results import (
    CPT_DRY_FEW,
    CPT_DRY_MANY,
    CPT_FEW_MUSCLES,
    CPT_MANY_MUSCLES,
    MANY_MUSCLES_FROM,
    WARNING_CODES,
    AgentTotal,
    Amount,
    Cpt,
    Evaluation,
    Note,
    RuleWarning,
    SiteResult,
    Unverified,
)
from tpi_chart.domain.rules.safety import (
    anticoagulation_warnings,
    expired_lot_warnings,
    label_caution_warnings,
    pain_warnings,
    pediatric_warnings,
    ptx_warnings,
    unspecified_warnings,
)


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
    context = RuleContext(
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

    muscle_count = count_muscles(context, [site for _, site in injected])
    dry_count = count_muscles(context, [site for _, site in dry])
    regions = sorted(
        {region for _, site in injected if (region := data.region_of(site.muscle)) is not None}
    )
    cpt: Cpt | None = None
    if muscle_count >= MANY_MUSCLES_FROM:
        cpt = CPT_MANY_MUSCLES
    elif muscle_count >= 1:
        cpt = CPT_FEW_MUSCLES
    elif dry_count >= MANY_MUSCLES_FROM:
        cpt = CPT_DRY_MANY
    elif dry_count >= 1:
        cpt = CPT_DRY_FEW

    unverified: list[Unverified] = []
    notes: list[Note] = []
    hcpcs = hcpcs_lines(context, agents_given, given, unverified)
    anesthetic = anesthetic_limits(context, given, notes, unverified)
    steroid_mp = steroid_equivalent(context, agents_given, given, unverified)

    warnings: list[RuleWarning] = []
    warnings += dose_warnings(context, anesthetic, per_site)
    warnings += ptx_warnings(context, numbered, unverified)
    warnings += allergy_warnings(context, numbered)
    warnings += anticoagulation_warnings(context)
    warnings += expired_lot_warnings(context, numbered)
    warnings += unspecified_warnings(context, numbered)
    warnings += session_warnings(context)
    warnings += repeat_interval_warnings(context, injected)
    warnings += relief_warnings(context)
    warnings += region_warnings(context, injected, regions)
    warnings += diagnosis_warnings(context)
    warnings += pain_warnings(context)
    warnings += dry_needling_warnings(context, injected, dry)
    warnings += same_day_warnings(context, injected)
    warnings += pediatric_warnings(context)
    warnings += cross_reactivity_warnings(context, numbered, unverified)
    warnings += label_caution_warnings(context, numbered, unverified)
    warnings += image_guidance_warnings(context)
    warnings += site_diagnosis_warnings(context, performed, unverified)
    warnings += relief_interval_warnings(context)
    warnings += overdrawn_warnings(context)
    warnings.sort(key=lambda warning: WARNING_CODES.index(warning.code))

    notes += site_notes(context, injected)
    preparations = preparation_use(context, injected)
    billing = build_billing(context, cpt, hcpcs, warnings, injected or dry, dry, notes, unverified)

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
                mg=round_mg(given[agent].mg),
                ml=round_ml(given[agent].ml),
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
                ptx_risk=is_ptx_risk(data, site.muscle),
                dry_needling=site.dry_needling,
                doses=tuple(
                    Amount(agent=agent, mg=round_mg(dose.mg), ml=round_ml(dose.ml))
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
