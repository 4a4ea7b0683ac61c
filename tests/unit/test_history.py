"""The patient's history (domain.history): worked numbers and properties over any procedures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import procedures
from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.history import (
    WINDOW_DAYS,
    PatientHistory,
    session_count,
    summarize,
    visit_day,
)
from tpi_chart.domain.models import Component, Preparation, Procedure, Site
from tpi_chart.domain.rules.amounts import agent_totals

CATALOG = load_catalog()
MEDICARE = CATALOG.payers["medicare-2024"]
AS_OF = date(2025, 8, 1)

NECK = (
    ("upper_trapezius", "left"),
    ("upper_trapezius", "right"),
    ("levator_scapulae", "left"),
    ("levator_scapulae", "right"),
    ("rhomboid_major", "right"),
    ("infraspinatus", "right"),
)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _syringe(steroid: str, concentration: str, steroid_ml: float, lido_ml: float) -> Preparation:
    return Preparation(
        id="A",
        components=(
            Component(agent="lidocaine", concentration="1%", volume_ml=lido_ml),
            Component(agent=steroid, concentration=concentration, volume_ml=steroid_ml),
        ),
    )


def _visit(
    day: date,
    sites: tuple[tuple[str, str], ...],
    preparation: Preparation,
    volume_ml: float,
    *,
    pain: tuple[int | None, int | None] = (None, None),
    prior_relief: int | None = None,
    state: str = "injected",
    status: str = "in_progress",
    payer: str = "medicare-2024",
) -> Procedure:
    return Procedure(
        performed_at=_at(day),
        status=status,  # type: ignore[arg-type]
        payer_profile=payer,
        pain_before=pain[0],
        pain_after=pain[1],
        prior_relief_percent=prior_relief,
        prior_relief_weeks=None if prior_relief is None else 8,
        preparations=(preparation,),
        sites=tuple(
            Site(
                muscle=muscle,
                side=side,  # type: ignore[arg-type]
                state=state,  # type: ignore[arg-type]
                preparation="A",
                volume_ml=volume_ml,
            )
            for muscle, side in sites
        ),
    )


# Four visits. Triamcinolone 40 mg/mL: 1 mL in a 9 mL syringe, 6 × 1.5 mL given → 40 mg.
# Dexamethasone 4 mg/mL: 1 mL in 5 mL, 2 × 2.5 mL → 4 mg (× 5.333 = 21.332 mg MP-eq).
# Triamcinolone 0.5 mL in 5 mL, 2 × 2.5 mL → 20 mg.
OLD = _visit(date(2024, 3, 1), NECK, _syringe("triamcinolone", "40 mg/mL", 1, 8), 1.5)
FIRST = _visit(
    date(2025, 1, 10),
    NECK,
    _syringe("triamcinolone", "40 mg/mL", 1, 8),
    1.5,
    pain=(8, 3),
    prior_relief=30,
)
SECOND = _visit(
    date(2025, 4, 10),
    (("upper_trapezius", "left"), ("upper_trapezius", "right")),
    _syringe("dexamethasone", "4 mg/mL", 1, 4),
    2.5,
    pain=(7, 2),
    prior_relief=55,
)
THIRD = _visit(
    date(2025, 7, 10),
    (("upper_trapezius", "left"), ("infraspinatus", "right")),
    _syringe("triamcinolone", "40 mg/mL", 0.5, 4.5),
    2.5,
    pain=(6, 4),
    prior_relief=40,
)
WORKED = (THIRD, OLD, SECOND, FIRST)  # any order in, chronological out


def _worked() -> PatientHistory:
    return summarize(WORKED, as_of=AS_OF, ids=[4, 1, 3, 2])


def test_visits_are_chronological_and_relief_is_the_next_visit_s_prior_relief() -> None:
    history = _worked()
    assert [v.day for v in history.visits] == [
        date(2024, 3, 1),
        date(2025, 1, 10),
        date(2025, 4, 10),
        date(2025, 7, 10),
    ]
    assert [v.procedure_id for v in history.visits] == [1, 2, 3, 4]
    assert [v.relief_percent for v in history.visits] == [30, 55, 40, None]
    assert [(v.pain_before, v.pain_after) for v in history.visits] == [
        (None, None),
        (8, 3),
        (7, 2),
        (6, 4),
    ]
    assert [v.injected_sites for v in history.visits] == [6, 6, 2, 2]
    assert [v.muscles for v in history.visits] == [6, 6, 2, 2]
    assert [[(a.agent, a.mg) for a in v.steroids] for v in history.visits] == [
        [("triamcinolone", 40.0)],
        [("triamcinolone", 40.0)],
        [("dexamethasone", 4.0)],
        [("triamcinolone", 20.0)],
    ]


def test_steroid_over_the_last_12_months_in_mg_and_methylprednisolone_equivalents() -> None:
    steroids = _worked().steroids
    assert steroids.since == date(2024, 8, 2)  # 2024-03-01 falls outside
    assert steroids.until == AS_OF
    rows = {row.agent: row for row in steroids.agents}
    assert [row.agent for row in steroids.agents] == ["triamcinolone", "dexamethasone"]
    assert rows["triamcinolone"].mg == 60.0
    assert rows["triamcinolone"].visits == 2
    assert rows["triamcinolone"].factor == 1.0
    assert rows["triamcinolone"].methylprednisolone_mg == 60.0
    assert rows["dexamethasone"].mg == 4.0
    assert rows["dexamethasone"].factor == 5.333
    assert rows["dexamethasone"].methylprednisolone_mg == 21.3
    assert steroids.methylprednisolone_mg == 81.3  # 60 + 21.332
    # Both factors are secondary-source figures (clinical-reference §5.4).
    assert not rows["triamcinolone"].factor_verified
    assert not rows["dexamethasone"].factor_verified
    assert steroids.verified is False
    assert steroids.missing_factor == ()


def test_methylprednisolone_itself_is_a_verified_factor() -> None:
    visit = _visit(
        date(2025, 6, 1),
        (("upper_trapezius", "left"),),
        _syringe("methylprednisolone_acetate", "40 mg/mL", 1, 4),
        5,
    )
    steroids = summarize([visit], as_of=AS_OF).steroids
    assert [(r.agent, r.mg, r.factor_verified) for r in steroids.agents] == [
        ("methylprednisolone_acetate", 40.0, True)
    ]
    assert steroids.methylprednisolone_mg == 40.0
    assert steroids.verified is True


def test_sessions_counted_against_the_payer_limit() -> None:
    sessions = _worked().sessions
    assert sessions.payer == "medicare-2024"
    assert sessions.limit == 3
    assert sessions.used == 3
    assert sessions.dates == (date(2025, 1, 10), date(2025, 4, 10), date(2025, 7, 10))
    assert sessions.next_would_exceed
    # The oldest of the three leaves the rolling window 365 days after it.
    assert sessions.next_free == date(2026, 1, 10)
    assert sessions.message == (
        "3 of 3 sessions used under medicare-2024; next session would exceed "
        "(one fits again from 2026-01-10)"
    )


def test_two_sessions_leave_one_and_the_window_edge_is_365_days() -> None:
    edge = AS_OF - timedelta(days=WINDOW_DAYS - 1)  # the 365th day, counted
    outside = edge - timedelta(days=1)
    prep = _syringe("triamcinolone", "40 mg/mL", 1, 8)
    visits = [
        _visit(outside, NECK, prep, 1.5),
        _visit(edge, NECK, prep, 1.5),
        _visit(date(2025, 5, 1), NECK, prep, 1.5),
    ]
    sessions = session_count(visits, MEDICARE, AS_OF)
    assert sessions.dates == (edge, date(2025, 5, 1))
    assert not sessions.next_would_exceed
    assert sessions.message == (
        "2 of 3 sessions used under medicare-2024; 1 more allowed in the 365 days to 2025-08-01"
    )


def test_a_planned_only_procedure_is_not_a_session_and_one_day_is_one_session() -> None:
    prep = _syringe("triamcinolone", "40 mg/mL", 1, 8)
    morning = _visit(date(2025, 5, 1), NECK[:2], prep, 1.5)
    afternoon = morning.model_copy(update={"performed_at": _at(date(2025, 5, 1), 15)})
    planned = _visit(AS_OF, NECK, prep, 1.5, state="planned", status="planned")
    history = summarize([morning, afternoon, planned], as_of=AS_OF)
    assert history.sessions.used == 1
    assert history.sessions_total == 1
    assert [v.is_session for v in history.visits] == [True, True, False]
    assert len(history.markers) == 4  # planned sites are not drawn
    # Two procedures on one day: each counts its injections.
    trapezius = {(m.muscle, m.side): m for m in history.muscles}[("upper_trapezius", "left")]
    assert (trapezius.injections, trapezius.visits) == (2, 2)


def test_injections_per_muscle_with_last_date_and_next_allowed() -> None:
    muscles = _worked().muscles
    table = {(m.muscle, m.side): m for m in muscles}
    trapezius = table[("upper_trapezius", "left")]
    assert (trapezius.injections, trapezius.visits) == (4, 4)
    assert trapezius.first == date(2024, 3, 1)
    assert trapezius.last == date(2025, 7, 10)
    assert trapezius.next_allowed == date(2025, 8, 21)  # + 42 days (medicare-2024)
    assert not trapezius.allowed_on(AS_OF)
    assert trapezius.allowed_on(date(2025, 8, 21))
    levator = table[("levator_scapulae", "right")]
    assert (levator.injections, levator.last, levator.next_allowed) == (
        2,
        date(2025, 1, 10),
        date(2025, 2, 21),
    )
    assert levator.allowed_on(AS_OF)
    # Most recently injected first, then by name.
    assert [(m.muscle, m.side) for m in muscles[:3]] == [
        ("infraspinatus", "right"),
        ("upper_trapezius", "left"),
        ("upper_trapezius", "right"),
    ]
    assert sum(m.injections for m in muscles) == 16


def test_no_payer_limits_under_none() -> None:
    prep = _syringe("triamcinolone", "40 mg/mL", 1, 8)
    visit = _visit(date(2025, 5, 1), NECK, prep, 1.5, payer="none")
    history = summarize([visit], as_of=AS_OF)
    assert history.sessions.limit is None
    assert not history.sessions.next_would_exceed
    assert history.sessions.message == (
        "1 session in the 365 days to 2025-08-01; no session limit under none"
    )
    assert all(m.next_allowed is None for m in history.muscles)
    assert history.relief_threshold == 50


def test_the_payer_override_and_the_latest_procedure_s_payer() -> None:
    prep = _syringe("triamcinolone", "40 mg/mL", 1, 8)
    older = _visit(date(2025, 5, 1), NECK, prep, 1.5, payer="none")
    latest = _visit(date(2025, 6, 1), NECK, prep, 1.5)
    assert summarize([latest, older], as_of=AS_OF).sessions.payer == "medicare-2024"
    assert summarize([older, latest], as_of=AS_OF, payer="none").sessions.limit is None


def test_markers_use_stored_positions_else_the_muscle_zone_and_count_the_unplaced() -> None:
    prep = _syringe("triamcinolone", "40 mg/mL", 1, 8)
    placed = Site(
        muscle="upper_trapezius", side="left", view="posterior", x=0.3, y=0.2, preparation="A"
    )
    zoned = Site(muscle="infraspinatus", side="right", preparation="A", volume_ml=1)
    uncoded = Site(muscle="unspecified", side="left", preparation="A", volume_ml=1)
    visit = Procedure(
        performed_at=_at(date(2025, 6, 1)),
        preparations=(prep,),
        sites=(placed, zoned, uncoded),
        prior_relief_percent=None,
    )
    history = summarize([visit], as_of=AS_OF)
    assert next((m.view, m.x, m.y, m.muscle) for m in history.markers) == (
        "posterior",
        0.3,
        0.2,
        "upper_trapezius",
    )
    assert history.markers[1].view == "posterior"
    assert history.markers[1].muscle == "infraspinatus"
    assert history.unplaced_sites == 1
    unspecified = {(m.muscle, m.side): m for m in history.muscles}[("unspecified", "left")]
    assert unspecified.muscle_name == CATALOG.unspecified_name
    assert unspecified.next_allowed is None


def test_an_empty_history() -> None:
    history = summarize([], as_of=AS_OF)
    assert history.visits == ()
    assert history.markers == ()
    assert history.muscles == ()
    assert not history.has_injections
    assert history.steroids.agents == ()
    assert history.steroids.methylprednisolone_mg == 0.0
    assert history.steroids.verified is True
    assert history.sessions.used == 0
    assert history.sessions.payer == "none"


def test_ids_must_align_with_procedures() -> None:
    with pytest.raises(ValueError, match="1 ids for 4 procedures"):
        summarize(WORKED, as_of=AS_OF, ids=[1])


# ---- properties --------------------------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Procedure], date]:
    as_of = draw(st.dates(min_value=date(2022, 1, 1), max_value=date(2027, 12, 31)))
    found: list[Procedure] = []
    for procedure in draw(st.lists(procedures(), max_size=8)):
        offset = draw(st.integers(min_value=-30, max_value=2 * WINDOW_DAYS))
        zone = timezone(timedelta(hours=draw(st.integers(-8, 8))))
        when = datetime(as_of.year, as_of.month, as_of.day, 12, tzinfo=zone) - timedelta(
            days=offset
        )
        found.append(procedure.model_copy(update={"performed_at": when}))
    return found, as_of


PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(histories())
def test_totals_equal_the_sum_over_visits(case: tuple[list[Procedure], date]) -> None:
    visits, as_of = case
    history = summarize(visits, as_of=as_of)
    assert len(history.visits) == len(visits)
    assert [v.performed_at for v in history.visits] == sorted(p.performed_at for p in visits)
    window = [v for v in history.visits if history.steroids.since <= v.day <= as_of]

    # Steroid per agent: the rounded total is within rounding of the sum of the rounded visits,
    # and equals the rounded sum of the unrounded doses.
    steroid_ids = {a.id for a in CATALOG.agents.values() if a.agent_class == "corticosteroid"}
    for row in history.steroids.agents:
        per_visit = [a.mg for v in window for a in v.steroids if a.agent == row.agent]
        assert row.visits == len(per_visit)
        assert abs(row.mg - sum(per_visit)) <= 0.05 * (len(per_visit) + 1) + 1e-9
        exact = sum(
            agent_totals(p)[row.agent].mg
            for p in visits
            if history.steroids.since <= visit_day(p) <= as_of and row.agent in agent_totals(p)
        )
        assert abs(row.mg - exact) <= 0.05 + 1e-9
    shown = {row.agent for row in history.steroids.agents}
    assert shown == {a.agent for v in window for a in v.steroids} & steroid_ids
    equivalent = sum(
        row.mg * row.factor for row in history.steroids.agents if row.factor is not None
    )
    assert abs(history.steroids.methylprednisolone_mg - equivalent) <= 0.05 * (
        len(history.steroids.agents) * 6 + 1
    )

    # Sessions: the distinct injected days of the window.
    assert history.sessions.used == len({v.day for v in window if v.is_session})
    assert history.sessions.used == len(history.sessions.dates)
    limit = history.sessions.limit
    assert history.sessions.next_would_exceed == (
        limit is not None and history.sessions.used >= limit
    )
    if history.sessions.next_free is not None:
        assert history.sessions.next_free > as_of

    # Injections per muscle add up to the injected sites; markers plus unplaced likewise.
    injected = sum(v.injected_sites for v in history.visits)
    assert sum(m.injections for m in history.muscles) == injected
    assert len(history.markers) + history.unplaced_sites == injected
    for row in history.muscles:
        days = [
            visit_day(p)
            for p in visits
            for s in p.sites
            if s.delivers_injectate and (s.muscle, s.side) == (row.muscle, row.side)
        ]
        assert row.injections == len(days)
        assert row.last == max(days)
        assert row.first == min(days)


def test_a_visit_summarized_again_gives_the_same_facts_and_a_new_zone_a_new_day() -> None:
    """The per-visit facts are kept by the procedure object (the storage hands back the same one
    for an unchanged visit); the day is worked out again when the clinic's zone changes."""
    from tpi_chart.domain.localdates import clinic_zone, set_clinic_zone, zone_named

    syringe = _syringe("triamcinolone", "40 mg/mL", 1.0, 4.0)
    # 02:00 UTC: still the day before in Denver.
    late = _visit(date(2025, 3, 4), (("upper_trapezius", "left"),), syringe, 1.0)
    late = late.model_copy(update={"performed_at": _at(date(2025, 3, 4), hour=2)})
    before = clinic_zone()
    try:
        set_clinic_zone(UTC)
        first = summarize([late], as_of=date(2025, 3, 10))
        again = summarize([late], as_of=date(2025, 3, 10))
        assert again == first
        assert first.visits[0].day == date(2025, 3, 4)
        set_clinic_zone(zone_named("America/Denver"))
        denver = summarize([late], as_of=date(2025, 3, 10))
        assert denver.visits[0].day == date(2025, 3, 3)
        assert denver.steroids == first.steroids
    finally:
        set_clinic_zone(before)
