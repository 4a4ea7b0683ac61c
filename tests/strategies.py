"""Hypothesis strategies for valid procedure documents, shared by model, storage and rules tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import strategies as st

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.fields import INVISIBLE_IN_NAMES
from tpi_chart.domain.models import (
    Component,
    Findings,
    Needle,
    Patient,
    Preparation,
    PriorProcedure,
    PriorSite,
    Procedure,
    ProcedureDocument,
    Site,
)

CATALOG = load_catalog()
MUSCLES = [*sorted(CATALOG.muscles), "unspecified"]
AGENTS = sorted(CATALOG.agents)
PAYERS = sorted(CATALOG.payers)

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=20,
)
names = st.one_of(
    text.filter(lambda name: not set(name) & INVISIBLE_IN_NAMES),
    st.sampled_from(["José", "Nguyễn", "Ødegård", "李", "O'Neil", "Müller-Lüdenscheidt"]),
)
volumes = st.floats(min_value=0.1, max_value=20, allow_nan=False).map(lambda v: round(v, 2))
zones = st.sampled_from([timezone(timedelta(hours=h)) for h in (-8, -7, -5, 0, 1, 5)] + [UTC])


@st.composite
def aware_datetimes(draw: st.DrawFn, start: datetime | None = None) -> datetime:
    naive = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)))
    return naive.replace(microsecond=0, tzinfo=draw(zones))


@st.composite
def patients(draw: st.DrawFn) -> Patient:
    return Patient(
        mrn=draw(st.from_regex(r"[A-Z][0-9]{3,8}", fullmatch=True)),
        family_name=draw(names).strip() or "Doe",
        given_name=draw(names).strip() or "Jane",
        birth_date=draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2010, 12, 31))),
        sex=draw(st.sampled_from(["female", "male", "other", "unknown"])),
        weight_kg=draw(
            st.one_of(st.none(), st.floats(min_value=30, max_value=200).map(lambda w: round(w, 1)))
        ),
        allergies=tuple(
            draw(
                st.lists(
                    st.sampled_from(
                        [
                            "sulfonamides",
                            "lidocaine",
                            "latex",
                            "amide local anesthetic",
                            "penicillin",
                        ]
                    ),
                    max_size=2,
                    unique=True,
                )
            )
        ),
        anticoagulated=draw(st.booleans()),
        phone=draw(
            st.one_of(
                st.none(),
                st.sampled_from(["(555) 010-2030", "+1 555 010 2030 ext 12", "555.010.2030"]),
            )
        ),
    )


def _concentration(agent: str) -> str:
    strengths = CATALOG.agents[agent].strengths
    return strengths[0] if strengths else "1 mg/mL"


@st.composite
def preparations(draw: st.DrawFn, prep_id: str) -> Preparation:
    agents = draw(st.lists(st.sampled_from(AGENTS), min_size=1, max_size=3, unique=True))
    components = []
    for agent in agents:
        strengths = CATALOG.agents[agent].strengths or ("1 mg/mL",)
        volume = draw(volumes)
        container = draw(st.sampled_from([None, "single_dose", "multi_dose"]))
        components.append(
            Component(
                agent=agent,
                concentration=draw(st.sampled_from(strengths)),
                volume_ml=volume,
                container=container,  # type: ignore[arg-type]
                container_ml=draw(st.one_of(st.none(), st.just(min(100.0, volume * 2))))
                if container
                else None,
                lot=draw(
                    st.one_of(st.none(), st.from_regex(r"[A-Z]{1,3}[0-9]{2,6}", fullmatch=True))
                ),
                expires=draw(
                    st.one_of(
                        st.none(), st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 1, 1))
                    )
                ),
            )
        )
    return Preparation(id=prep_id, components=tuple(components))


@st.composite
def sites(draw: st.DrawFn, preparation_ids: tuple[str, ...]) -> Site:
    placed = draw(st.booleans())
    muscle = draw(st.sampled_from(MUSCLES))
    # "midline" is only for an uncoded site (every catalog muscle is paired).
    sides = ["left", "right", "midline"] if muscle == "unspecified" else ["left", "right"]
    if draw(st.integers(0, 9)) == 0:  # now and then a dry-needled site: no syringe, no volume
        return Site(muscle=muscle, side=draw(st.sampled_from(sides)), dry_needling=True, notes=None)
    return Site(
        muscle=muscle,
        side=draw(st.sampled_from(sides)),
        state=draw(st.sampled_from(["planned", "injected"])),
        view=draw(st.sampled_from(["anterior", "posterior", "head_left", "head_right"]))
        if placed
        else None,
        x=round(draw(st.floats(0, 1)), 4) if placed else None,
        y=round(draw(st.floats(0, 1)), 4) if placed else None,
        preparation=draw(st.one_of(st.none(), st.sampled_from(preparation_ids)))
        if preparation_ids
        else None,
        volume_ml=draw(st.one_of(st.none(), volumes)),
        twitch=draw(st.one_of(st.none(), st.sampled_from(["none", "weak", "brisk"]))),
        findings=Findings(
            taut_band=draw(st.booleans()),
            referred_pain=draw(st.booleans()),
            jump_sign=draw(st.booleans()),
            negative_aspiration=draw(st.booleans()),
        ),
        needle=draw(st.one_of(st.none(), st.just(Needle(gauge=25, length_in=1.5)))),
        notes=draw(st.one_of(st.none(), text)),
        location=draw(st.one_of(st.none(), st.just("2 cm lateral to the C7 spinous process"))),
    )


@st.composite
def procedures(draw: st.DrawFn, status: str = "in_progress") -> Procedure:
    prep_ids = tuple(draw(st.lists(st.sampled_from(["A", "B", "C"]), max_size=2, unique=True)))
    preps = tuple(draw(preparations(prep_id)) for prep_id in prep_ids)
    return Procedure(
        performed_at=draw(aware_datetimes()),
        status=status,  # type: ignore[arg-type]
        payer_profile=draw(st.sampled_from(PAYERS)),
        diagnoses=tuple(
            draw(
                st.lists(
                    st.sampled_from(["M79.12", "M79.18", "M54.2", "G44.209"]),
                    max_size=3,
                    unique=True,
                )
            )
        ),
        pain_before=draw(st.one_of(st.none(), st.integers(0, 10))),
        pain_after=draw(st.one_of(st.none(), st.integers(0, 10))),
        preparations=preps,
        sites=tuple(draw(st.lists(sites(prep_ids), max_size=12))),
        complications=draw(st.one_of(st.none(), st.just(()), st.just(("vasovagal",)))),
        notes=draw(st.one_of(st.none(), text)),
    )


@st.composite
def prior_procedures(draw: st.DrawFn) -> PriorProcedure:
    return PriorProcedure(
        performed_at=draw(aware_datetimes()),
        relief_percent=draw(st.one_of(st.none(), st.integers(0, 100))),
        sites=tuple(
            PriorSite(muscle=m, side=s)
            for m, s in draw(
                st.lists(
                    st.tuples(st.sampled_from(MUSCLES), st.sampled_from(["left", "right"])),
                    max_size=6,
                )
            )
        ),
    )


@st.composite
def documents(draw: st.DrawFn) -> ProcedureDocument:
    return ProcedureDocument(
        format="tpi-chart.procedure/1",
        patient=draw(patients()),
        procedure=draw(procedures()),
        prior_procedures=tuple(draw(st.lists(prior_procedures(), max_size=5))),
    )
