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
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.style import apply_theme

pytestmark = pytest.mark.gui

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
        """Typing one short reason into one field counts as one interaction."""
        self.count += 1
        self.qtbot.keyClicks(widget, text)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("reference-visit")
    with open_services(tmp_path / "chart.db", "chen", seed_demo_if_new=True) as opened:
        yield opened


def test_reference_visit_is_charted_in_at_most_20_interactions(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    apply_theme(qapp)
    assert signing_physician(services) == CHEN
    window = MainWindow(services, CHEN)
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
    procedure_id = workspace.session.procedure_id
    assert procedure_id is not None
    assert [s.site.state for s in workspace.session.sites] == ["planned"] * 6

    # The checklist the MA would normally do before handing over (counted anyway).
    ui.click(workspace.checklist.consent)
    ui.click(workspace.pain_before.buttons[7])
    ui.click(workspace.timeout_header)

    # One key per site: the twitch key injects the planned site and moves to the next one.
    for twitch in TWITCHES:
        ui.key(workspace, TWITCH_KEY[twitch])
    assert workspace.saved_indicator.text().startswith("✓ Saved")

    ui.click(workspace.pain_after.buttons[2])

    bar = workspace.tabs.tabBar()
    ui.click(bar, bar.tabRect(workspace.tabs.indexOf(workspace.sign_panel)).center())
    assert workspace.tabs.currentWidget() is workspace.sign_panel
    for field in workspace.sign_panel.findChildren(QLineEdit):
        if field.objectName().startswith("ack_"):
            ui.type(field, "discussed with patient")
    ui.click(workspace.sign_panel.sign_button)

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
    assert stored.signature is not None
    assert stored.signature.signed_by == CHEN.display_name
    acknowledged = {a.code for a in stored.signature.acknowledged_warnings}
    assert {"ptx_risk_site", "multi_region"} <= acknowledged

    # Signing filed the note in the export folder, and it verifies.
    exported = list(services.settings.export_folder().glob(f"D1001_*_{procedure_id}.pdf"))
    assert len(exported) == 1
    assert services.notes.verify_file(exported[0]).lines()[0] == "match"

    assert ui.count <= 20, f"{ui.count} interactions"
    print(f"reference visit: {ui.count} interactions after the patient was open")
