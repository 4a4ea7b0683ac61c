"""The workspace's side tabs are built when first shown or used (`ui/workspace/side_tabs.py`):
a tab opened late shows the document as it is then, and its controls edit it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from tests.gui.test_complete_note import _choose
from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("side tabs")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _open(qtbot: QtBot, qapp: Any, services: Any) -> MainWindow:
    window = MainWindow(services.as_user(CHEN), CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    window.open_patient(services.patients.by_mrn("D1001").id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    return window


def _click_tab(qtbot: QtBot, window: MainWindow, title: str) -> None:
    tabs = window.workspace.tabs
    index = next(i for i in range(tabs.count()) if tabs.tabText(i) == title)
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def test_hidden_tabs_wait_and_then_show_the_edits_made_meanwhile(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    # On screen: the Problem tab; Outcome is built for its height (the column must not shift).
    assert set(workspace.side_tabs.built()) == {"indication", "outcome"}

    # Edits while the Sign and Checklist tabs do not exist yet.
    qtbot.mouseClick(workspace.pain_before.buttons[4], Qt.MouseButton.LeftButton)
    workspace.edit_header({"position": "prone"}, "Position")
    assert workspace.document.procedure.pain_before == 4
    assert set(workspace.side_tabs.built()) == {"indication", "outcome"}

    _click_tab(qtbot, window, "Sign")
    sign = workspace.tabs.currentWidget()
    assert sign is workspace.sign_panel
    missing = sign.missing.text()
    assert "Time-out" in missing
    assert "Pain before" not in missing
    assert not sign.sign_button.isEnabled()  # the time-out and the injections are missing
    assert sign.sign_button.isVisible()

    _click_tab(qtbot, window, "Checklist")
    checklist = workspace.checklist
    assert workspace.tabs.currentWidget() is checklist
    assert checklist.position.currentData() == "prone"
    # Its signals were connected when it was built: a choice there is stored.
    side_lying = checklist.position.findData("side_lying")
    _choose(qtbot, checklist.position, checklist.position.itemText(side_lying))
    procedure_id = workspace.document.procedure_id
    assert services.charting.get(procedure_id).procedure.position == "side_lying"
    # And the Sign tab, built before, follows the edits like any built panel.
    qtbot.mouseClick(workspace.pain_after.buttons[2], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Pain after" not in workspace.sign_panel.missing.text())


def test_a_field_named_on_the_sign_tab_builds_its_tab_and_takes_the_focus(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    _click_tab(qtbot, window, "Sign")
    assert "checklist" not in workspace.side_tabs.built()
    workspace.sign_panel.missing.linkActivated.emit("position")
    assert workspace.tabs.currentWidget() is workspace.checklist
    qtbot.waitUntil(workspace.checklist.position.hasFocus)
    # The keys the fields keep (Enter, the arrows) are theirs in a panel built late too.
    assert workspace.checklist.position.view() is not None
