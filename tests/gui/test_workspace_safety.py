"""Issue 13: the workspace never changes the wrong thing (undo belongs to the open procedure, the
wheel never edits an unfocused control) and shows the safety facts at a glance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QScrollArea,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.style import apply_theme
from tpi_chart.ui.wheel_guard import guarded

pytestmark = pytest.mark.gui

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("workspace-safety")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _window(qtbot: QtBot, qapp: Any, services: Any) -> MainWindow:
    apply_theme(qapp)
    window = MainWindow(services, CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    return window


def _open_first_procedure(qtbot: QtBot, window: MainWindow, mrn: str) -> int:
    patient = window.services.patients.by_mrn(mrn)
    window.open_patient(patient.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.workspace
    procedure_id = window.workspace.document.procedure_id
    assert procedure_id is not None
    return int(procedure_id)


def test_undo_never_reaches_a_procedure_that_is_not_on_screen(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _window(qtbot, qapp, services)
    a = _open_first_procedure(qtbot, window, "D1001")
    workspace = window.workspace
    before_a = services.charting.get(a).procedure.pain_after
    new_score = 3 if before_a != 3 else 4
    qtbot.mouseClick(workspace.pain_after.buttons[new_score], Qt.MouseButton.LeftButton)
    assert services.charting.get(a).procedure.pain_after == new_score
    assert window.undo_action.isEnabled()

    # Patient B's page: Undo is off, and Ctrl+Z anywhere changes nothing.
    lopez = services.patients.by_mrn("D1002")
    window.open_patient(lopez.id)
    assert not window.undo_action.isEnabled()
    window.undo_action.trigger()
    qtbot.keyClick(window.patients, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    workspace.undo()
    assert services.charting.get(a).procedure.pain_after == new_score

    # Patient B's procedure: its history is empty; Ctrl+Z changes neither chart.
    b = _open_first_procedure(qtbot, window, "D1002")
    assert b != a
    b_before = services.charting.get(b)
    assert not window.undo_action.isEnabled()
    qtbot.keyClick(workspace, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    window.undo_action.trigger()
    assert services.charting.get(a).procedure.pain_after == new_score
    assert services.charting.get(b).procedure == b_before.procedure
    assert [s.site for s in services.charting.sites(b)] == list(b_before.procedure.sites)


def test_undo_still_works_on_the_procedure_on_screen(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _window(qtbot, qapp, services)
    a = _open_first_procedure(qtbot, window, "D1001")
    workspace = window.workspace
    before = services.charting.get(a).procedure.pain_after
    new_score = 3 if before != 3 else 4
    qtbot.mouseClick(workspace.pain_after.buttons[new_score], Qt.MouseButton.LeftButton)
    # Back to the same patient's page and into the same procedure: the history is still there.
    qtbot.mouseClick(workspace.back_button, Qt.MouseButton.LeftButton)
    assert not window.undo_action.isEnabled()
    window.open_procedure(window.patients.patient_id, a)
    assert window.undo_action.isEnabled()
    workspace.setFocus()
    qtbot.keyClick(workspace, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert services.charting.get(a).procedure.pain_after == before


def _wheel(widget: QWidget, steps: int) -> None:
    """A wheel turn over the middle of `widget`, delivered as the platform does: to its window,
    which hands it to the widget under the pointer (and on to its parents while ignored)."""
    top = widget.window()
    handle = top.windowHandle()
    assert handle is not None
    area = widget.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    if area is not None and area.widget() is not widget:
        area.ensureWidgetVisible(widget, 0, 0)  # the pointer can only be over what is shown
    centre = widget.mapTo(top, widget.rect().center())
    under = top.childAt(centre)
    assert under is widget or widget.isAncestorOf(under), (widget, under)
    QTest.wheelEvent(handle, QPointF(centre), QPoint(0, 120 * steps))


def _values(widgets: list[QWidget]) -> list[object]:
    values: list[object] = []
    for widget in widgets:
        if isinstance(widget, QComboBox):
            values.append(widget.currentIndex())
        elif isinstance(widget, QAbstractSpinBox):
            values.append(widget.text())
        elif isinstance(widget, QAbstractSlider):
            values.append(widget.value())
    return values


def test_the_wheel_over_the_whole_workspace_changes_nothing_unless_a_control_is_focused(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _window(qtbot, qapp, services)
    procedure_id = _open_first_procedure(qtbot, window, "D1001")
    workspace = window.workspace
    workspace.setFocus()
    stored = services.charting.get(procedure_id)
    for tab in range(workspace.tabs.count()):
        workspace.tabs.setCurrentIndex(tab)
        page = workspace.tabs.currentWidget()
        controls = [
            w
            for w in workspace.findChildren(QWidget)
            if isinstance(w, (QComboBox, QAbstractSpinBox, QAbstractSlider))
            and w.isVisible()
            and not w.inherits("QScrollBar")
        ]
        assert controls, page.objectName()
        before = _values(controls)
        for widget in controls:
            assert not widget.hasFocus()
            for steps in (3, -3, 1, -1):
                _wheel(widget, steps)
        # Scrolling the tab itself (the scroll area) still scrolls.
        _wheel(page, -3)
        assert _values(controls) == before, page
    after = services.charting.get(procedure_id)
    assert after.procedure == stored.procedure
    assert after.procedure.sites == stored.procedure.sites

    # The turn over an unfocused control is handed on: the form it is in scrolls.
    scrolled = 0
    for tab in range(workspace.tabs.count()):
        workspace.tabs.setCurrentIndex(tab)
        page = workspace.tabs.currentWidget()
        for area in [page, *page.findChildren(QWidget)]:
            if not isinstance(area, QScrollArea):
                continue
            bar = area.verticalScrollBar()
            if not area.isVisible() or bar.maximum() == 0:
                continue
            bar.setValue(0)
            viewport = area.viewport()
            shown = [
                w
                for w in area.widget().findChildren(QWidget)
                if guarded(w)
                and w.isVisible()
                and viewport.rect().contains(w.mapTo(viewport, w.rect().center()))
            ]
            if shown:
                _wheel(shown[0], -1)
                assert bar.value() > 0, area
                scrolled += 1
    assert scrolled

    # The same turn over a control the user has focused does change it: the policy, not a
    # dead control, kept the values above.
    workspace.tabs.setCurrentWidget(workspace.checklist)
    position = workspace.checklist.position
    position.setFocus()
    qtbot.waitUntil(position.hasFocus)
    index = position.currentIndex()
    _wheel(position, -1)
    assert position.currentIndex() != index
