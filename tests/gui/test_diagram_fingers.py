"""Issue 13, a diagram made for fingers and eyes: region presets frame every zone at least 34 px
across at 1366×768 (measured on screen), markers 24 px with the twitch readable in grey scale,
the superficial muscle wins where zones overlap (Alt or the "Here:" chooser for the deep one), and
the muscle picker re-codes any site from its row, its marker or the M key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain import diagram as dg
from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.diagram.items import MarkerStyle, paint_marker
from tpi_chart.ui.diagram.picker import muscle_matches
from tpi_chart.ui.diagram.widget import REGION_PRESETS
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.style import apply_theme

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
PRESET_KEYS = {"neck_shoulders": "S", "upper_back": "U", "low_back_hip": "L", "jaw_head": "H"}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("diagram-fingers")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _window(qtbot: QtBot, qapp: Any, services: Any, size: tuple[int, int]) -> MainWindow:
    apply_theme(qapp)
    window = MainWindow(services, CHEN)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    maria = services.patients.by_mrn("D1001")
    window.open_patient(maria.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    return window


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_every_zone_of_a_region_preset_is_a_fingertip_wide_on_screen(
    qtbot: QtBot, qapp: Any, services: Any, size: tuple[int, int]
) -> None:
    window = _window(qtbot, qapp, services, size)
    workspace = window.workspace
    diagram = workspace.diagram
    muscles = load_catalog().muscles
    measured = 0
    for preset_id, _text, _key, regions, fallback in REGION_PRESETS:
        views = (
            ("head_left", "head_right")
            if fallback.startswith("head")
            else (
                "posterior",
                "anterior",
            )
        )
        for view in views:
            workspace.set_view(view)
            workspace.setFocus()
            qtbot.keyClick(workspace, PRESET_KEYS[preset_id])  # one key
            assert diagram.region_framed == preset_id
            assert diagram.current_view() == view
            zones = [
                i for i in diagram.scene.zone_items if muscles[i.zone.muscle].region in regions
            ]
            if view == "anterior" and preset_id == "upper_back":
                assert zones  # the chest is in the front view
            for item in zones:
                shown = diagram.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
                across = min(shown.width(), shown.height())
                assert across >= 34, (preset_id, view, item.zone.muscle, item.zone.side, across)
                measured += 1
    assert measured > 60


def test_opening_a_procedure_frames_the_region_of_its_sites(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _window(qtbot, qapp, services, (1366, 768))
    diagram = window.workspace.diagram
    visible = diagram.view.mapToScene(diagram.view.viewport().rect()).boundingRect()
    figure = diagram.scene.figure_rect()
    assert visible.height() < figure.height() * 0.7  # zoomed in on the sites' region
    for marker in diagram.scene.markers.values():
        assert visible.contains(marker.scenePos())


def _marker_image(style: MarkerStyle) -> QImage:
    image = QImage(60, 60, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    paint_marker(painter, QPointF(30, 30), style)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_Grayscale8)


def _extent(image: QImage) -> int:
    columns = [
        x
        for x in range(image.width())
        if any(image.pixelColor(x, 30 + dy).value() < 200 for dy in (0,))
    ]
    return max(columns) - min(columns) + 1 if columns else 0


def test_markers_are_24_px_and_the_twitch_reads_in_grey_scale(qapp: Any) -> None:
    """Fonts need the application (a test run alone, or first on its worker, has no other)."""
    images = {
        twitch: _marker_image(MarkerStyle(7, False, twitch, False, False))
        for twitch in (None, "none", "weak", "brisk")
    }
    for image in images.values():
        assert _extent(image) >= 24
    planned = _marker_image(MarkerStyle(7, True, None, False, False))
    assert _extent(planned) >= 24
    grey = list(images.values())
    for i, first in enumerate(grey):
        for second in grey[i + 1 :]:
            assert first != second  # pattern and letter differ even without colour


def _click_zone(qtbot: QtBot, diagram: Any, point: tuple[float, float], alt: bool = False) -> None:
    pos = diagram.view.mapFromScene(diagram.scene.to_scene(*point))
    modifier = Qt.KeyboardModifier.AltModifier if alt else Qt.KeyboardModifier.NoModifier
    qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, modifier, pos)


def test_the_superficial_muscle_wins_alt_or_the_chooser_gives_the_deep_one(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _window(qtbot, qapp, services, (1366, 768))
    workspace = window.workspace
    diagram = workspace.diagram
    workspace.set_view("anterior")
    diagram.fit()
    minor = dg.load_diagram().views["anterior"].zone_for("pectoralis_minor", "left")
    assert minor is not None
    procedure_id = workspace.document.procedure_id

    def stored(site_id: int) -> tuple[str, str]:
        site = next(s.site for s in services.charting.sites(procedure_id) if s.id == site_id)
        return site.muscle, site.side

    _click_zone(qtbot, diagram, minor.label_point)
    placed = workspace.selected_id
    assert stored(placed) == ("pectoralis_major", "left")
    assert diagram.here.isVisible()
    names = [b.text() for b in diagram.here.buttons]
    assert names == ["Pectoralis major", "Pectoralis minor"]
    assert diagram.here.buttons[0].isChecked()
    qtbot.mouseClick(diagram.here.buttons[1], Qt.MouseButton.LeftButton)
    assert stored(placed) == ("pectoralis_minor", "left")
    assert not diagram.here.isVisible()

    right = dg.load_diagram().views["anterior"].zone_for("pectoralis_minor", "right")
    assert right is not None
    _click_zone(qtbot, diagram, right.label_point, alt=True)  # Alt: the deep muscle at once
    assert workspace.selected_id != placed
    assert stored(workspace.selected_id) == ("pectoralis_minor", "right")


def test_type_ahead_finds_names_and_synonyms() -> None:
    assert muscle_matches("scm")[0] == "sternocleidomastoid"
    assert muscle_matches("QL")[0] == "quadratus_lumborum"
    assert muscle_matches("pec min") == ["pectoralis_minor"]
    assert set(muscle_matches("multifidus")) == {"cervical_multifidus", "lumbar_multifidus"}
    assert len(muscle_matches("")) == len(load_catalog().muscles)


def test_the_picker_recodes_an_uncoded_site_from_its_row_and_a_site_from_its_marker(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _window(qtbot, qapp, services, (1366, 768))
    workspace = window.workspace
    diagram = workspace.diagram
    workspace.set_view("posterior")
    diagram.fit()
    procedure_id = workspace.document.procedure_id
    view = dg.load_diagram().views["posterior"]
    # A point on the body outside every zone: the site is placed uncoded. Judged at the pixel
    # the click lands on (a point on the silhouette's edge can round off the body).

    def clicked(x: float, y: float) -> QPointF:
        return diagram.view.mapToScene(diagram.view.mapFromScene(diagram.scene.to_scene(x, y)))

    spot = next(
        (x / 100, y / 100)
        for y in range(60, 95)
        for x in range(30, 70)
        if view.zone_at(*diagram.scene.to_normalised(clicked(x / 100, y / 100))) is None
        and diagram.scene.on_body(clicked(x / 100, y / 100))
    )
    _click_zone(qtbot, diagram, spot)
    site_id = workspace.selected_id
    assert workspace.document.site(site_id).muscle == "unspecified"

    row = workspace.model.row_of(site_id)
    index = workspace.model.index(row, 1)
    rect = workspace.table.visualRect(index)
    qtbot.mouseClick(workspace.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(workspace.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    picker = workspace.picker
    assert picker is not None
    assert picker.isVisible()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is picker)
    qtbot.keyClicks(picker.search, "scm")
    assert picker.current_muscle() == "sternocleidomastoid"
    qtbot.mouseClick(picker.side_buttons["right"], Qt.MouseButton.LeftButton)
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert not picker.isVisible()
    site = next(s.site for s in services.charting.sites(procedure_id) if s.id == site_id)
    assert (site.muscle, site.side) == ("sternocleidomastoid", "right")

    # The marker: right-click opens the picker for that site.
    marker = diagram.scene.markers[site_id]
    workspace.set_view(diagram.current_view())
    pos = diagram.view.mapFromScene(marker.scenePos())
    qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.RightButton, pos=pos)
    picker = workspace.picker
    assert picker is not None
    assert picker.isVisible()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is picker)
    assert picker.current_muscle() == "sternocleidomastoid"
    qtbot.keyClicks(picker.search, "levator")
    qtbot.mouseClick(picker.ok_button, Qt.MouseButton.LeftButton)
    site = next(s.site for s in services.charting.sites(procedure_id) if s.id == site_id)
    assert (site.muscle, site.side) == ("levator_scapulae", "right")
    # One undoable step each.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    workspace.setFocus()
    qtbot.keyClick(workspace, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    site = next(s.site for s in services.charting.sites(procedure_id) if s.id == site_id)
    assert site.muscle == "sternocleidomastoid"
