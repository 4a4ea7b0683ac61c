"""Dose limits: HCPCS drug lines, the local anesthetic maximum (weight-based, several agents
adding as fractions), the steroid equivalent, and what each preparation gave."""

from __future__ import annotations

from tpi_chart.domain.models import Site
from tpi_chart.domain.rules.amounts import (
    Dose,
    hcpcs_units,
    num,
    overdrawn_message,
    overdrawn_preparations,
    round_half_up,
    round_mg,
    round_ml,
)
from tpi_chart.domain.rules.context import RuleContext, join_words, site_list, sites_word
from tpi_chart.domain.rules.results import (
    Anesthetic,
    AnestheticAgent,
    HcpcsLine,
    Note,
    PreparationUse,
    RuleWarning,
    Unverified,
)


def hcpcs_lines(
    context: RuleContext,
    agents_given: list[str],
    given: dict[str, Dose],
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
                mg=round_mg(given[agent_id].mg),
                unit_mg=agent.hcpcs.unit_mg,
                verified=agent.hcpcs.verified,
            )
        )
        if not agent.hcpcs.verified:
            unverified.append(
                Unverified(
                    kind="hcpcs_unit",
                    subject=agent_id,
                    value=f"{agent.hcpcs.code} per {num(agent.hcpcs.unit_mg)} mg",
                    source=agent.hcpcs.source,
                )
            )
    return lines


def anesthetic_limits(
    context: RuleContext,
    given: dict[str, Dose],
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
            per_kg = f"{num(limit.mg_per_kg)} mg/kg, " if limit.mg_per_kg is not None else ""
            unverified.append(
                Unverified(
                    kind="max_dose",
                    subject=agent_id,
                    value=f"{per_kg}at most {num(limit.max_mg)} mg",
                    source=limit.source,
                )
            )
        rows.append(
            AnestheticAgent(
                agent=agent_id,
                mg=round_mg(mg),
                max_mg=round_mg(max_mg),
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


def steroid_equivalent(
    context: RuleContext,
    agents_given: list[str],
    given: dict[str, Dose],
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
                    value=f"1 mg = {num(factor.factor)} mg methylprednisolone",
                    source=factor.source,
                )
            )
    return round_mg(total)


def _anesthetic_sites(context: RuleContext, per_site: tuple[dict[str, Dose], ...]) -> list[int]:
    agents = context.catalog.agents
    return [
        index + 1
        for index, doses in enumerate(per_site)
        if any(agents[agent].agent_class == "local_anesthetic" for agent in doses)
    ]


def dose_warnings(
    context: RuleContext, anesthetic: Anesthetic, per_site: tuple[dict[str, Dose], ...]
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
            basis = f"{num(row.mg_per_kg)} mg/kg × {num(weight)} kg, at most {num(row.cap_mg)} mg"
        else:
            basis = f"absolute cap {num(row.cap_mg)} mg"
        parts.append(f"{name} {num(row.mg)} mg of a {num(row.max_mg)} mg maximum ({basis})")
    detail = "; ".join(parts)
    percent = anesthetic.percent_of_max
    near = round_half_up(context.catalog.anesthetic_near_max.fraction * 100, 1)
    # Decided on the printed percentage (0.1 %) so the warning and the number shown agree.
    if percent > 100:
        warnings.append(
            RuleWarning(
                code="anesthetic_dose_over_max",
                message=(
                    f"Local anesthetic dose is {num(percent)} % of the maximum: {detail}. "
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
                    f"Local anesthetic dose is {num(percent)} % of the maximum "
                    f"(warning from {num(near)} %): {detail}."
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
                        f"{join_words(weight_dependent)} is taken as the absolute cap, not the "
                        "weight-based limit. Record the patient's weight."
                    ),
                    sites=sites,
                )
            )
    return warnings


def site_notes(context: RuleContext, injected: list[tuple[int, Site]]) -> list[Note]:
    # `injected` holds no dry-needled site: having no preparation is what dry needling means.
    empty = [
        number for number, site in injected if site.preparation is None or site.volume_ml is None
    ]
    if not empty:
        return []
    return [
        Note(
            message=(
                f"Injected {sites_word(empty)} {site_list(empty)} without a preparation or a "
                "volume: nothing is counted for them in doses or billing units."
            ),
            sites=tuple(empty),
        )
    ]


def preparation_use(context: RuleContext, injected: list[tuple[int, Site]]) -> list[PreparationUse]:
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
                drawn_ml=round_ml(drawn),
                given_ml=round_ml(given),
                remaining_ml=round_ml(max(0.0, drawn - given)),
                sites=numbers,
            )
        )
    return uses


def overdrawn_warnings(context: RuleContext) -> list[RuleWarning]:
    return [
        RuleWarning(code="volume_exceeds_drawn", message=overdrawn_message(item), sites=item.sites)
        for item in overdrawn_preparations(context.procedure)
    ]
