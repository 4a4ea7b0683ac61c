"""Defects found by using the app as the clinic does, at 1366×768 (the procedure room's screen):
each test shows what the person at the screen sees."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QToolBar, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain import diagram as dg
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.style import apply_theme

# The time-out overlay is a dialog: offscreen Qt cannot size or raise it and says so.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("walkthrough")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _open_maria(qtbot: QtBot, qapp: Any, services: Any, user: User = CHEN) -> MainWindow:
    apply_theme(qapp)  # the clinic's fonts and paddings decide what fits
    window = MainWindow(services.as_user(user), user)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    maria = services.patients.by_mrn("D1001")
    window.open_patient(maria.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    return window


def _fully_shown(widget: QWidget, area: QWidget) -> bool:
    """The widget lies inside `area` horizontally (nothing cut off at either side)."""
    left = widget.mapTo(area, QPoint(0, 0)).x()
    return left >= 0 and left + widget.width() <= area.width()


def test_syringe_fields_fit_the_panel_at_1366_without_scrolling_sideways(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open_maria(qtbot, qapp, services)
    workspace = window.workspace
    workspace.tabs.setCurrentWidget(workspace.preparations)
    qapp.processEvents()
    panel = workspace.preparations
    assert not panel.horizontalScrollBar().isVisible()
    viewport = panel.viewport()
    fields = [
        field
        for _id, _label, rows, _total in panel._rows
        for row in rows
        for field in (row.agent, row.strength, row.volume, row.lot, row.expires, row.remove)
    ]
    assert len(fields) == 12  # syringe A: lidocaine and triamcinolone
    for field in fields:
        assert _fully_shown(field, viewport), field
    for _id, _label, rows, _total in panel._rows:
        for row in rows:
            for line in (row.lot, row.expires):
                assert isinstance(line, QLineEdit)
                shown = line.width() - 16  # frame and padding
                assert line.fontMetrics().horizontalAdvance(line.text()) <= shown, line.text()


def _click_muscle(qtbot: QtBot, window: MainWindow, muscle: str, side: str) -> None:
    diagram = window.workspace.diagram
    zone = dg.load_diagram().views["posterior"].zone_for(muscle, side)
    assert zone is not None
    pos = diagram.view.mapFromScene(diagram.scene.to_scene(*zone.label_point))
    qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_a_placement_warning_never_hides_the_new_marker_and_goes_away_by_itself(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    """The red pneumothorax strip floated over the bottom of the picture, over the marker just
    placed, on every view, until someone clicked Dismiss."""
    window = _open_maria(qtbot, qapp, services)
    workspace = window.workspace
    workspace.record_time_out()
    qtbot.keyClick(workspace.time_out_dialog, Qt.Key.Key_Y)  # confirm: sites marked
    diagram = workspace.diagram
    diagram.banner.SHOW_MS = 300
    _click_muscle(qtbot, window, "lower_trapezius", "left")
    banner = diagram.banner
    assert banner.isVisible()
    assert "Lower trapezius" in banner.label.text()
    new_id = diagram.selected_id
    assert new_id is not None
    marker = diagram.scene.markers[new_id]
    on_screen = diagram.view.mapFromScene(marker.sceneBoundingRect()).boundingRect()
    assert not banner.geometry().intersects(on_screen)
    # Another view: the warning was about a site on the back.
    qtbot.keyClick(diagram.view, Qt.Key.Key_F1)
    assert diagram.current_view() == "anterior"
    assert not banner.isVisible()
    qtbot.keyClick(diagram.view, Qt.Key.Key_F2)
    _click_muscle(qtbot, window, "lower_trapezius", "right")
    assert banner.isVisible()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=3000)
    # The rules panel still names the risk.
    rules = workspace.rules.warnings
    assert any("Pneumothorax" in rules.item(i).text() for i in range(rules.count()))


def test_the_tool_bar_keeps_its_buttons_and_the_signed_in_user_while_charting(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    """Undo renamed itself "Undo Place Lower trapezius (left)": the tool bar overflowed at 1366
    px and the name of the signed-in person disappeared behind the overflow arrow."""
    smith = User(
        username="smith",
        display_name="Dr Anna Smith",
        roles=frozenset({"physician", "administrator"}),
    )
    window = _open_maria(qtbot, qapp, services, smith)
    workspace = window.workspace
    workspace.record_time_out()
    qtbot.keyClick(workspace.time_out_dialog, Qt.Key.Key_Y)  # confirm: sites marked
    _click_muscle(qtbot, window, "lower_trapezius", "left")
    qapp.processEvents()
    bar = window.findChild(QToolBar, "mainToolbar")
    undo_button = bar.widgetForAction(window.undo_action)
    assert isinstance(undo_button, QToolButton)
    assert undo_button.text() == "Undo"
    assert undo_button.isEnabled()
    assert "Lower trapezius" in window.undo_action.toolTip()
    user = window.findChild(QLabel, "userLabel")
    assert user.isVisible()
    assert user.mapTo(bar, QPoint(user.width(), 0)).x() <= bar.width()
    qtbot.keyClick(workspace.diagram.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.redo_action.isEnabled()
    assert bar.widgetForAction(window.redo_action).text() == "Redo"
    assert user.isVisible()


def test_every_warning_to_acknowledge_is_shown_whole_with_a_readable_reason_field(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    """The Sign tab put the long warnings beside their reason fields: the pneumothorax warning
    was cut off mid-sentence and the field showed "Reason (requ…"."""
    window = _open_maria(qtbot, qapp, services)
    workspace = window.workspace
    workspace.tabs.setCurrentWidget(workspace.sign_panel)
    qapp.processEvents()
    panel = workspace.sign_panel
    assert "ptx_risk_site" in panel.ack_fields
    for code, field in panel.ack_fields.items():
        labels = [
            label
            for label in panel.findChildren(QLabel)
            if label.isVisible() and field.toolTip() in label.text()
        ]
        assert len(labels) == 1, code
        label = labels[0]
        assert label.height() >= label.heightForWidth(label.width()), code
        assert _fully_shown(label, panel.viewport())
        needed = field.fontMetrics().horizontalAdvance(field.placeholderText()) + 16
        assert field.width() >= needed, code
        assert _fully_shown(field, panel.viewport())


def test_after_the_time_out_the_checklist_needs_no_sideways_scrolling(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    """The time-out line "✓ Dr. Alex Chen, MD at 04:…" was cut off; the tab scrolled sideways."""
    window = _open_maria(qtbot, qapp, services)
    workspace = window.workspace
    qtbot.keyClick(workspace, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(workspace.time_out_dialog, Qt.Key.Key_Y)  # confirm: sites marked
    checklist = workspace.checklist
    # The Problem tab comes first now: look at the checklist as the physician would.
    workspace.tabs.setCurrentWidget(checklist)
    qapp.processEvents()
    assert checklist.timeout_label.text().startswith("✓ Dr. Alex Chen, MD at ")
    assert not checklist.horizontalScrollBar().isVisible()
    assert _fully_shown(checklist.timeout_label, checklist.viewport())


def test_an_administrators_tool_bar_fits_1366_px_with_the_name_visible(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    admin = User(
        username="chen",
        display_name="Dr. Alex Chen, MD",
        roles=frozenset({"physician", "administrator"}),
    )
    window = _open_maria(qtbot, qapp, services, admin)
    qapp.processEvents()
    bar = window.findChild(QToolBar, "mainToolbar")
    user = window.findChild(QLabel, "userLabel")
    assert user.isVisible()
    assert user.mapTo(bar, QPoint(user.width(), 0)).x() <= bar.width()
    assert "Administrator" in user.toolTip()
