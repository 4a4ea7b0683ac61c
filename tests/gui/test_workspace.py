"""The workspace: site table model, table selection, keys, undo, saved indicator, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.workspace.site_model import SITE_ID_ROLE, SiteTableModel

# The time-out overlay is a dialog: offscreen Qt cannot size or raise it and says so.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
RIVERA = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("workspace")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _open(qtbot: QtBot, qapp: Any, services: Any, user: User = CHEN) -> MainWindow:
    window = MainWindow(services.as_user(user), user)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    maria = services.patients.by_mrn("D1001")
    window.open_patient(maria.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    return window


def _stored_sites(services: Any, window: MainWindow) -> list[Any]:
    return [s.site for s in services.charting.sites(window.workspace.document.procedure_id)]


def test_site_table_model_passes_the_model_tester(qtmodeltester: Any, services: Any) -> None:
    maria = services.patients.by_mrn("D1001")
    procedure_id = services.charting.list_for_patient(maria.id)[0].id
    model = SiteTableModel()
    model.set_sites(services.charting.sites(procedure_id))
    assert model.rowCount() == 6
    qtmodeltester.check(model)
    # Content changes keep the rows (dataChanged), a different set of sites resets.
    sites = services.charting.sites(procedure_id)
    model.set_sites(sites[:3])
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    assert model.index(0, 1).data() == "⚠ Upper trapezius"
    assert model.index(2, 3).data() == "○ Planned"
    assert model.index(0, 0).data(SITE_ID_ROLE) == sites[0].id


def test_keys_chart_a_site_and_the_screen_says_saved_only_after_the_service(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    first_id = workspace.selected_id
    assert first_id == workspace.document.sites[0].id
    assert workspace.table.currentIndex().row() == 0

    qtbot.keyClick(workspace, Qt.Key.Key_Space)
    assert _stored_sites(services, window)[0].state == "injected"
    assert workspace.saved_indicator.text().startswith("✓ Saved")
    assert workspace.model.index(0, 3).data() == "● Injected"
    assert workspace.document.procedure.status == "in_progress"
    # Space keeps the site; the twitch key records the response and moves to the next planned.
    assert workspace.selected_id == first_id
    qtbot.keyClick(workspace, Qt.Key.Key_2)
    assert _stored_sites(services, window)[0].twitch == "brisk"
    assert workspace.selected_id == workspace.document.sites[1].id
    assert workspace.table.currentIndex().row() == 1

    # Volume preset key on the selected (planned) site, then undo/redo through the service.
    qtbot.keyClick(workspace, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert _stored_sites(services, window)[1].volume_ml == 0.5
    qtbot.keyClick(workspace, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _stored_sites(services, window)[1].volume_ml == 1.5
    qtbot.keyClick(
        workspace,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert _stored_sites(services, window)[1].volume_ml == 0.5

    # J / K move the selection; the table follows.
    qtbot.keyClick(workspace, Qt.Key.Key_J)
    assert workspace.table.currentIndex().row() == 2
    qtbot.keyClick(workspace, Qt.Key.Key_K)
    assert workspace.table.currentIndex().row() == 1


def test_selecting_a_row_selects_the_site_in_the_editor(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    workspace.table.selectRow(4)
    assert workspace.selected_id == workspace.document.sites[4].id
    assert workspace.editor.title.text().startswith("5 · Rhomboid major, right")


def test_time_out_records_the_user_and_starts_the_clock(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    qtbot.mouseClick(workspace.timeout_header, Qt.MouseButton.LeftButton)
    qtbot.keyClick(workspace.time_out_dialog, Qt.Key.Key_Y)  # confirm: sites marked
    stored = services.charting.get(workspace.document.procedure_id).procedure
    assert stored.time_out is not None
    assert stored.time_out.performed_by == "Dr. Alex Chen, MD"
    assert workspace.elapsed.text().startswith("Time-out + 00:0")
    assert workspace.checklist.timeout_label.text().startswith("✓ Dr. Alex Chen, MD")
    assert not workspace.timeout_header.isVisible()


def test_a_time_out_long_past_is_shown_as_its_time_not_a_stopwatch(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    """A visit left open overnight: "Time-out + 8353:40" said nothing a physician could use."""
    from datetime import datetime, timedelta

    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    qtbot.mouseClick(workspace.timeout_header, Qt.MouseButton.LeftButton)
    qtbot.keyClick(workspace.time_out_dialog, Qt.Key.Key_Y)
    procedure = workspace.document.procedure
    assert procedure is not None
    assert procedure.time_out is not None
    now = procedure.time_out.at
    service_day = datetime(2026, 1, 10, 9, 0).astimezone()
    for performed_at, time_out_at, shown in (
        (procedure.performed_at, now - timedelta(hours=2, minutes=5), "Time-out + 2 h 05 min"),
        (service_day, service_day + timedelta(minutes=12), "Time-out at 09:12"),
        (service_day, service_day + timedelta(hours=23), "Time-out 2026-01-11 08:00"),
    ):
        moved = procedure.model_copy(
            update={
                "performed_at": performed_at,
                "time_out": procedure.time_out.model_copy(update={"at": time_out_at}),
            }
        )
        workspace.document.procedure = moved
        workspace.header.tick()
        assert workspace.elapsed.text() == shown


def test_an_assistant_plans_but_cannot_inject(qtbot: QtBot, qapp: Any, services: Any) -> None:
    window = _open(qtbot, qapp, services, RIVERA)
    workspace = window.workspace
    qtbot.keyClick(workspace, Qt.Key.Key_B)
    assert _stored_sites(services, window)[0].state == "planned"
    assert workspace.banner.isVisible()
    assert "physician" in workspace.banner.label.text()
    assert not workspace.editor.inject.isEnabled()
    # Planning stays open: a volume preset on a planned site is stored.
    qtbot.keyClick(workspace, Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    assert _stored_sites(services, window)[0].volume_ml == 2.0


def test_a_refused_edit_shows_a_banner_and_not_saved(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    site_id = workspace.selected_id
    # Another window removed the site meanwhile: the service refuses, the screen says so.
    services.charting.remove_site(site_id)
    services.charting.get(workspace.document.procedure_id)
    workspace.document.ops = _Refusing(workspace.document.ops)
    qtbot.keyClick(workspace, Qt.Key.Key_Space)
    assert workspace.banner.isVisible()
    assert "disk is full" in workspace.banner.label.text()
    assert workspace.saved_indicator.text().startswith("✗ Not saved")
    assert workspace.undo_stack.count() == 0


class _Refusing:
    """The real operations, except that every site update fails like a full disk."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def update_site(self, site_id: int, site: Any) -> Any:
        from tpi_chart.services.errors import StorageError

        raise StorageError("the disk is full; free some space and try again (nothing was saved)")


def test_reopening_returns_to_the_same_procedure_and_view(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    procedure_id = window.workspace.document.procedure_id
    qtbot.keyClick(window.workspace, Qt.Key.Key_F3)
    assert window.workspace.current_view == "head_left"
    window.close()
    again = MainWindow(services.as_user(CHEN), CHEN)
    qtbot.addWidget(again)
    assert again.restore_last()
    assert again.stack.currentWidget() is again.workspace
    assert again.workspace.document.procedure_id == procedure_id
    assert again.workspace.current_view == "head_left"


def test_findings_are_toggle_buttons_big_enough_for_a_gloved_finger(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    editor = window.workspace.editor
    for button in editor.findings.values():
        assert button.height() >= 34
    qtbot.mouseClick(editor.findings["taut_band"], Qt.MouseButton.LeftButton)
    assert _stored_sites(services, window)[0].findings.taut_band
    assert editor.findings["taut_band"].isChecked()


def test_a_second_time_out_does_not_overwrite_the_first(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _open(qtbot, qapp, services)
    workspace = window.workspace
    qtbot.keyClick(workspace, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(workspace.time_out_dialog, Qt.Key.Key_Y)  # confirm: sites marked
    procedure_id = workspace.document.procedure_id
    first = services.charting.get(procedure_id).procedure.time_out
    assert first is not None
    qtbot.keyClick(workspace, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert services.charting.get(procedure_id).procedure.time_out == first
    assert "time-out was recorded" in workspace.banner.label.text()
