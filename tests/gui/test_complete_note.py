"""Issue 12, from the window alone: a new clinic's own patient, coverage, two diagnoses typed into
the picker, a blank procedure charted, the time-out confirmed in its overlay, every required field
completed, signed; then the note's text. And the follow-up relief of that visit driving the next
visit's repeat rule and the History tab."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QDate, QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QCheckBox, QWidget
from pytestqt.qtbot import QtBot

from tests.accounts import signing_physician
from tests.users import staff
from tpi_chart.domain import diagram as dg
from tpi_chart.domain.signing import DEFAULT_REQUIRED, NOTE_FIELDS
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui import commands
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.patients.procedure_list import FollowUpDialog
from tpi_chart.ui.tasks import tasks

# Offscreen popups and dialogs cannot raise or grab the keyboard; Qt says so on each.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

CHEN = User(
    username="chen",
    display_name="Dr. Alex Chen, MD",
    roles=frozenset({"physician", "administrator"}),
)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("complete-note")
    # A new clinic: no demo data.
    with open_services(tmp_path / "clinic.db", staff("chen")) as opened:
        assert opened.store.is_empty()
        yield opened


def _window(qtbot: QtBot, services: Any) -> MainWindow:
    user = signing_physician(services)  # a real account with its signing key
    assert user.display_name == CHEN.display_name
    window = MainWindow(services.as_user(user), user)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    return window


def _click(qtbot: QtBot, widget: QWidget) -> None:
    assert widget.isVisible(), widget.objectName()
    assert widget.isEnabled(), widget.objectName()
    if isinstance(widget, QCheckBox):  # on its box: a wide check box ends with its text
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _type(qtbot: QtBot, widget: QWidget, text: str, enter: bool = True) -> None:
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widget, text)
    if enter:
        qtbot.keyClick(widget, Qt.Key.Key_Return)


def _choose(qtbot: QtBot, combo: Any, text: str) -> None:
    """Open the combo with a click and pick the item with the arrow keys and Enter (typed
    letters would be the workspace's charting keys)."""
    _click(qtbot, combo)
    view = combo.view()
    qtbot.waitUntil(view.isVisible)
    index = combo.model().index(combo.findText(text), 0)
    assert index.isValid(), text
    # Arrow keys to the item in the open list, then Enter (as a keyboard user does).
    for _ in range(combo.count()):
        if view.currentIndex().row() == index.row():
            break
        key = Qt.Key.Key_Down if view.currentIndex().row() < index.row() else Qt.Key.Key_Up
        qtbot.keyClick(view, key)
    assert view.currentIndex().row() == index.row(), (text, view.currentIndex().row())
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not view.isVisible())
    assert combo.currentText() == text


def _tab(qtbot: QtBot, tabs: Any, panel: QWidget) -> None:
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(tabs.indexOf(panel)).center())
    assert tabs.currentWidget() is panel


def _click_muscle(qtbot: QtBot, window: MainWindow, muscle: str, side: str) -> None:
    diagram = window.workspace.diagram
    zone = dg.load_diagram().views["posterior"].zone_for(muscle, side)
    assert zone is not None
    pos = diagram.view.mapFromScene(diagram.scene.to_scene(*zone.label_point))
    qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _new_patient(qtbot: QtBot, window: MainWindow) -> int:
    page = window.patients
    _click(qtbot, page.new_button)
    form = page.form
    _type(qtbot, form.family_name, "Okonkwo", enter=False)
    _type(qtbot, form.given_name, "Ada", enter=False)
    _type(qtbot, form.mrn, "C5001", enter=False)
    _type(qtbot, form.birth_date, "1969-02-11", enter=False)
    _type(qtbot, form.weight_kg, "70", enter=False)
    _choose(
        qtbot,
        form.payer_profile,
        form.payer_profile.itemText(form.payer_profile.findData("medicare-2024")),
    )
    _type(qtbot, form.member_id, "1EG4-TE5-MK73", enter=False)
    _click(qtbot, form.save_button)
    assert page.patient_id is not None
    assert "Coverage: Medicare" in page.facts_label.text()
    return page.patient_id


def _chart_complete_visit(qtbot: QtBot, window: MainWindow) -> int:
    """From the patient page: a blank procedure to a signed, clinically complete note."""
    page = window.patients
    _click(qtbot, page.primary_button)  # "New procedure": blank, carrying the coverage
    workspace = window.workspace
    assert window.stack.currentWidget() is workspace
    assert workspace.document.procedure.payer_profile == "medicare-2024"
    workspace.set_view("posterior")

    # Problems, indication and history.
    indication = workspace.indication
    _tab(qtbot, workspace.tabs, indication)
    _type(qtbot, indication.picker, "auxiliary neck")
    _type(qtbot, indication.picker, "m79.18")
    assert workspace.document.procedure.diagnoses == ("M79.12", "M79.18")
    texts = [indication.diagnoses.item(i).text() for i in range(indication.diagnoses.count())]
    assert texts == [
        "M79.12 — Myalgia of auxiliary muscles, head and neck",
        "M79.18 — Myalgia, other site",
    ]
    _type(qtbot, indication.indication, "Myofascial neck and shoulder girdle pain")
    _type(qtbot, indication.onset, "Gradual, desk work")
    _type(qtbot, indication.referral, "Neck to occiput")
    _type(qtbot, indication.therapy, "Physical therapy", enter=False)
    _type(qtbot, indication.therapy_response, "partial")
    _type(qtbot, indication.rehab, "Home exercise, ongoing")
    history = workspace.document.procedure.history
    assert history is not None
    assert [t.therapy for t in history.conservative_therapy] == ["Physical therapy"]
    # The relief after the session given elsewhere, measured today on the NRS (the default).
    _type(qtbot, indication.relief, "60")
    _type(qtbot, indication.relief_weeks, "8")
    _type(qtbot, indication.score, "24")
    stored = workspace.document.procedure
    assert (stored.prior_relief_percent, stored.prior_relief_weeks) == (60, 8)
    assert stored.prior_relief_scale == "NRS"
    assert stored.prior_relief_measured_on == stored.performed_at.date()
    assert [(s.scale, s.score) for s in stored.functional_scores] == [("NDI", 24)]

    # The time-out is refused without a planned site and consent: it says so.
    qtbot.keyClick(workspace, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert workspace.time_out_dialog is None
    assert "plan at least one site" in workspace.banner.label.text()

    # A syringe, one planned site, the checklist.
    _tab(qtbot, workspace.tabs, workspace.preparations)
    _click(qtbot, workspace.preparations.findChild(QWidget, "addSyringe"))
    _click_muscle(qtbot, window, "upper_trapezius", "left")
    checklist = workspace.checklist
    _tab(qtbot, workspace.tabs, checklist)
    _click(qtbot, checklist.consent)
    _choose(qtbot, checklist.consent_method, "Written")
    for box in checklist.safety.values():
        _click(qtbot, box)
    _choose(qtbot, checklist.position, "Seated")
    _choose(qtbot, checklist.skin_prep, "Alcohol")
    _choose(qtbot, checklist.needle, "25G × 1.5 in")
    _click(qtbot, workspace.pain_before.buttons[7])
    procedure = workspace.document.procedure
    assert procedure.consent is not None
    assert procedure.consent.method == "written"
    assert (procedure.position, procedure.skin_prep) == ("seated", "alcohol")
    assert procedure.needle is not None

    # The time-out overlay lists what is confirmed; Y confirms, sites marked.
    qtbot.keyClick(workspace, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    dialog = workspace.time_out_dialog
    assert dialog is not None
    assert dialog.isVisible()
    shown = dialog.list.text()
    assert "Okonkwo, Ada · DOB 1969-02-11 · MRN C5001" in shown
    assert "Upper trapezius left" in shown
    assert "Consent: obtained (written)" in shown
    assert "Position: seated" in shown
    qtbot.keyClick(dialog, Qt.Key.Key_Y)
    time_out = workspace.document.procedure.time_out
    assert time_out is not None
    assert time_out.site_marked is True
    assert time_out.performed_by == CHEN.display_name
    # The date of service is now the time-out's time; the planned time is kept.
    procedure = workspace.document.procedure
    assert procedure.planned_at is not None
    assert procedure.performed_at == time_out.at

    # Inject with one key, set the volume, pain after, outcome.
    qtbot.keyClick(workspace, Qt.Key.Key_B)
    qtbot.keyClick(workspace, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    site = workspace.document.sites[0].site
    assert (site.state, site.twitch, site.volume_ml, site.preparation) == (
        "injected",
        "brisk",
        1.5,
        "A",
    )
    _click(qtbot, workspace.pain_after.buttons[2])
    outcome = workspace.outcome
    _tab(qtbot, workspace.tabs, outcome)
    _click(qtbot, outcome.no_complications)
    _choose(qtbot, outcome.tolerance, "Well")
    _click(qtbot, outcome.aftercare)
    _type(qtbot, outcome.follow_up, "Reassess relief on the NRS in 6 weeks")

    # The Sign tab: nothing required is missing; what is optional and empty is listed.
    sign = workspace.sign_panel
    _tab(qtbot, workspace.tabs, sign)
    text = sign.missing.text()
    assert "Everything required is recorded" in text
    assert "Technique" in text
    assert "optional" in text
    for field in sign.ack_fields.values():
        _type(qtbot, field, "reviewed with the patient", enter=False)
    assert sign.sign_button.isEnabled()
    procedure_id = workspace.document.procedure_id
    _click(qtbot, sign.sign_button)
    qtbot.waitUntil(lambda: not tasks().busy, timeout=30_000)  # the note is drawn on the worker
    assert workspace.document.procedure.status == "signed"
    return procedure_id


def _pdf_text(services: Any, procedure_id: int, tmp_path: Path) -> str:
    path = tmp_path / "note.pdf"
    path.write_bytes(services.notes.render(procedure_id))
    result = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(result.stdout.split())


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")
def test_a_new_patient_is_charted_and_signed_with_a_complete_note(
    qtbot: QtBot, services: Any, tmp_path: Path
) -> None:
    window = _window(qtbot, services)
    patient_id = _new_patient(qtbot, window)
    stored_patient = services.patients.get(patient_id).patient
    assert (stored_patient.payer_profile, stored_patient.member_id) == (
        "medicare-2024",
        "1EG4-TE5-MK73",
    )
    procedure_id = _chart_complete_visit(qtbot, window)

    procedure = services.charting.get(procedure_id).procedure
    text = _pdf_text(services, procedure_id, tmp_path)
    assert "M79.12 — Myalgia of auxiliary muscles, head and neck" in text
    assert "M79.18 — Myalgia, other site" in text
    assert f"Date of service {procedure.performed_at:%Y-%m-%d %H:%M}" in text
    measured = procedure.performed_at.date().isoformat()
    assert f"60 % relief for 8 weeks on NRS, measured {measured}" in text
    assert "NDI 24" in text
    assert "Sites marked on the skin: yes" in text
    assert "Confirmed by Dr. Alex Chen, MD" in text
    # No "Not documented" for a required field: each required label is followed by its value.
    labels = {field.key: field.label for field in NOTE_FIELDS}
    for key in DEFAULT_REQUIRED:
        assert f"{labels[key]} Not documented".upper() not in text.upper(), key
    assert "Consent not documented" not in text
    assert "Safety screen not documented" not in text
    assert "Time-out not documented" not in text
    # The optional, empty technique is printed as such (the Sign tab listed it).
    assert "Not documented" in text


def test_signing_with_a_required_field_missing_is_refused_naming_it(
    qtbot: QtBot, services: Any
) -> None:
    window = _window(qtbot, services)
    _new_patient(qtbot, window)
    _click(qtbot, window.patients.primary_button)
    workspace = window.workspace
    sign = workspace.sign_panel
    _tab(qtbot, workspace.tabs, sign)
    text = sign.missing.text()
    assert "Everything required is recorded" not in text
    assert "Diagnosis</a>: Not documented (<b>required</b>)" in text
    assert not sign.sign_button.isEnabled()
    # The service refuses too, naming the field (the button is not the only guard).
    from tpi_chart.services.signing import NotReadyToSign

    with pytest.raises(NotReadyToSign) as refused:
        services.signing.sign(workspace.document.procedure_id, window.user, {})
    assert "procedure.diagnoses: add at least one diagnosis" in str(refused.value)
    # The link goes to the field.
    sign.field_requested.emit("diagnoses")
    assert workspace.tabs.currentWidget() is workspace.indication
    assert workspace.indication.picker.hasFocus() or QApplication.focusWidget() is (
        workspace.indication.picker
    )


def test_follow_up_relief_drives_the_next_visit_s_repeat_rule_and_the_history(
    qtbot: QtBot, services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = _window(qtbot, services)
    patient_id = _new_patient(qtbot, window)

    class SevenWeeksAgo(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) - timedelta(weeks=7)

    # The first visit's time-out (its date of service) was seven weeks ago.
    monkeypatch.setattr(commands, "datetime", SevenWeeksAgo)
    first = _chart_complete_visit(qtbot, window)
    monkeypatch.undo()
    window.open_patient(patient_id)
    page = window.patients
    listed = page.procedure_list
    listed.select_procedure(first)
    assert listed.follow_button.isEnabled()
    assert listed.table.item(0, 3).text() == "20552"
    # The follow-up dialog: 30 % for 3 weeks, measured (NRS by default).
    visit_day = services.charting.get(first).procedure.performed_at.date()
    dialog = FollowUpDialog(visit_day, listed)
    measured = visit_day + timedelta(days=1)
    dialog.measured.setDate(QDate(measured.year, measured.month, measured.day))

    def answer() -> None:
        _type(qtbot, dialog.relief, "30", enter=False)
        _type(qtbot, dialog.weeks, "3", enter=False)
        _type(qtbot, dialog.functional, "NDI 24 to 22")
        # Enter in the last field saves (the dialog's default button).

    QTimer.singleShot(0, answer)
    listed.record_follow_up(dialog=dialog)
    entries = services.charting.follow_ups(first)
    assert [(e.follow_up.relief_percent, e.follow_up.relief_weeks) for e in entries] == [(30, 3)]
    assert entries[-1].follow_up.scale == "NRS"
    assert listed.table.item(0, 6).text() == "30 %"

    # The History tab reads it.
    page.show_history()
    assert "relief 30" in page.history.last_text.text()
    assert f"measured {measured.isoformat()}" in page.history.last_text.text()

    # The next visit (copy forward) sees the previous session's relief: the repeat rule fires.
    _click(qtbot, page.primary_button)
    workspace = window.workspace
    second = workspace.document.procedure_id
    assert second != first
    document = services.charting.document(second)
    assert document.prior_procedures[0].relief_percent == 30
    assert document.prior_procedures[0].relief_measured_on == measured
    codes = [w.code for w in workspace.evaluation.warnings]
    assert "repeat_without_relief" in codes
    message = next(
        w.message for w in workspace.evaluation.warnings if w.code == "repeat_without_relief"
    )
    assert "30 %" in message
    assert workspace.indication.prior_hint.text().startswith(
        f"Previous session {visit_day.isoformat()}: follow-up 30 % on NRS"
    )


def test_voiding_hides_the_procedure_keeps_it_and_is_audited(qtbot: QtBot, services: Any) -> None:
    window = _window(qtbot, services)
    patient_id = _new_patient(qtbot, window)
    _click(qtbot, window.patients.primary_button)
    mistaken = window.workspace.document.procedure_id
    services.charting.void(mistaken, "opened for the wrong patient")
    window.open_patient(patient_id)
    listed = window.patients.procedure_list
    assert listed.table.rowCount() == 0
    _click(qtbot, listed.show_voided)
    assert listed.table.rowCount() == 1
    assert listed.table.item(0, 1).text() == "Voided"
    rows = services.store.audit.rows(mrn="C5001")
    assert any(row.action == "void" and row.procedure_id == mistaken for row in rows)
    # Left out of the sessions the rules and the History tab count.
    assert services.store.procedures.history(patient_id) == []
