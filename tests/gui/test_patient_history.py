"""The patient's History tab: the numbers shown are the stored ones; empty patients say so; a
long history renders quickly; the screenshot at 1366×768."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.models import Component, Patient, Preparation, Procedure, Site
from tpi_chart.domain.rules.amounts import agent_totals
from tpi_chart.domain.users import User
from tpi_chart.services.context import Services, open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.patients import PatientsPage
from tpi_chart.ui.patients.history_plot import visit_tooltip
from tpi_chart.ui.style import apply_theme

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("patient history")
    with open_services(tmp_path / "x.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _page(qtbot: QtBot, services: Services) -> PatientsPage:
    page = PatientsPage(services)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    qtbot.waitExposed(page)
    return page


def _select(qtbot: QtBot, page: PatientsPage, text: str) -> None:
    page.search.setText(text)
    # The search is debounced: wait for this search's result, not the previous one's.
    qtbot.waitUntil(lambda: page.results.count() == 1 and text in page.results.item(0).text())
    page.results.setCurrentRow(0)


def _open_history(qtbot: QtBot, page: PatientsPage) -> None:
    bar = page.tabs.tabBar()
    assert bar.tabText(1) == "History"
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert page.tabs.currentWidget() is page.history


def _table(page: PatientsPage) -> list[list[str]]:
    table = page.history.muscles
    return [
        [table.item(row, column).text() for column in range(table.columnCount())]
        for row in range(table.rowCount())
    ]


def test_maria_lopez_history_shows_what_is_stored(qtbot: QtBot, services: Services) -> None:
    page = _page(qtbot, services)
    _select(qtbot, page, "Lopez")
    assert page.name_label.text() == "Lopez, Maria"
    assert page.history.history is None  # not computed until the tab is opened
    _open_history(qtbot, page)
    view = page.history
    assert view.stack.currentIndex() == 1

    maria = services.patients.by_mrn("D1001")
    assert maria is not None
    stored = [services.charting.get(s.id) for s in services.charting.list_for_patient(maria.id)]
    injected = [s for s in stored if s.procedure.injected_sites]
    sessions = sorted({s.procedure.performed_at.date() for s in injected})
    assert len(sessions) == 2

    # Sessions against medicare-2024's limit of 3.
    assert view.sessions_value.text() == "2 of 3"
    assert view.sessions_text.text().startswith("2 of 3 sessions used under medicare-2024; 1 more")
    assert "every muscle may be injected again" in view.interval_text.text()

    # Steroid: the stored triamcinolone, summed, and its UNVERIFIED equivalence factor.
    triamcinolone = sum(agent_totals(s.procedure)["triamcinolone"].mg for s in injected)
    assert triamcinolone == pytest.approx(80.0)
    assert view.steroid_value.text() == "80\u00a0mg MP-eq"
    assert view.steroid_agents.text() == (
        "Triamcinolone acetonide 80\u00a0mg, 2 visits → 80\u00a0mg*"
    )
    assert "= 1 mg methylprednisolone (UNVERIFIED" in view.steroid_agents.toolTip()
    assert view.steroid_flag.isVisible()
    assert view.steroid_flag.text().startswith("⚠ * UNVERIFIED equivalence factor (S149")

    # Last session: the later signed visit; its relief is recorded on today's procedure.
    last = max(sessions)
    assert view.last_value.text() == last.isoformat()
    assert "pain 7\u00a0→\u00a02" in view.last_text.text()
    assert "relief 60\u00a0%" in view.last_text.text()

    # Injections per muscle and side: every stored pair, twice, last on the later visit.
    counts: dict[tuple[str, str], int] = {}
    for s in injected:
        for site in s.procedure.injected_sites:
            counts[(site.muscle, site.side)] = counts.get((site.muscle, site.side), 0) + 1
    rows = _table(page)
    assert len(rows) == len(counts) == 6
    assert {row[1] for row in rows} == {"2"}
    assert {row[2] for row in rows} == {last.isoformat()}
    assert ["Upper trapezius L", "2", last.isoformat()] in [row[:3] for row in rows]
    next_allowed = last + timedelta(days=42)
    expected_next = "now" if next_allowed <= date.today() else f"⚠ {next_allowed.isoformat()}"
    assert {row[3] for row in rows} == {expected_next}

    # The plot shows the two visits with pain scores; the diagram every injected site.
    assert [v.day for v in view.plot.visits] == sessions
    view.plot.grab()  # lays out the plot's points
    first_x = view.plot._xs[0][0]
    hovered = view.plot.visit_at(first_x + 3)
    assert hovered is not None
    assert visit_tooltip(hovered) == (
        f"{sessions[0].isoformat()} · 6 injected sites · pain 8 → 3 · relief 55 % at 8 weeks"
    )
    assert len(view.diagram.markers) == sum(counts.values()) == 12
    assert view.diagram.shown_views() == ["posterior"]
    assert "each spot 2×" in view.legend.text()


def test_a_patient_without_procedures_says_so(qtbot: QtBot, services: Services) -> None:
    page = _page(qtbot, services)
    _select(qtbot, page, "D1002")
    _open_history(qtbot, page)
    assert page.history.stack.currentIndex() == 0
    assert page.history.empty.isVisible()
    assert page.history.empty.text() == (
        "No procedures recorded for this patient yet: no history to show."
    )


def test_switching_patient_with_history_open_recomputes(qtbot: QtBot, services: Services) -> None:
    page = _page(qtbot, services)
    _select(qtbot, page, "D1002")
    _open_history(qtbot, page)
    assert page.history.stack.currentIndex() == 0
    _select(qtbot, page, "D1003")  # one injected masseter, payer none
    assert page.history.stack.currentIndex() == 1
    assert page.history.sessions_value.text() == "1"
    assert "no session limit under none" in page.history.sessions_text.text()
    assert _table(page) == [["Masseter L", "1", page.history.last_value.text(), "—"]]
    assert page.history.diagram.shown_views() == ["head_left"]


def _forty_visits(services: Services) -> int:
    patient = services.patients.create(
        Patient(
            mrn="H4000",
            family_name="Forty",
            given_name="Visits",
            birth_date=date(1970, 1, 1),
            sex="female",
        )
    )
    syringes = (
        Preparation(
            id="A",
            components=(
                Component(agent="lidocaine", concentration="1%", volume_ml=8),
                Component(agent="triamcinolone", concentration="40 mg/mL", volume_ml=1),
            ),
        ),
        Preparation(
            id="B",
            components=(
                Component(agent="lidocaine", concentration="1%", volume_ml=4),
                Component(agent="dexamethasone", concentration="4 mg/mL", volume_ml=1),
            ),
        ),
    )
    muscles = (
        ("upper_trapezius", "left"),
        ("upper_trapezius", "right"),
        ("levator_scapulae", "left"),
        ("infraspinatus", "right"),
        ("pectoralis_major", "left"),
        ("sternocleidomastoid", "right"),
    )
    start = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    with services.store.transaction():
        for visit in range(40):
            chosen = muscles[visit % 3 : visit % 3 + 3 + visit % 2]
            services.charting.create(
                patient.id,
                Procedure(
                    performed_at=start - timedelta(weeks=4 * (40 - visit)),
                    payer_profile="medicare-2024",
                    pain_before=5 + visit % 4,
                    pain_after=1 + visit % 3,
                    prior_relief_percent=None if visit == 0 else (20, 45, 60, 75)[visit % 4],
                    prior_relief_weeks=None if visit == 0 else 4,
                    preparations=syringes,
                    sites=tuple(
                        Site(
                            muscle=m,
                            side=side,  # type: ignore[arg-type]
                            preparation="AB"[visit % 2],
                            volume_ml=1.0,
                        )
                        for m, side in chosen
                    ),
                ),
            )
    return patient.id


def test_forty_visits_render_quickly(qtbot: QtBot, services: Services) -> None:
    patient_id = _forty_visits(services)
    page = _page(qtbot, services)
    _select(qtbot, page, "H4000")
    began = time.perf_counter()
    _open_history(qtbot, page)
    page.history.grab()  # paints the plot and the diagram
    elapsed = time.perf_counter() - began
    print(f"History of 40 visits: {elapsed * 1000:.0f} ms")
    history = page.history.history
    assert history is not None
    assert len(history.visits) == 40
    # A visit every 4 weeks: the last 13 fall in the rolling 365 days.
    assert history.sessions.used == 13
    assert page.history.sessions_value.text() == "⚠ 13 of 3"
    assert "next session would exceed" in page.history.sessions_text.text()
    shown = sum(int(row[1]) for row in _table(page))
    stored = sum(
        len(services.charting.get(s.id).procedure.injected_sites)
        for s in services.charting.list_for_patient(patient_id)
    )
    assert shown == stored
    assert set(page.history.diagram.shown_views()) == {"posterior", "anterior"}
    assert elapsed < 1.5, f"History took {elapsed:.2f} s for 40 visits"


def test_history_fits_at_1366x768_without_scrolling(
    qtbot: QtBot, qapp: Any, services: Services
) -> None:
    apply_theme(qapp)
    window = MainWindow(services.as_user(CHEN), CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    maria = services.patients.by_mrn("D1001")
    assert maria is not None
    window.open_patient(maria.id)
    window.patients.show_history()
    qapp.processEvents()
    history = window.patients.history
    assert history.stack.currentIndex() == 1
    # Everything fits at 1366×768 without scrolling.
    scroll = history.stack.currentWidget()
    assert not scroll.verticalScrollBar().isVisible()
    assert not history.muscles.verticalScrollBar().isVisible()
