"""Patient page: instant search, inline validation, nothing stored on error, copy forward."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from tpi_chart.services.context import open_services
from tpi_chart.ui.patients import PatientsPage

pytestmark = pytest.mark.gui


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("patients")
    with open_services(tmp_path / "chart.db", "rivera", seed_demo_if_new=True) as opened:
        yield opened


def test_search_by_mrn_finds_the_patient_and_shows_today_s_procedure(
    qtbot: QtBot, services: Any
) -> None:
    page = PatientsPage(services)
    qtbot.addWidget(page)
    page.search.setText("D1001")
    qtbot.waitUntil(lambda: page.results.count() == 1)
    assert page.results.item(0).text().startswith("Lopez, Maria")
    page.results.setCurrentRow(0)
    assert page.name_label.text() == "Lopez, Maria"
    assert page.primary_button.text().startswith("Open today's procedure")
    with qtbot.waitSignal(page.procedure_opened) as opened:
        qtbot.mouseClick(page.primary_button, Qt.MouseButton.LeftButton)
    assert opened.args[0] == page.patient_id


def test_bad_patient_input_is_shown_next_to_the_field_and_nothing_is_stored(
    qtbot: QtBot, services: Any
) -> None:
    page = PatientsPage(services)
    qtbot.addWidget(page)
    before = len(services.patients.search(""))
    page.new_patient()
    form = page.form
    form.family_name.setText("Nguyen")
    form.given_name.setText("")
    form.mrn.setText("D1001")  # taken by the demo patient
    assert not form.save()
    assert form.errors["given_name"].text() == "must not be empty"
    assert len(services.patients.search("")) == before
    form.given_name.setText("Anh")
    assert not form.save()
    assert "already exists" in form.errors["mrn"].text()
    assert len(services.patients.search("")) == before
    form.mrn.setText("N2001")
    form.weight_kg.setValue(58)
    form.allergies.setText("latex, sulfonamides")
    assert form.save()
    stored = services.patients.by_mrn("N2001")
    assert stored is not None
    assert stored.patient.allergies == ("latex", "sulfonamides")
    assert stored.patient.weight_kg == 58
    assert not form.errors["mrn"].isVisible()
    # New patient without history: the primary action starts a blank procedure.
    assert page.primary_button.text() == "New procedure"
