"""The payer's coverage and frequency rules: sessions per rolling year, repeat intervals and
relief, regions per session, diagnoses, dry needling, same-day procedures, image guidance."""

from __future__ import annotations

from datetime import date

from tpi_chart.domain.catalog import UNSPECIFIED, Catalog
from tpi_chart.domain.models import Site
from tpi_chart.domain.rules.context import (
    RuleContext,
    billing_key,
    join_words,
    named_muscle_side,
    plural,
    site_list,
    sites_word,
)
from tpi_chart.domain.rules.results import (
    CPT_FEW_MUSCLES,
    CPT_MANY_MUSCLES,
    MANY_MUSCLES_FROM,
    ROLLING_YEAR_DAYS,
    RuleWarning,
    Unverified,
)


def session_warnings(context: RuleContext) -> list[RuleWarning]:
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
    dates = join_words([d.isoformat() for d in earlier])
    return [
        RuleWarning(
            code="sessions_per_year_exceeded",
            message=(
                f"This is session {sessions} in the 365 days up to {day.isoformat()} "
                f"(earlier: {dates}); {context.payer.id} covers at most "
                f"{plural(limit, 'session')} in a rolling 365 days."
            ),
        )
    ]


def repeat_interval_warnings(
    context: RuleContext, injected: list[tuple[int, Site]]
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
                f"{last[key].isoformat()} ({plural(days, 'day')} ago)"
            )
            if detail not in details:
                details.append(detail)
    if not sites:
        return []
    return [
        RuleWarning(
            code="repeat_interval_short",
            message=(
                f"Repeat too soon at {sites_word(sites)} {site_list(sites)}: "
                f"{'; '.join(details)}. {context.payer.id} requires at least "
                f"{plural(min_days, 'day')} before the same muscle and side are injected again."
            ),
            sites=tuple(sites),
        )
    ]


def relief_warnings(context: RuleContext) -> list[RuleWarning]:
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


def region_warnings(
    context: RuleContext, injected: list[tuple[int, Site]], regions: list[str]
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
        where = [f"{sites_word(numbers)} {site_list(numbers)}"] if numbers else []
        where += [f"the procedure at {clock}" for clock in elsewhere.get(region, [])]
        parts.append(f"{name} ({join_words(where)})")
    scope = "one session" if not elsewhere else f"one day's session ({context.procedure_date})"
    return [
        RuleWarning(
            code="multi_region",
            message=(
                f"Injections in {len(day_regions)} anatomical regions in {scope}: "
                f"{join_words(parts)}; {context.payer.id} covers at most "
                f"{plural(limit, 'region')} per session."
            ),
            sites=tuple(sorted(sites)),
        )
    ]


def diagnosis_warnings(context: RuleContext) -> list[RuleWarning]:
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
            f"Diagnosis {join_words(outside)} not covered by {context.payer.id} "
            f"(covered: {', '.join(covered)})."
        )
    return [RuleWarning(code="diagnosis_not_covered", message=message)]


def dry_needling_warnings(
    context: RuleContext, injected: list[tuple[int, Site]], dry: list[tuple[int, Site]]
) -> list[RuleWarning]:
    if not dry:
        return []
    numbers = [number for number, _ in dry]
    muscles: list[str] = []
    for _, site in dry:
        named = named_muscle_side(context, site.muscle, site.side)
        if named not in muscles:
            muscles.append(named)
    source = context.payer.dry_needling_source or (
        "clinical-reference §2.2, §5.5: Medicare covers dry needling only under NCD 30.3.3 "
        "for chronic low back pain"
    )
    if injected:
        coding = (
            "the TPI code counts the injected muscles only; the dry-needled muscles are listed "
            f"separately: {join_words(muscles)}"
        )
    else:
        coding = "code it 20560 (1–2 muscles) or 20561 (3 or more), never 20552/20553"
    return [
        RuleWarning(
            code="dry_needling_not_tpi",
            message=(
                f"Dry needling at {sites_word(numbers)} {site_list(numbers)} (needle without "
                f"injectate) is not a trigger point injection: {coding}. {source}."
            ),
            sites=tuple(numbers),
        )
    ]


def same_day_warnings(context: RuleContext, injected: list[tuple[int, Site]]) -> list[RuleWarning]:
    same_day = context.same_day_sessions()
    if not same_day or not injected:
        return []
    keys = {
        billing_key(context, site.muscle, site.side)
        for _, site in injected
        if site.muscle != UNSPECIFIED
    }
    described = []
    for prior in same_day:
        muscles = []
        for prior_site in prior.sites:
            if prior_site.muscle != UNSPECIFIED:
                keys.add(billing_key(context, prior_site.muscle, prior_site.side))
            named = named_muscle_side(context, prior_site.muscle, prior_site.side)
            if named not in muscles:
                muscles.append(named)
        described.append(f"at {context.clock(prior.performed_at)}: {join_words(muscles)}")
    count = len(keys)
    code = CPT_MANY_MUSCLES if count >= MANY_MUSCLES_FROM else CPT_FEW_MUSCLES
    word = "procedure" if len(same_day) == 1 else "procedures"
    return [
        RuleWarning(
            code="same_day_procedure",
            message=(
                f"Another {word} for this patient on {context.procedure_date.isoformat()} "
                f"({'; '.join(described)}). Only one code from 20552/20553 is reported per "
                f"patient per day (clinical-reference §2.1): {plural(count, 'muscle')} over the "
                f"day → one {code} for the day."
            ),
        )
    ]


def image_guidance_warnings(context: RuleContext) -> list[RuleWarning]:
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


def site_diagnosis_warnings(
    context: RuleContext, performed: list[tuple[int, Site]], unverified: list[Unverified]
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
        f"{context.catalog.regions[region].name} ({sites_word(numbers)} {site_list(numbers)})"
        for region, numbers in by_region.items()
    ]
    supported = []
    for code in diagnoses:
        entry = context.catalog.regions_supported_by(code)
        if entry is not None and entry.regions is not None:
            names = [context.catalog.regions[r].name for r in entry.regions]
            supported.append(f"{code}: {join_words(names)}")
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
                f"No diagnosis supports {join_words(parts)}; the diagnoses cover "
                f"{'; '.join(supported)}. Add the diagnosis for these sites or correct them."
            ),
            sites=sites,
        )
    ]


def relief_interval_warnings(context: RuleContext) -> list[RuleWarning]:
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
                f"({plural(round(weeks * 7), 'day')}), but {until} on {end.isoformat()} came "
                f"{plural(days, 'day')} later"
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
