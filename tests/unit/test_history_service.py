"""HistoryService: the demo patient's stored procedures summarised; unknown and empty patients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.engines import open_clinic
from tests.users import staff
from tpi_chart.domain.models import Component, Patient, Preparation, Procedure, Site
from tpi_chart.domain.rules.amounts import agent_totals
from tpi_chart.services.context import Services
from tpi_chart.services.errors import NotFound
from tpi_chart.services.history import HistoryService


@pytest.fixture
def services(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Services]:
    with open_clinic(engine, tmp_path, request, staff("chen"), demo=True) as opened:
        yield opened


def _history(services: Services) -> HistoryService:
    return HistoryService(services.charting, services.patients)


def test_maria_lopez_history_matches_what_is_stored(services: Services) -> None:
    maria = services.patients.by_mrn("D1001")
    assert maria is not None
    history = _history(services).for_patient(maria.id)
    stored = [services.charting.get(s.id) for s in services.charting.list_for_patient(maria.id)]
    stored.sort(key=lambda s: s.procedure.performed_at)
    assert [v.procedure_id for v in history.visits] == [s.id for s in stored]
    # Two signed visits (26 and 13 weeks ago) and today's planned copy-forward.
    assert [v.status for v in history.visits] == ["signed", "signed", "planned"]
    assert [(v.pain_before, v.pain_after) for v in history.visits][:2] == [(8, 3), (7, 2)]
    assert [v.relief_percent for v in history.visits] == [55, 60, None]
    assert history.sessions.used == 2
    assert history.sessions.limit == 3
    assert history.sessions.message.startswith("2 of 3 sessions used under medicare-2024")
    triamcinolone = sum(
        agent_totals(s.procedure)["triamcinolone"].mg
        for s in stored
        if "triamcinolone" in agent_totals(s.procedure)
    )
    assert triamcinolone == pytest.approx(80.0)
    assert [(r.agent, r.mg, r.methylprednisolone_mg) for r in history.steroids.agents] == [
        ("triamcinolone", 80.0, 80.0)
    ]
    assert history.steroids.verified is False
    pairs = {(site.muscle, site.side) for s in stored for site in s.procedure.injected_sites}
    assert {(m.muscle, m.side) for m in history.muscles} == pairs
    assert all(m.injections == 2 for m in history.muscles)
    last = stored[1].procedure.performed_at.date()
    assert all(m.next_allowed == last + timedelta(days=42) for m in history.muscles)
    assert len(history.markers) == 12


def test_a_patient_without_procedures_has_an_empty_history(services: Services) -> None:
    lan = services.patients.by_mrn("D1002")
    assert lan is not None
    history = _history(services).for_patient(lan.id)
    assert history.visits == ()
    assert not history.has_injections


def test_an_unknown_patient_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        _history(services).for_patient(9999)


def test_forty_visits_are_summarised_quickly(services: Services) -> None:
    patient = services.patients.create(
        Patient(
            mrn="H4000",
            family_name="Forty",
            given_name="Visits",
            birth_date=date(1970, 1, 1),
            sex="female",
        )
    )
    syringe = Preparation(
        id="A",
        components=(
            Component(agent="lidocaine", concentration="1%", volume_ml=8),
            Component(agent="triamcinolone", concentration="40 mg/mL", volume_ml=1),
        ),
    )
    start = datetime(2023, 1, 2, 10, tzinfo=UTC)
    with services.store.transaction():
        for week in range(40):
            services.charting.create(
                patient.id,
                Procedure(
                    performed_at=start + timedelta(weeks=3 * week),
                    payer_profile="medicare-2024",
                    pain_before=7,
                    pain_after=3,
                    prior_relief_percent=50,
                    preparations=(syringe,),
                    sites=tuple(
                        Site(muscle=m, side=side, preparation="A", volume_ml=1.5)
                        for m in ("upper_trapezius", "levator_scapulae", "rhomboid_major")
                        for side in ("left", "right")
                    ),
                ),
            )
    began = time.perf_counter()
    history = _history(services).for_patient(patient.id, as_of=date(2025, 4, 30))
    elapsed = time.perf_counter() - began
    assert len(history.visits) == 40
    assert sum(m.injections for m in history.muscles) == 240
    # Every 21 days from 2023-01-02 (day 0): the window 2024-05-01..2025-04-30 is days 485..849,
    # so visits 24..39 fall in it.
    assert history.sessions.used == 16
    assert history.sessions.next_would_exceed
    assert elapsed < 1.0, f"{elapsed:.3f} s for 40 visits"


def test_voided_visits_and_notes_entered_in_error_are_left_out(services: Services) -> None:
    """The history reads which visits are voided with a query of its own (not the procedure
    list): a voided visit and a signed note marked entered in error are both left out."""
    from tests.accounts import signing_physician

    maria = services.patients.by_mrn("D1001")
    assert maria is not None
    listed = services.charting.list_for_patient(maria.id)  # newest first
    planned, _, oldest = (summary.id for summary in listed)
    services.charting.void(planned, "opened by mistake")
    chen = signing_physician(services)
    services.as_user(chen).signing.add_addendum(
        oldest, chen, "Charted for the wrong patient", entered_in_error=True
    )
    assert services.charting.voided_ids(maria.id) == {planned, oldest}
    history = _history(services).for_patient(maria.id)
    kept = [summary.id for summary in services.charting.list_for_patient(maria.id)]
    assert [visit.procedure_id for visit in history.visits] == kept
    assert len(kept) == 1
    assert planned not in kept
    assert oldest not in kept
