"""The reference visit (product.md §2) charted end to end through the real widgets, counting every
click and key press after the patient is open, and checking what is STORED."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, Qt
from PySide6.QtWidgets import QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from tests.accounts import signing_physician
from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.style import apply_theme
from tpi_chart.ui.tasks import tasks

# The time-out overlay is a dialog: offscreen Qt cannot size or raise it and says so.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
TWITCHES = ("brisk", "weak", "none", "brisk", "weak", "none")
TWITCH_KEY = {"none": Qt.Key.Key_N, "weak": Qt.Key.Key_W, "brisk": Qt.Key.Key_B}


class Counted:
    """qtbot clicks and key presses, each counted as one interaction."""

    def __init__(self, qtbot: QtBot) -> None:
        self.qtbot = qtbot
        self.count = 0

    def click(self, widget: QWidget, pos: QPoint | None = None) -> None:
        assert widget.isVisible(), widget.objectName()
        assert widget.isEnabled(), widget.objectName()
        self.count += 1
        if pos is None:
            self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
        else:
            self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)

    def key(
        self,
        widget: QWidget,
        key: Qt.Key,
        modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
    ) -> None:
        self.count += 1
        self.qtbot.keyClick(widget, key, modifier)

    def type(self, widget: QWidget, text: str) -> None:
        """As a user counts it: a click into the field, then typing one short reason (one
        interaction each)."""
        self.click(widget)
        assert widget.hasFocus(), widget.objectName()
        self.count += 1
        self.qtbot.keyClicks(widget, text)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("reference-visit")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def test_reference_visit_charted_in_10_and_a_complete_note_in_26_interactions(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    apply_theme(qapp)
    assert signing_physician(services) == CHEN
    window = MainWindow(services.as_user(CHEN), CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    maria = services.patients.by_mrn("D1001")
    window.open_patient(maria.id)  # the patient is open: counting starts here
    ui = Counted(qtbot)
    page = window.patients
    workspace = window.workspace

    # Today's planned procedure exists in the demo clinic: the primary button opens it; otherwise
    # the same button copies the last visit forward.
    ui.click(page.primary_button)
    assert window.stack.currentWidget() is workspace
    procedure_id = workspace.document.procedure_id
    assert procedure_id is not None
    assert [s.site.state for s in workspace.document.sites] == ["planned"] * 6

    # The MA's preparation (consent with method, safety screen, prior relief with its date and
    # scale, NDI) is in the demo's plan; copy-forward brought the diagnoses, indication, history,
    # position, prep, needle and technique. The pain score is taken in the room (counted).
    ui.click(workspace.pain_before.buttons[7])
    ui.click(workspace.timeout_header)
    dialog = workspace.time_out_dialog
    assert dialog is not None
    ui.key(dialog, Qt.Key.Key_Y)  # confirmed: sites marked

    # One key per site: the twitch key injects the planned site and moves to the next one.
    for twitch in TWITCHES:
        ui.key(workspace, TWITCH_KEY[twitch])
    assert workspace.saved_indicator.text().startswith("✓ Saved")
    charted = ui.count  # the six sites are charted (README: "charted in 10 interactions")

    ui.click(workspace.pain_after.buttons[2])

    # The outcome: no complications, tolerated well, aftercare, the follow-up plan.
    bar = workspace.tabs.tabBar()
    outcome = workspace.outcome
    ui.click(bar, bar.tabRect(workspace.tabs.indexOf(outcome)).center())
    ui.click(outcome.no_complications, QPoint(8, outcome.no_complications.height() // 2))
    ui.click(outcome.tolerance)
    view = outcome.tolerance.view()
    qtbot.waitUntil(view.isVisible)
    ui.key(view, Qt.Key.Key_Down)
    ui.key(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not view.isVisible())
    ui.click(outcome.aftercare, QPoint(8, outcome.aftercare.height() // 2))
    ui.type(outcome.follow_up, "Reassess relief on the NRS in 6 weeks")
    ui.key(outcome.follow_up, Qt.Key.Key_Return)

    ui.click(bar, bar.tabRect(workspace.tabs.indexOf(workspace.sign_panel)).center())
    assert workspace.tabs.currentWidget() is workspace.sign_panel
    # Clinically complete: nothing the note prints is "Not documented".
    assert workspace.sign_panel.missing.text() == "✓ Everything required is recorded"
    for field in workspace.sign_panel.findChildren(QLineEdit):
        if field.objectName().startswith("ack_"):
            ui.type(field, "discussed with patient")
    ui.click(workspace.sign_panel.sign_button)
    qtbot.waitUntil(lambda: not tasks().busy, timeout=30_000)  # the note is drawn on the worker

    # What is stored, read back through the services.
    stored = services.charting.get(procedure_id).procedure
    sites = services.charting.sites(procedure_id)
    assert [s.site.state for s in sites] == ["injected"] * 6
    assert [s.site.twitch for s in sites] == list(TWITCHES)
    assert all(s.site.volume_ml == 1.5 for s in sites)
    assert stored.time_out is not None
    assert stored.time_out.performed_by == CHEN.display_name
    assert stored.pain_before == 7
    assert stored.pain_after == 2
    assert stored.status == "signed"
    assert stored.tolerance == "well"
    assert stored.complications == ()
    assert stored.time_out.site_marked is True
    assert stored.signature is not None
    assert stored.signature.signed_by == CHEN.display_name
    acknowledged = {a.code for a in stored.signature.acknowledged_warnings}
    assert {"ptx_risk_site", "multi_region"} <= acknowledged

    # Signing filed the note in the export folder, and it verifies.
    exported = list(services.settings.export_folder().glob(f"D1001_*_{procedure_id}.pdf"))
    assert len(exported) == 1
    assert services.notes.verify_file(exported[0]).lines()[0] == "match"

    # The figures the README states; a change in either is a change to say there.
    assert charted <= 10, f"{charted} interactions to chart"
    assert ui.count <= 26, f"{ui.count} interactions"
    print(f"reference visit, complete note: {ui.count} interactions after the MA's preparation")
