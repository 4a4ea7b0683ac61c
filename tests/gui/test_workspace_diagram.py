"""The diagram inside the workspace: clicks chart sites with the syringe's defaults, selection
follows both ways, and a signed note takes no clicks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain import diagram as dg
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow

# The time-out overlay is a dialog: offscreen Qt cannot size or raise it and says so.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
RIVERA = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("workspace-diagram")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def open_today(qtbot: QtBot, services: Any, user: User) -> MainWindow:
    window = MainWindow(services.as_user(user), user)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()  # keyboard shortcuts go to the active window only
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    maria = services.patients.by_mrn("D1001")
    window.open_patient(maria.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    window.workspace.set_view("posterior")
    return window


def click_muscle(qtbot: QtBot, window: MainWindow, muscle: str, side: str) -> None:
    diagram = window.workspace.diagram
    zone = dg.load_diagram().views["posterior"].zone_for(muscle, side)
    assert zone is not None
    pos = diagram.view.mapFromScene(diagram.scene.to_scene(*zone.label_point))
    qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_after_the_time_out_a_click_charts_an_injected_site_with_the_syringe_defaults(
    qtbot: QtBot, services: Any
) -> None:
    window = open_today(qtbot, services, CHEN)
    workspace = window.workspace
    qtbot.keyClick(workspace, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)  # time-out
    qtbot.keyClick(workspace.time_out_dialog, Qt.Key.Key_Y)  # confirm: sites marked
    qtbot.keyClick(workspace, Qt.Key.Key_B)  # site 1 injected, brisk

    click_muscle(qtbot, window, "lower_trapezius", "left")

    stored = services.charting.sites(workspace.document.procedure_id)
    assert len(stored) == 7
    new = stored[-1].site
    assert (new.muscle, new.side, new.state) == ("lower_trapezius", "left", "injected")
    assert (new.preparation, new.volume_ml) == ("A", 1.5)  # from the last charted site
    # The new site is selected in the table too, and the rules saw it.
    assert workspace.selected_id == stored[-1].id
    assert workspace.model.row_of(stored[-1].id) == workspace.table.currentIndex().row()
    assert workspace.saved_indicator.text().startswith("✓ Saved")


def test_before_the_time_out_a_click_plans_a_site(qtbot: QtBot, services: Any) -> None:
    window = open_today(qtbot, services, RIVERA)
    click_muscle(qtbot, window, "gluteus_medius", "right")
    stored = services.charting.sites(window.workspace.document.procedure_id)
    assert (stored[-1].site.muscle, stored[-1].site.state) == ("gluteus_medius", "planned")


def test_selecting_a_row_selects_the_marker_and_a_marker_click_selects_the_row(
    qtbot: QtBot, services: Any
) -> None:
    window = open_today(qtbot, services, CHEN)
    workspace = window.workspace
    sites = services.charting.sites(workspace.document.procedure_id)
    workspace.table.selectRow(3)
    assert workspace.diagram.selected_site_id() == sites[3].id

    site = sites[1].site  # upper trapezius, right: click on its marker
    pos = workspace.diagram.view.mapFromScene(workspace.diagram.scene.to_scene(site.x, site.y))
    qtbot.mouseClick(workspace.diagram.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert workspace.table.currentIndex().row() == 1
    assert len(services.charting.sites(workspace.document.procedure_id)) == 6  # nothing added


def test_undo_in_the_workspace_undoes_a_diagram_placement(qtbot: QtBot, services: Any) -> None:
    window = open_today(qtbot, services, CHEN)
    workspace = window.workspace
    click_muscle(qtbot, window, "gluteus_maximus", "left")
    assert len(services.charting.sites(workspace.document.procedure_id)) == 7
    qtbot.keyClick(workspace, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(services.charting.sites(workspace.document.procedure_id)) == 6
    assert workspace.model.rowCount() == 6
