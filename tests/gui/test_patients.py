"""Patient page: instant search, inline validation, nothing stored on error, copy forward."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.services.context import open_services
from tpi_chart.ui.patients import PatientsPage

pytestmark = pytest.mark.gui


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("patients")
    with open_services(tmp_path / "chart.db", staff("rivera"), seed_demo_if_new=True) as opened:
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
    form.birth_date.setText("1988-03-14")
    assert not form.save()
    assert form.errors["given_name"].text() == "Given name: fill this in"
    assert len(services.patients.search("")) == before
    form.given_name.setText("Anh")
    assert not form.save()
    assert "already exists" in form.errors["mrn"].text()
    assert len(services.patients.search("")) == before
    form.mrn.setText("N2001")
    form.weight_kg.setText("58")
    form.allergies.setText("latex, sulfonamides")
    assert form.save()
    stored = services.patients.by_mrn("N2001")
    assert stored is not None
    assert stored.patient.allergies == ("latex", "sulfonamides")
    assert stored.patient.weight_kg == 58
    assert not form.errors["mrn"].isVisible()
    # New patient without history: the primary action starts a blank procedure.
    assert page.primary_button.text() == "New procedure"


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_date_of_birth_is_typed_never_defaulted_and_a_future_date_is_named(
    qtbot: QtBot, services: Any
) -> None:
    """The form used to start on 1970-01-01 (stored when nobody changed it) and silently kept
    that date when a future one was typed."""
    page = PatientsPage(services)
    qtbot.addWidget(page)
    page.show()
    before = len(services.patients.search(""))
    page.new_patient()
    form = page.form
    assert form.birth_date.text() == ""
    qtbot.keyClicks(form.family_name, "Park")
    qtbot.keyClicks(form.given_name, "Min")
    qtbot.keyClicks(form.mrn, "P3001")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert form.errors["birth_date"].isVisible()
    assert form.errors["birth_date"].text() == "Date of birth: required (YYYY-MM-DD)"
    qtbot.keyClicks(form.birth_date, "2999-01-01")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert form.errors["birth_date"].text() == "Date of birth: is in the future"
    form.birth_date.clear()
    qtbot.keyClicks(form.birth_date, "12/31/1980")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert "is not a date" in form.errors["birth_date"].text()
    assert len(services.patients.search("")) == before
    assert services.patients.by_mrn("P3001") is None
    form.birth_date.clear()
    qtbot.keyClicks(form.birth_date, "1980-12-31")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    stored = services.patients.by_mrn("P3001")
    assert stored is not None
    assert stored.patient.birth_date.isoformat() == "1980-12-31"
    assert not form.errors["birth_date"].isVisible()


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_all_bad_fields_are_named_at_once(qtbot: QtBot, services: Any) -> None:
    page = PatientsPage(services)
    qtbot.addWidget(page)
    page.show()
    page.new_patient()
    form = page.form
    qtbot.keyClicks(form.mrn, "D 2001")
    qtbot.keyClicks(form.birth_date, "2999-01-01")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    shown = {name for name, label in form.errors.items() if label.isVisible()}
    assert shown == {"family_name", "given_name", "mrn", "birth_date"}
    assert form.errors["birth_date"].text() == "Date of birth: is in the future"
    assert services.patients.by_mrn("D 2001") is None


def test_enter_finds_the_patient_then_opens_today_s_procedure(qtbot: QtBot, services: Any) -> None:
    """The primary button's tooltip promised Enter; Enter only re-selected the patient."""
    page = PatientsPage(services)
    qtbot.addWidget(page)
    qtbot.keyClicks(page.search, "lopez")
    qtbot.waitUntil(lambda: page.results.count() == 1)
    qtbot.keyClick(page.search, Qt.Key.Key_Return)
    assert page.name_label.text() == "Lopez, Maria"
    assert "(Enter)" in page.primary_button.toolTip()
    with qtbot.waitSignal(page.procedure_opened, timeout=1000) as opened:
        qtbot.keyClick(page.search, Qt.Key.Key_Return)
    today = next(s for s in page.summaries if s.status != "signed")
    assert opened.args == [page.patient_id, int(today.id)]
    # The same from the result list.
    with qtbot.waitSignal(page.procedure_opened, timeout=1000):
        qtbot.keyClick(page.results, Qt.Key.Key_Return)


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_a_phone_is_typed_checked_next_to_its_field_and_shown_on_the_page(
    qtbot: QtBot, services: Any
) -> None:
    page = PatientsPage(services)
    qtbot.addWidget(page)
    page.show()
    page.new_patient()
    form = page.form
    qtbot.keyClicks(form.family_name, "Okoye")
    qtbot.keyClicks(form.given_name, "Ada")
    qtbot.keyClicks(form.mrn, "N3001")
    qtbot.keyClicks(form.birth_date, "1961-07-02")
    qtbot.keyClicks(form.phone, "call her daughter")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert form.errors["phone"].isVisible()
    message = form.errors["phone"].text()
    assert message.startswith("Phone: ")
    assert "is not a phone number" in message
    assert "Value error" not in message
    assert services.patients.by_mrn("N3001") is None
    form.phone.clear()
    qtbot.keyClicks(form.phone, "(555)  010-2030 ext 4")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    stored = services.patients.by_mrn("N3001")
    assert stored is not None
    assert stored.patient.phone == "(555) 010-2030 ext 4"  # spacing tidied, digits kept
    assert "Phone (555) 010-2030 ext 4" in page.facts_label.text()
