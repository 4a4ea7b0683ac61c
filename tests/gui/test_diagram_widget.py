"""The body diagram widget driven with real mouse clicks and keys, checked against what is STORED.

Every test runs the real ChartingService on a fresh SQLite file; the diagram only mirrors it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain import diagram as dg
from tpi_chart.domain.models import Patient, Procedure, Site
from tpi_chart.services.context import open_services
from tpi_chart.ui.diagram import BodyDiagram
from tpi_chart.ui.diagram.items import HIT_RADIUS, MarkerItem

pytestmark = pytest.mark.gui


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    with open_services(tmp_path / "chart.db", staff("chen")) as opened:
        yield opened


@pytest.fixture
def procedure_id(services: Any) -> int:
    patient = services.patients.create(
        Patient(
            mrn="T100",
            family_name="Test",
            given_name="Pat",
            birth_date=date(1970, 1, 1),
            sex="female",
            weight_kg=70,
        )
    )
    stored = services.charting.create(
        patient.id, Procedure(performed_at=datetime(2025, 3, 4, 9, 30, tzinfo=UTC))
    )
    return int(stored.id)


def embedded(qtbot: QtBot, widget: BodyDiagram, width: int = 520, height: int = 900) -> None:
    """Show the diagram inside a host window, as the workspace embeds it."""
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(width, height)
    widget.setParent(host)
    widget.setGeometry(0, 0, width, height)
    host.show()
    qtbot.waitExposed(host)
    _HOSTS.append(host)  # keep the host (and so the diagram) alive for the test


_HOSTS: list[QWidget] = []


@pytest.fixture(autouse=True)
def _release_hosts() -> Iterator[None]:
    yield
    _HOSTS.clear()


@pytest.fixture
def diagram(qtbot: QtBot, services: Any, procedure_id: int) -> BodyDiagram:
    widget = BodyDiagram(services.charting)
    embedded(qtbot, widget)
    widget.set_procedure(procedure_id)
    return widget


def viewport_pos(diagram: BodyDiagram, x: float, y: float) -> QPoint:
    """Normalised view coordinates → viewport pixels, through the scene and view transforms."""
    return diagram.view.mapFromScene(diagram.scene.to_scene(x, y))


def click(
    qtbot: QtBot,
    diagram: BodyDiagram,
    x: float,
    y: float,
    modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> tuple[float, float]:
    """Click the viewport pixel showing (x, y); returns the normalised point of that pixel.
    ``modifier`` Alt: the deep muscle where zones overlap."""
    pos = viewport_pos(diagram, x, y)
    clicked = clicked_normalised(diagram, pos)
    qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, modifier, pos)
    return clicked


def clicked_normalised(diagram: BodyDiagram, pos: QPoint) -> tuple[float, float]:
    return diagram.scene.to_normalised(diagram.view.mapToScene(pos))


def label_point(view: str, muscle: str, side: str) -> tuple[float, float]:
    zone = dg.load_diagram().views[view].zone_for(muscle, side)  # type: ignore[index]
    assert zone is not None
    return zone.label_point


def key(
    qtbot: QtBot, diagram: BodyDiagram, k: Qt.Key, mod: Any = Qt.KeyboardModifier.NoModifier
) -> None:
    qtbot.keyClick(diagram.view, k, mod)


# -- placing -------------------------------------------------------------------------------------


def test_click_on_posterior_left_upper_trapezius_stores_that_muscle_and_side(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    x, y = label_point("posterior", "upper_trapezius", "left")
    assert x < 0.5  # patient's left is on the screen's left from behind
    with qtbot.waitSignal(diagram.site_selected) as selected:
        cx, cy = click(qtbot, diagram, x, y)

    stored = services.charting.sites(procedure_id)
    assert len(stored) == 1
    site = stored[0].site
    assert (site.muscle, site.side) == ("upper_trapezius", "left")
    assert site.view == "posterior"
    assert site.x == pytest.approx(cx, abs=0.005)
    assert site.y == pytest.approx(cy, abs=0.005)
    assert site.x == pytest.approx(x, abs=0.005)
    assert site.y == pytest.approx(y, abs=0.005)
    assert site.state == "injected"  # chart mode is the default
    assert stored[0].number == 1
    assert selected.args == [stored[0].id]
    # the scene mirrors the stored row
    marker = diagram.scene.markers[stored[0].id]
    assert marker.selected
    assert diagram.scene.to_normalised(marker.pos()) == pytest.approx((site.x, site.y))
    # non-modal pneumothorax warning
    assert diagram.banner.isVisible()
    assert "Pneumothorax" in diagram.banner.label.text()
    assert "Upper trapezius" in diagram.banner.label.text()
    assert QApplication.activeModalWidget() is None


def test_click_on_anterior_pectoralis_major_right_is_on_the_screen_left(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    qtbot.keyClick(diagram.view, Qt.Key.Key_F1)
    assert diagram.current_view() == "anterior"
    x, y = label_point("anterior", "pectoralis_major", "right")
    assert x < 0.5  # facing the viewer: the patient's right is on the screen's left
    cx, cy = click(qtbot, diagram, x, y)
    [stored] = services.charting.sites(procedure_id)
    assert (stored.site.muscle, stored.site.side, stored.site.view) == (
        "pectoralis_major",
        "right",
        "anterior",
    )
    assert stored.site.x == pytest.approx(cx, abs=0.005)
    assert stored.site.y == pytest.approx(cy, abs=0.005)
    assert diagram.banner.isVisible()
    assert diagram.banner.kind == "risk"


def test_click_on_the_body_outside_any_zone_is_unspecified_and_flagged(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    # the back of the left thigh (screen left from behind): on the figure, in no zone
    x, y = 0.5 - 0.09, 0.64
    assert dg.resolve_point("posterior", x, y) == ("unspecified", "left")
    click(qtbot, diagram, x, y)
    [stored] = services.charting.sites(procedure_id)
    assert (stored.site.muscle, stored.site.side) == ("unspecified", "left")
    assert diagram.scene.markers[stored.id].style.uncoded
    assert diagram.banner.kind == "caution"
    assert "choose the muscle" in diagram.banner.label.text()


def test_click_on_the_background_places_nothing_and_clears_the_selection(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "infraspinatus", "right"))
    assert diagram.selected_site_id() is not None
    with qtbot.waitSignal(diagram.site_selected) as cleared:
        click(qtbot, diagram, 0.03, 0.5)  # white space beside the figure
    assert cleared.args == [-1]
    assert diagram.selected_site_id() is None
    assert len(services.charting.sites(procedure_id)) == 1


def test_plan_mode_and_new_site_defaults_hook(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_mode("plan")
    diagram.new_site_defaults = lambda site: site.model_copy(update={"volume_ml": 1.5})
    diagram.set_view("posterior")
    # Levator scapulae lies under the trapezius: Alt codes the deep muscle.
    x, y = label_point("posterior", "levator_scapulae", "right")
    click(qtbot, diagram, x, y, Qt.KeyboardModifier.AltModifier)
    [stored] = services.charting.sites(procedure_id)
    assert stored.site.state == "planned"
    assert stored.site.volume_ml == 1.5
    marker = diagram.scene.markers[stored.id]
    assert marker.style.planned
    tip = marker.toolTip()
    assert "Levator scapulae (right)" in tip
    assert "1.5 mL" in tip
    assert "Planned" in tip


def test_a_click_on_a_marker_selects_it_instead_of_placing_a_second_site(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    x, y = label_point("posterior", "gluteus_maximus", "left")
    click(qtbot, diagram, x, y)
    [first] = services.charting.sites(procedure_id)
    diagram.user_selected(None)
    # 15 px from the centre is still inside the 34 px touch target
    assert HIT_RADIUS * 2 >= 34
    pos = viewport_pos(diagram, x, y) + QPoint(15, 0)
    with qtbot.waitSignal(diagram.site_selected) as selected:
        qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert selected.args == [first.id]
    assert len(services.charting.sites(procedure_id)) == 1


# -- moving, removing, undo ---------------------------------------------------------------------


def test_drag_moves_the_site_and_re_resolves_the_muscle(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "upper_trapezius", "left"))
    [before] = services.charting.sites(procedure_id)
    target = label_point("posterior", "infraspinatus", "left")
    start = viewport_pos(diagram, before.site.x, before.site.y)
    end = viewport_pos(diagram, *target)
    ex, ey = clicked_normalised(diagram, end)
    viewport = diagram.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    middle = QPointF(start + end) / 2
    qtbot.mouseMove(viewport, middle.toPoint())
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)

    [after] = services.charting.sites(procedure_id)
    assert after.id == before.id
    assert after.number == before.number
    assert (after.site.muscle, after.site.side) == ("infraspinatus", "left")
    assert after.site.x == pytest.approx(ex, abs=0.005)
    assert after.site.y == pytest.approx(ey, abs=0.005)
    assert diagram.scene.to_normalised(diagram.scene.markers[after.id].pos()) == pytest.approx(
        (after.site.x, after.site.y)
    )
    # undo puts it back where it was, as stored
    key(qtbot, diagram, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    [undone] = services.charting.sites(procedure_id)
    assert undone.site == before.site
    key(
        qtbot,
        diagram,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    [redone] = services.charting.sites(procedure_id)
    assert redone.site == after.site


def test_drag_off_the_figure_is_cancelled(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "teres_major", "right"))
    [before] = services.charting.sites(procedure_id)
    start = viewport_pos(diagram, before.site.x, before.site.y)
    end = viewport_pos(diagram, 0.97, 0.5)
    viewport = diagram.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    [after] = services.charting.sites(procedure_id)
    assert after.site == before.site
    marker = diagram.scene.markers[after.id]
    assert diagram.scene.to_normalised(marker.pos()) == pytest.approx(
        (before.site.x, before.site.y)
    )
    assert diagram.undo_stack.count() == 1  # only the placement


def test_delete_then_undo_restores_the_same_site_and_redo_removes_it_again(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "upper_trapezius", "left"))
    click(qtbot, diagram, *label_point("posterior", "upper_trapezius", "right"))
    click(qtbot, diagram, *label_point("posterior", "rhomboid_major", "right"))
    stored = services.charting.sites(procedure_id)
    assert [s.number for s in stored] == [1, 2, 3]
    victim = stored[1]
    # select it with a click on the marker, then Delete
    pos = viewport_pos(diagram, victim.site.x, victim.site.y)
    qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert diagram.selected_site_id() == victim.id
    key(qtbot, diagram, Qt.Key.Key_Delete)
    remaining = services.charting.sites(procedure_id)
    assert victim.id not in [s.id for s in remaining]
    assert victim.id not in diagram.scene.markers
    assert len(diagram.scene.markers) == 2

    key(qtbot, diagram, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    restored = {s.id: s for s in services.charting.sites(procedure_id)}
    assert victim.id in restored
    back = restored[victim.id]
    assert back.number == victim.number
    assert back.site == victim.site  # same muscle, side, view and coordinates
    assert victim.id in diagram.scene.markers
    assert diagram.scene.markers[victim.id].style.number == victim.number

    key(
        qtbot,
        diagram,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert victim.id not in [s.id for s in services.charting.sites(procedure_id)]
    assert victim.id not in diagram.scene.markers


def test_undo_of_a_placement_removes_it_and_redo_restores_the_same_row(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "infraspinatus", "left"))
    [placed] = services.charting.sites(procedure_id)
    with qtbot.waitSignal(diagram.sites_changed):
        diagram.undo_stack.undo()
    assert services.charting.sites(procedure_id) == []
    assert diagram.scene.markers == {}
    diagram.undo_stack.redo()
    [again] = services.charting.sites(procedure_id)
    assert (again.id, again.number, again.site) == (placed.id, placed.number, placed.site)


def test_refused_edit_is_not_shown_as_done(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    # a preparation the procedure does not have: the service refuses, nothing is drawn
    diagram.new_site_defaults = lambda site: site.model_copy(update={"preparation": "Z"})
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "infraspinatus", "left"))
    assert services.charting.sites(procedure_id) == []
    assert diagram.scene.markers == {}
    assert diagram.undo_stack.count() == 0
    assert diagram.banner.isVisible()
    assert diagram.banner.kind == "error"
    assert "Not saved" in diagram.banner.label.text()


# -- selection, keys, views ---------------------------------------------------------------------


def test_tab_and_shift_tab_walk_the_sites_in_number_order_across_views(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "upper_trapezius", "left"))
    click(qtbot, diagram, *label_point("posterior", "infraspinatus", "right"))
    diagram.set_view("anterior")
    click(qtbot, diagram, *label_point("anterior", "pectoralis_major", "left"))
    ids = [s.id for s in services.charting.sites(procedure_id)]
    assert diagram.selected_site_id() == ids[2]
    seen = []
    for _ in range(3):
        with qtbot.waitSignal(diagram.site_selected) as selected:
            key(qtbot, diagram, Qt.Key.Key_Tab)
        seen.append(selected.args[0])
    assert seen == [ids[0], ids[1], ids[2]]
    assert diagram.current_view() == "anterior"  # followed the selection to site 3
    key(qtbot, diagram, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert diagram.selected_site_id() == ids[1]
    assert diagram.current_view() == "posterior"
    assert diagram.scene.markers[ids[1]].selected


def test_select_site_from_outside_switches_view_and_emits_nothing(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    services.charting.add_site(
        procedure_id,
        Site(muscle="masseter", side="right", view="head_right", x=0.55, y=0.5),
    )
    diagram.refresh()
    [stored] = services.charting.sites(procedure_id)
    with qtbot.assertNotEmitted(diagram.site_selected):
        diagram.select_site(stored.id)
    assert diagram.current_view() == "head_right"
    assert diagram.scene.markers[stored.id].selected


def test_view_keys_and_tabs(qtbot: QtBot, diagram: BodyDiagram) -> None:
    expected = ["anterior", "posterior", "head_left", "head_right"]
    for index, k in enumerate([Qt.Key.Key_F1, Qt.Key.Key_F2, Qt.Key.Key_F3, Qt.Key.Key_F4]):
        with (
            qtbot.waitSignal(diagram.view_changed)
            if diagram.current_view() != expected[index]
            else qtbot.assertNotEmitted(diagram.view_changed)
        ):
            key(qtbot, diagram, k)
        assert diagram.current_view() == expected[index]
        assert diagram.tabs.currentIndex() == index
    key(qtbot, diagram, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert diagram.current_view() == "anterior"
    diagram.tabs.setCurrentIndex(3)
    assert diagram.current_view() == "head_right"
    with pytest.raises(ValueError, match="unknown diagram view"):
        diagram.set_view("lateral")


def test_tab_titles_count_the_sites_in_each_view(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "upper_trapezius", "left"))
    click(qtbot, diagram, *label_point("posterior", "upper_trapezius", "right"))
    assert diagram.tabs.tabText(1) == "Back (2)"
    assert diagram.tabs.tabText(0) == "Front"


def test_zoom_and_fit(qtbot: QtBot, diagram: BodyDiagram) -> None:
    diagram.set_view("posterior")
    fitted = diagram.view.transform().m11()
    key(qtbot, diagram, Qt.Key.Key_Plus)
    assert diagram.view.zoom == pytest.approx(1.25)
    assert diagram.view.transform().m11() == pytest.approx(fitted * 1.25)
    key(qtbot, diagram, Qt.Key.Key_Minus)
    assert diagram.view.zoom == pytest.approx(1.0)
    for _ in range(3):
        key(qtbot, diagram, Qt.Key.Key_Plus)
    assert diagram.view.zoom > 1.9
    key(qtbot, diagram, Qt.Key.Key_F)
    assert diagram.view.zoom == 1.0
    assert diagram.view.transform().m11() == pytest.approx(fitted)
    # the whole figure is visible at fit
    visible = diagram.view.mapToScene(diagram.view.viewport().rect()).boundingRect()
    assert visible.contains(diagram.scene.figure_rect())


def test_clicks_resolve_correctly_when_zoomed_and_panned(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    x, y = label_point("posterior", "splenius_capitis", "left")
    for _ in range(6):
        diagram.view.zoom_by(1.25, viewport_pos(diagram, x, y))
    diagram.view.pan_by(20, -10)
    assert diagram.view.viewport().rect().contains(viewport_pos(diagram, x, y))
    click(qtbot, diagram, x, y)
    [stored] = services.charting.sites(procedure_id)
    assert (stored.site.muscle, stored.site.side) == ("splenius_capitis", "left")
    assert stored.site.x == pytest.approx(x, abs=0.002)


def test_middle_button_drag_pans(qtbot: QtBot, diagram: BodyDiagram) -> None:
    diagram.set_view("posterior")
    diagram.zoom_in()
    diagram.zoom_in()
    viewport = diagram.view.viewport()
    centre = viewport.rect().center()
    before = diagram.view.mapToScene(centre)
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=centre)
    qtbot.mouseMove(viewport, centre + QPoint(40, 30))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=centre + QPoint(40, 30))
    after = diagram.view.mapToScene(centre)
    assert after.x() < before.x()
    assert after.y() < before.y()


def test_hover_highlights_the_muscle_under_the_pointer(qtbot: QtBot, diagram: BodyDiagram) -> None:
    diagram.set_view("posterior")
    # A superficial muscle: over a deep one the hover names the muscle a click codes, the
    # superficial one above it.
    x, y = label_point("posterior", "infraspinatus", "left")
    qtbot.mouseMove(diagram.view.viewport(), viewport_pos(diagram, x, y))
    qtbot.waitUntil(lambda: diagram.hover_label.text() == "Infraspinatus (left)")
    highlighted = [i for i in diagram.scene.zone_items if i.hovered]
    assert [(i.zone.muscle, i.zone.side) for i in highlighted] == [("infraspinatus", "left")]
    x, y = label_point("posterior", "rhomboid_major", "left")
    qtbot.mouseMove(diagram.view.viewport(), viewport_pos(diagram, x, y))
    qtbot.waitUntil(lambda: diagram.hover_label.text() == "Lower trapezius (left)")
    highlighted = [i for i in diagram.scene.zone_items if i.hovered]
    assert [(i.zone.muscle, i.zone.side) for i in highlighted] == [("lower_trapezius", "left")]
    diagram.set_view("anterior")  # the name must not outlive the view it was read on
    assert diagram.hover_label.text().strip() == ""


def test_refresh_mirrors_edits_made_elsewhere(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "levator_scapulae", "left"))
    [stored] = services.charting.sites(procedure_id)
    services.charting.update_site(
        stored.id, stored.site.model_copy(update={"state": "planned", "twitch": "brisk"})
    )
    assert not diagram.scene.markers[stored.id].style.planned
    diagram.refresh()
    marker = diagram.scene.markers[stored.id]
    assert marker.style.planned
    assert marker.style.twitch == "brisk"
    assert "Twitch: brisk" in marker.toolTip()


def test_imported_sites_without_coordinates_are_drawn_at_the_default_position(
    diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    services.charting.add_site(procedure_id, Site(muscle="rhomboid_major", side="right"))
    diagram.set_view("posterior")
    diagram.refresh()
    [stored] = services.charting.sites(procedure_id)
    marker = diagram.scene.markers[stored.id]
    assert diagram.scene.to_normalised(marker.pos()) == pytest.approx(
        label_point("posterior", "rhomboid_major", "right")
    )
    assert marker.style.risk
    assert "approximate" in marker.toolTip()


def test_markers_are_numbered_hollow_filled_and_keep_their_touch_size_when_zoomed(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_view("posterior")
    diagram.set_mode("plan")
    click(qtbot, diagram, *label_point("posterior", "infraspinatus", "left"))
    diagram.set_mode("chart")
    click(qtbot, diagram, *label_point("posterior", "infraspinatus", "right"))
    planned, injected = (diagram.scene.markers[s.id] for s in services.charting.sites(procedure_id))
    assert (planned.style.number, planned.style.planned) == (1, True)
    assert (injected.style.number, injected.style.planned) == (2, False)
    assert not planned.style.risk  # infraspinatus: no pneumothorax flag

    def on_screen_diameter(marker: MarkerItem) -> float:
        device = marker.deviceTransform(diagram.view.viewportTransform())
        return float(device.mapRect(marker.shape().boundingRect()).width())

    assert on_screen_diameter(planned) >= 34
    diagram.view.zoom_by(4.0)
    assert on_screen_diameter(planned) >= 34
    assert on_screen_diameter(planned) < 40


def test_read_only_diagram_places_nothing(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_read_only(True)
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "infraspinatus", "left"))
    assert services.charting.sites(procedure_id) == []


def test_shared_undo_stack_and_external_change_signal(
    qtbot: QtBot, services: Any, procedure_id: int
) -> None:
    from PySide6.QtGui import QUndoStack

    stack = QUndoStack()
    widget = BodyDiagram(services.charting, undo_stack=stack, show_view_tabs=False)
    embedded(qtbot, widget)
    widget.set_procedure(procedure_id)
    assert widget.undo_stack is stack
    assert widget.tabs.isHidden()
    widget.set_view("posterior")
    with qtbot.waitSignal(widget.sites_changed):
        click(qtbot, widget, *label_point("posterior", "infraspinatus", "left"))
    assert stack.count() == 1
    assert stack.undoText().startswith("Place Infraspinatus (left)")


def test_legend_wraps_on_a_narrow_panel_and_documents_every_marker_style(
    qtbot: QtBot, diagram: BodyDiagram
) -> None:
    legend = diagram.legend
    labels = [text for text, _ in legend.ENTRIES]
    assert labels == [
        "Planned",
        "Injected",
        "No twitch",
        "Weak",
        "Brisk",
        "Risk (solid ring)",
        "Not coded (dashed)",
    ]
    wide = legend.heightForWidth(2000)
    narrow = legend.heightForWidth(260)
    assert narrow > wide
    assert sum(len(row) for row in legend._rows(260)) == len(labels)
    # The tooltip says how each style is drawn, in the words the printed key uses.
    for phrase in (
        "Planned, not injected: hollow marker",
        "Injected: filled marker",
        "No twitch: letter N",
        "Weak twitch: letter W",
        "Brisk twitch: letter B",
        "Pneumothorax-risk muscle: solid red outer ring",
        "Not coded to a muscle: dashed amber outer ring",
    ):
        assert phrase in legend.toolTip()
    assert "Removed" not in legend.toolTip()  # undo brings a removed site back; none is drawn
    assert not legend.grab().isNull()


def test_view_tabs_can_be_hidden_for_a_host_with_its_own_view_buttons(
    diagram: BodyDiagram,
) -> None:
    diagram.set_view_tabs_visible(False)
    assert diagram.tabs.isHidden()
    diagram.set_view("head_left")
    assert diagram.tabs.currentIndex() == 2


def test_double_click_on_a_planned_marker_marks_it_injected_undoably(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    diagram.set_mode("plan")
    diagram.set_view("posterior")
    click(qtbot, diagram, *label_point("posterior", "infraspinatus", "left"))
    [stored] = services.charting.sites(procedure_id)
    assert stored.site.state == "planned"
    pos = viewport_pos(diagram, stored.site.x, stored.site.y)
    qtbot.mouseDClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    [after] = services.charting.sites(procedure_id)
    assert after.site.state == "injected"
    assert len(services.charting.sites(procedure_id)) == 1  # no second site placed
    assert not diagram.scene.markers[after.id].style.planned
    diagram.undo_stack.undo()
    assert services.charting.sites(procedure_id)[0].site.state == "planned"


def test_space_drag_pans_and_wheel_zooms_around_the_pointer(
    qtbot: QtBot, diagram: BodyDiagram, services: Any, procedure_id: int
) -> None:
    from PySide6.QtCore import QPoint as _QPoint
    from PySide6.QtGui import QWheelEvent

    diagram.set_view("posterior")
    view = diagram.view
    viewport = view.viewport()
    anchor = viewport_pos(diagram, *label_point("posterior", "infraspinatus", "right"))
    before = view.mapToScene(anchor)
    wheel = QWheelEvent(
        QPointF(anchor),
        QPointF(viewport.mapToGlobal(anchor)),
        _QPoint(0, 0),
        _QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, wheel)
    assert view.zoom == pytest.approx(1.25**2)
    after = view.mapToScene(anchor)
    assert abs(after.x() - before.x()) < 1.5  # the point under the pointer stays put
    assert abs(after.y() - before.y()) < 1.5

    centre = viewport.rect().center()
    start = view.mapToScene(centre)
    qtbot.keyPress(view, Qt.Key.Key_Space)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(viewport, centre + QPoint(-30, -20))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=centre + QPoint(-30, -20))
    qtbot.keyRelease(view, Qt.Key.Key_Space)
    moved = view.mapToScene(centre)
    assert moved.x() > start.x()
    assert moved.y() > start.y()
    assert services.charting.sites(procedure_id) == []  # panning placed nothing
