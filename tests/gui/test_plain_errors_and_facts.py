"""Issue 13: every form answers bad input with a sentence next to the field (no model path, no
bracket, no underscore, no "input should"); weight in kg or lb, refused (never clamped) when out of
range; a syringe's new drug drops the old lot and expiry; the safety facts in the header."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.models import Patient
from tpi_chart.domain.users import User
from tpi_chart.services.context import Services, open_services
from tpi_chart.ui.auth.accounts_dialog import AccountsDialog
from tpi_chart.ui.auth.first_run_dialog import FirstRunDialog
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.patients import PatientsPage
from tpi_chart.ui.plain_errors import plain
from tpi_chart.ui.settings_dialog import SettingsDialog
from tpi_chart.ui.style import apply_theme

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]

ADMIN = User(
    username="okafor", display_name="R. Okafor", roles=frozenset({"administrator", "physician"})
)
CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("plain-errors")
    QSettings().clear()
    with open_services(tmp_path / "chart.db", staff("okafor"), seed_demo_if_new=True) as opened:
        yield opened


def _messages(widget: QWidget) -> list[str]:
    """Every non-empty text a visible label shows."""
    return [
        label.text()
        for label in widget.findChildren(QLabel)
        if label.isVisible() and label.text().strip()
    ]


def _assert_plain(texts: list[str]) -> None:
    assert texts
    for text in texts:
        assert "[" not in text, text
        assert "_" not in text, text
        assert "input should" not in text.lower(), text


def test_plain_translation_of_the_raw_lines_the_issue_quoted() -> None:
    date = "syringe.components[0].expires: input should be a valid date or datetime, invalid"
    assert plain(date).sentence == "Expiry: type a date like 2027-05-31"
    assert plain(date).field == "expires"
    assert plain("user.username: must not be empty").sentence == "User name: fill this in"
    second = plain("syringe.components[1].lot: must not be empty")
    assert (second.sentence, second.index) == ("Lot (drug 2): fill this in", 1)
    choice = plain("procedure.position: must be one of ('side_lying', 'prone')")
    assert choice.sentence == "Position: choose one of side lying, prone"


def test_patient_form_bad_input_weight_units_and_no_clamping(
    qtbot: QtBot, qapp: Any, services: Services
) -> None:
    apply_theme(qapp)
    page = PatientsPage(services)
    qtbot.addWidget(page)
    page.resize(1366, 768)
    page.show()
    before = len(services.patients.search(""))
    page.new_patient()
    form = page.form
    qtbot.keyClicks(form.family_name, "Park")
    qtbot.keyClicks(form.mrn, "P 3001/x")
    qtbot.keyClicks(form.birth_date, "12/05/1974")
    qtbot.keyClicks(form.weight_kg, "1000")
    qtbot.keyClicks(form.allergies, "latex")
    form.no_known_allergies.setChecked(True)
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    shown = {name: label.text() for name, label in form.errors.items() if label.isVisible()}
    assert set(shown) >= {"given_name", "mrn", "birth_date", "weight_kg"}
    assert shown["weight_kg"].startswith("Weight: 1000 kg is outside")
    assert shown["given_name"] == "Given name: fill this in"
    _assert_plain(_messages(form))
    assert len(services.patients.search("")) == before  # nothing stored

    # Pounds, converted and stored in kg; out of range in lb is refused in lb.
    form.given_name.setText("Min")
    form.mrn.setText("P3001")
    form.birth_date.setText("1974-05-12")
    form.weight_unit.setCurrentIndex(form.weight_unit.findData("lb"))
    form.weight_kg.setText("1000")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert form.errors["weight_kg"].text().startswith("Weight: 1000 lb is outside")
    assert form.errors["allergies"].text().startswith("Allergies: either list the allergies")
    _assert_plain(_messages(form))
    form.allergies.clear()
    assert len(services.patients.search("")) == before
    form.weight_kg.setText("150")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    stored = services.patients.by_mrn("P3001")
    assert stored is not None
    assert stored.patient.weight_kg == pytest.approx(68.04, abs=0.01)
    assert stored.patient.no_known_allergies
    assert stored.patient.allergy_text == "No known allergies"


def test_settings_accounts_and_first_run_speak_in_sentences(
    qtbot: QtBot, qapp: Any, services: Services
) -> None:
    apply_theme(qapp)
    settings = SettingsDialog(services.as_user(ADMIN).settings)
    qtbot.addWidget(settings)
    settings.show()
    settings.clinic_name.setText(" ")
    settings.clinic_phone.setText("call_the [desk]")
    settings.export_folder.setText("relative/notes")
    qtbot.mouseClick(settings.save_button, Qt.MouseButton.LeftButton)
    _assert_plain(_messages(settings))
    assert settings.errors["clinic_name"].text().startswith("Clinic name: ")

    admin = services.auth.create_first_administrator(
        "okafor", "R. Okafor", "correct-horse", physician=True
    )
    accounts = AccountsDialog(services.auth, admin)
    qtbot.addWidget(accounts)
    accounts.show()
    qtbot.mouseClick(accounts.add_button, Qt.MouseButton.LeftButton)  # everything empty
    assert accounts.message.text()
    _assert_plain([accounts.message.text()])

    first = FirstRunDialog(services.auth)
    qtbot.addWidget(first)
    first.show()
    first.password.setText("short")
    first.confirm.setText("short")
    first.submit()
    assert first.error.isVisible()
    _assert_plain([first.error.text()])


def _open_workspace(qtbot: QtBot, qapp: Any, services: Services, mrn: str) -> MainWindow:
    apply_theme(qapp)
    window = MainWindow(services.as_user(CHEN), CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    patient = services.patients.by_mrn(mrn)
    assert patient is not None
    window.open_patient(patient.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.workspace
    return window


def test_syringe_errors_are_sentences_and_a_new_drug_drops_lot_and_expiry(
    qtbot: QtBot, qapp: Any, services: Services
) -> None:
    window = _open_workspace(qtbot, qapp, services, "D1001")
    workspace = window.workspace
    workspace.tabs.setCurrentWidget(workspace.preparations)
    panel = workspace.preparations
    row = panel._rows[0][2][0]
    row.expires.setFocus()
    row.expires.clear()
    qtbot.keyClicks(row.expires, "31/05/2027")
    row.expires.editingFinished.emit()
    assert panel.error.text() == "Expiry: type a date like 2027-05-31"
    assert row.expires.property("invalid") is True
    assert workspace.banner.isVisible()
    _assert_plain([panel.error.text(), workspace.banner.label.text()])

    row.expires.setText("2027-05-31")
    row.lot.setText("LOT-1")
    row.expires.editingFinished.emit()
    procedure_id = workspace.document.procedure_id
    component = services.charting.get(procedure_id).procedure.preparations[0].components[0]
    assert (component.lot, str(component.expires)) == ("LOT-1", "2027-05-31")
    assert not row.expires.property("invalid")

    # Another drug in the same row: the old vial's lot and expiry go with the old drug.
    other = next(i for i in range(row.agent.count()) if row.agent.itemData(i) != component.agent)
    row.agent.setCurrentIndex(other)
    row.agent.activated.emit(other)
    changed = services.charting.get(procedure_id).procedure.preparations[0].components[0]
    assert changed.agent == row.agent.itemData(other)
    assert (changed.lot, changed.expires) == (None, None)


def test_the_header_shows_the_safety_facts(qtbot: QtBot, qapp: Any, services: Services) -> None:
    window = _open_workspace(qtbot, qapp, services, "D1001")
    facts = window.workspace.fact_labels
    assert facts["allergies"].text() == "No known allergies"
    assert facts["anticoagulation"].text() == "Not anticoagulated"
    assert facts["weight"].text() == "64 kg (141 lb)"
    assert facts["age"].text().endswith(" y")
    assert not facts["pregnancy"].isVisible()
    for name in ("allergies", "anticoagulation", "weight", "age"):
        assert facts[name].isVisible()

    # Another patient: allergy, anticoagulant, pregnancy recorded; the clinic weighs in lb.
    services.as_user(ADMIN).settings.update(weight_unit="lb")
    stored = services.patients.by_mrn("D1002")
    assert stored is not None
    services.patients.update(
        stored.id,
        Patient.model_validate(
            {
                **stored.patient.model_dump(),
                "anticoagulated": True,
                "anticoagulant": "apixaban",
                "pregnant": False,
            }
        ),
    )
    window.open_patient(stored.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    assert facts["allergies"].text() == "⚠ Allergies: lidocaine"
    assert facts["allergies"].property("role") == "fact-alert"
    assert facts["anticoagulation"].text() == "⚠ Anticoagulated: apixaban"
    assert facts["weight"].text() == "115.7 lb (52 kg)"
    assert facts["pregnancy"].isVisible()
    assert facts["pregnancy"].text() == "Not pregnant"

    untold = services.patients.by_mrn("D1004")
    assert untold is not None
    window.open_patient(untold.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    assert facts["allergies"].text() == "Allergies not recorded"
    assert facts["allergies"].property("role") == "fact-alert"
