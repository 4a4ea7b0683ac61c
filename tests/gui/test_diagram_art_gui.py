"""The new art in the real widget: a click on each muscle's label point stores that muscle and
side (with its landmark-relative location); landmark names show on hover and when zoomed in; the
clinician can reword a site's location in the site editor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain import diagram as dg
from tpi_chart.domain.models import Patient, Procedure
from tpi_chart.services.context import open_services
from tpi_chart.ui.diagram import BodyDiagram
from tpi_chart.ui.diagram.artwork import LANDMARK_LABEL_ZOOM, LandmarkItem
from tpi_chart.ui.diagram.view import MAX_ZOOM

pytestmark = pytest.mark.gui

_HOSTS: list[QWidget] = []


@pytest.fixture(autouse=True)
def _release_hosts() -> Iterator[None]:
    yield
    _HOSTS.clear()


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    with open_services(tmp_path / "chart.db", staff("chen")) as opened:
        yield opened


@pytest.fixture
def procedure_id(services: Any) -> int:
    patient = services.patients.create(
        Patient(
            mrn="T200",
            family_name="Art",
            given_name="Pat",
            birth_date=date(1970, 1, 1),
            sex="male",
            weight_kg=80,
        )
    )
    stored = services.charting.create(
        patient.id, Procedure(performed_at=datetime(2025, 3, 4, 9, 30, tzinfo=UTC))
    )
    return int(stored.id)


@pytest.fixture
def diagram(qtbot: QtBot, services: Any, procedure_id: int) -> BodyDiagram:
    host = QWidget()
    qtbot.addWidget(host)
    # 1366 x 768: the diagram panel of the workspace is about this tall
    host.resize(520, 720)
    widget = BodyDiagram(services.charting)
    widget.setParent(host)
    widget.setGeometry(0, 0, 520, 720)
    host.show()
    qtbot.waitExposed(host)
    _HOSTS.append(host)
    widget.set_procedure(procedure_id)
    return widget


def _pos(diagram: BodyDiagram, x: float, y: float) -> QPoint:
    return diagram.view.mapFromScene(diagram.scene.to_scene(x, y))


def _first_zone_per_muscle() -> list[dg.Zone]:
    """One zone per catalog muscle: its first view, the patient's left."""
    seen: dict[str, dg.Zone] = {}
    for view in dg.load_diagram().views.values():
        for zone in view.zones:
            if zone.side == "left" and zone.muscle not in seen:
                seen[zone.muscle] = zone
    return list(seen.values())


def test_a_click_on_each_muscles_label_point_stores_that_muscle(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    zones = _first_zone_per_muscle()
    assert len(zones) == len(dg.load_diagram().muscles)
    for zone in zones:
        diagram.set_view(zone.view)
        pos = _pos(diagram, *zone.label_point)
        # the pixel clicked is the label point's pixel: it resolves to the zone (a deep muscle
        # under a superficial one with Alt held, as a click on the screen codes it)
        clicked = diagram.scene.to_normalised(diagram.view.mapToScene(pos))
        resolved = dg.resolve_point(zone.view, *clicked, deep=zone.deep)
        assert resolved == (zone.muscle, zone.side), zone.muscle
        modifier = Qt.KeyboardModifier.AltModifier if zone.deep else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, modifier, pos)
        record = services.charting.sites(procedure_id)[-1]
        stored = record.site
        assert (stored.muscle, stored.side, stored.view) == (zone.muscle, "left", zone.view)
        # the landmark-relative location is filled in when the site is placed
        assert stored.location == dg.describe_location(zone.view, stored.x, stored.y, "left")
        assert stored.location is not None
        assert stored.location.endswith(", left")
        # remove it again, so its marker does not catch the next click nearby
        services.charting.remove_site(record.id)
        diagram.set_procedure(procedure_id)
        assert services.charting.sites(procedure_id) == []


def test_landmark_names_show_on_hover_and_when_zoomed_in(
    qtbot: QtBot, diagram: BodyDiagram
) -> None:
    diagram.set_view("posterior")
    items = diagram.scene.landmark_items
    assert {item.landmark.id for item in items} >= {"c7", "t12", "l4", "psis"}
    c7 = next(item for item in items if item.landmark.id == "c7")
    assert c7.toolTip() == "C7 spinous process"
    zoom = diagram.view.transform().m11()
    assert not c7.label_visible(zoom)  # the whole figure: names would crowd it
    qtbot.mouseMove(diagram.view.viewport(), _pos(diagram, *c7.landmark.point))
    qtbot.waitUntil(lambda: c7.hovered)
    assert c7.label_visible(zoom)
    qtbot.mouseMove(diagram.view.viewport(), QPoint(5, 5))
    qtbot.waitUntil(lambda: not c7.hovered)
    # Zoomed in past the threshold (absolute pixels per scene unit, so the panel's size and the
    # controls around it do not matter), within the view's zoom range: the names are written.
    needed = LANDMARK_LABEL_ZOOM / zoom * 1.01
    assert diagram.view.zoom * needed <= MAX_ZOOM
    diagram.view.zoom_by(needed)
    assert c7.label_visible(diagram.view.transform().m11())
    assert isinstance(c7, LandmarkItem)


def test_the_clinician_rewords_a_location_in_the_site_editor(
    qtbot: QtBot, services: Any, procedure_id: int
) -> None:
    from tpi_chart.ui.workspace.site_editor import SiteEditor

    editor = SiteEditor((0.5, 1.0))
    qtbot.addWidget(editor)
    zone = dg.load_diagram().views["posterior"].zone_for("levator_scapulae", "right")
    assert zone is not None
    site = services.charting.sites(procedure_id)
    assert site == []
    from tpi_chart.domain.models import Site

    x, y = zone.label_point
    stored = services.charting.add_site(
        procedure_id, Site(muscle="levator_scapulae", side="right", view="posterior", x=x, y=y)
    )
    assert stored.site.location is not None
    editor.show_site(1, stored.site, (), editable=True, can_chart=True)
    assert editor.location.text() == stored.site.location
    emitted: list[str] = []
    editor.location_requested.connect(emitted.append)
    editor.location.selectAll()
    qtbot.keyClicks(editor.location, "at the levator insertion")
    qtbot.keyClick(editor.location, Qt.Key.Key_Return)
    assert emitted == ["at the levator insertion"]
    # the page stores it; a later move keeps the clinician's words
    updated = services.charting.update_site(
        stored.id, stored.site.model_copy(update={"location": emitted[0]})
    )
    moved = services.charting.update_site(
        stored.id, updated.site.model_copy(update={"x": x + 0.002})
    )
    assert moved.site.location == "at the levator insertion"


@pytest.mark.qt_log_ignore("propagateSizeHints")  # the offscreen platform, on show
def test_a_location_longer_than_its_field_shows_its_beginning(
    qtbot: QtBot, services: Any, procedure_id: int
) -> None:
    from tpi_chart.domain.models import Site
    from tpi_chart.ui.workspace.site_editor import SiteEditor

    editor = SiteEditor((0.5, 1.0))
    qtbot.addWidget(editor)
    editor.resize(420, 500)
    editor.show()
    qtbot.waitExposed(editor)
    words = "2 cm medial and 3 cm superior to the superior angle of the scapula, left"
    stored = services.charting.add_site(
        procedure_id, Site(muscle="upper_trapezius", side="left", location=words)
    )
    editor.show_site(1, stored.site, (), editable=True, can_chart=True)
    assert editor.location.text() == words
    metrics = editor.location.fontMetrics()
    assert metrics.horizontalAdvance(words) > editor.location.width()  # it does not all fit
    assert editor.location.cursorPosition() == 0  # so its first words are the ones shown
