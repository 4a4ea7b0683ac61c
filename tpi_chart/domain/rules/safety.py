"""Placement and preparation safety, shown for every site before the needle goes in:
pneumothorax risk, uncoded sites, expired lots, label cautions, anticoagulation, children,
and the pain scores due."""

from __future__ import annotations

import math

from tpi_chart.domain.catalog import UNSPECIFIED
from tpi_chart.domain.localdates import age_on
from tpi_chart.domain.models import Site
from tpi_chart.domain.rules.context import (
    RuleContext,
    is_ptx_risk,
    join_words,
    plural,
    site_list,
    sites_word,
)
from tpi_chart.domain.rules.results import RuleWarning, Unverified


def ptx_warnings(
    context: RuleContext, numbered: list[tuple[int, Site]], unverified: list[Unverified]
) -> list[RuleWarning]:
    sites = [number for number, site in numbered if is_ptx_risk(context.catalog, site.muscle)]
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
    described = join_words([context.describe_site(number) for number in sites])
    return [
        RuleWarning(
            code="ptx_risk_site",
            message=f"Pneumothorax risk at {sites_word(sites)} {described}. " + " ".join(cautions),
            sites=tuple(sites),
        )
    ]


def anticoagulation_warnings(context: RuleContext) -> list[RuleWarning]:
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


def expired_lot_warnings(
    context: RuleContext, numbered: list[tuple[int, Site]]
) -> list[RuleWarning]:
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
            where = f" ({sites_word(sites)} {site_list(sites)})" if sites else ""
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


def unspecified_warnings(
    context: RuleContext, numbered: list[tuple[int, Site]]
) -> list[RuleWarning]:
    sites = tuple(number for number, site in numbered if site.muscle == UNSPECIFIED)
    if not sites:
        return []
    return [
        RuleWarning(
            code="muscle_unspecified",
            message=(
                f"{sites_word(sites).capitalize()} {site_list(sites)} — "
                f"{context.catalog.unspecified_message}"
            ),
            sites=sites,
        )
    ]


def pain_warnings(context: RuleContext) -> list[RuleWarning]:
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


def pediatric_warnings(context: RuleContext) -> list[RuleWarning]:
    rule = context.catalog.formulary_rules.pediatric
    age = age_on(context.document.patient.birth_date, context.procedure_date)
    if age >= rule.under_age_years:
        return []
    return [
        RuleWarning(
            code="pediatric_patient",
            message=(
                f"Patient is {plural(age, 'year')} old on {context.procedure_date.isoformat()} "
                f"(under {rule.under_age_years}): the anesthetic labels call for reduced doses in "
                "children; the maximum shown is the weight-based one, reduce it "
                f"({rule.source})."
            ),
        )
    ]


def label_caution_warnings(
    context: RuleContext, numbered: list[tuple[int, Site]], unverified: list[Unverified]
) -> list[RuleWarning]:
    # Like allergies, label points are shown for every preparation drawn up, before the needle
    # goes in: a trigger point injection is always intramuscular.
    warnings: list[RuleWarning] = []
    agents = context.catalog.agents
    for preparation in context.procedure.preparations:
        sites = tuple(number for number, site in numbered if site.preparation == preparation.id)
        where = f" ({sites_word(sites)} {site_list(sites)})" if sites else ""
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
                        f"{join_words(steroids)} into the {muscle.name.lower()} at site {number}: "
                        f"{risk.message} (source: {risk.source or site_rule.source})"
                    ),
                    sites=(number,),
                )
            )
    return warnings
