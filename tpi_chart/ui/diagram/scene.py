"""The diagram scene: one view's artwork plus a marker for each stored site in that view.

The scene mirrors the data. :meth:`DiagramScene.set_sites` brings the markers in line with the
stored sites: a marker whose stored site is unchanged stays, others are added, rebuilt or removed
(one click adds one marker, it does not recreate them all). Nothing in the scene is a source of
truth. Scene coordinates are the view's normalised
coordinates scaled to ``aspect * 1000`` by ``1000`` units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtWidgets import QGraphicsScene

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import (
    DiagramView,
    ViewId,
    Zone,
    computed_location,
    default_position,
    load_diagram,
)
from tpi_chart.domain.models import PainStroke
from tpi_chart.domain.presentation import marker_spec
from tpi_chart.ui.diagram.artwork import (
    LandmarkItem,
    fibres_item,
    sheets_item,
    skeleton_item,
    view_size,
)
from tpi_chart.ui.diagram.items import (
    DetailsItem,
    MarkerItem,
    MarkerStyle,
    SilhouetteItem,
    ZoneItem,
)
from tpi_chart.ui.diagram.pain import PainStrokeItem

#: Empty space kept around the figure, in scene units.
MARGIN = 24.0


def site_position(site: Any) -> tuple[str, float, float, bool] | None:
    """(view, x, y, approximate) where a site is drawn; imported sites use the default spot."""
    if site.view is not None and site.x is not None and site.y is not None:
        return str(site.view), float(site.x), float(site.y), False
    fallback = default_position(site.muscle, site.side)
    if fallback is None:
        return None
    return fallback[0], fallback[1], fallback[2], True


def describe_site(number: int, site: Any, approximate: bool = False) -> str:
    catalog = load_catalog()
    name = catalog.muscle_name(site.muscle)
    side = "" if site.side == "midline" else f" ({site.side})"
    lines = [f"{number}. {name}{side}"]
    volume = f"{site.volume_ml:g} mL" if site.volume_ml is not None else "volume not set"
    lines.append(f"{site.state.capitalize()}, {volume}")
    if site.twitch is not None:
        lines.append(f"Twitch: {site.twitch}")
    spec = marker_spec(site, number, catalog)
    if spec.uncoded:
        lines.append(catalog.unspecified_message)
    elif spec.pneumothorax_risk:
        lines.append("Pneumothorax risk")
    location = getattr(site, "location", None) or computed_location(
        site.view, site.x, site.y, site.side
    )
    if location:
        lines.append(location)
    if approximate:
        lines.append("Position approximate (no coordinates stored)")
    return "\n".join(lines)


class DiagramScene(QGraphicsScene):
    """Shows one :class:`~tpi_chart.domain.diagram.DiagramView` and the sites placed on it."""

    #: Emitted with (muscle id, side) when the highlighted zone under the pointer changes;
    #: ("", "") when the pointer leaves every zone.
    hovered_zone_changed = Signal(str, str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.diagram_view: DiagramView | None = None
        self.silhouette: SilhouetteItem | None = None
        self.zone_items: list[ZoneItem] = []
        self.landmark_items: list[LandmarkItem] = []
        self.markers: dict[int, MarkerItem] = {}
        self.stroke_items: list[PainStrokeItem] = []
        self._hovered: ZoneItem | None = None
        self._width = 1.0
        self._height = 1.0
        self.marker_size = 1.0

    # -- artwork -------------------------------------------------------------------------------

    @property
    def view_id(self) -> ViewId | None:
        return self.diagram_view.id if self.diagram_view else None

    def show_view(self, view_id: str) -> None:
        """Replace the artwork with that of ``view_id`` (markers are rebuilt by set_sites)."""
        view = load_diagram().view(view_id)
        if self.diagram_view is not None and view.id == self.diagram_view.id:
            return
        self.clear()
        self.markers.clear()
        self.stroke_items = []
        self.zone_items = []
        self._hovered = None
        self.diagram_view = view
        self._width, self._height = view_size(view)
        self.silhouette = SilhouetteItem(view)
        self.addItem(self.silhouette)
        self.addItem(skeleton_item(view))
        for zone in view.zones:
            item = ZoneItem(zone, self._width, self._height)
            self.zone_items.append(item)
            self.addItem(item)
        self.addItem(fibres_item(view))
        self.addItem(DetailsItem(view))
        self.addItem(sheets_item(view))
        self.landmark_items = [LandmarkItem(lm, view) for lm in view.landmarks]
        for landmark in self.landmark_items:
            self.addItem(landmark)
        self.setSceneRect(self.figure_rect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN))

    def figure_rect(self) -> QRectF:
        return QRectF(0, 0, self._width, self._height)

    # -- coordinates ---------------------------------------------------------------------------

    def to_scene(self, x: float, y: float) -> QPointF:
        return QPointF(x * self._width, y * self._height)

    def to_normalised(self, point: QPointF) -> tuple[float, float]:
        return point.x() / self._width, point.y() / self._height

    def on_body(self, point: QPointF) -> bool:
        """Whether a scene point lies on the figure (a click there places a site)."""
        return self.silhouette is not None and self.silhouette.contains_point(point)

    def zone_item_at(self, point: QPointF) -> ZoneItem | None:
        if self.diagram_view is None:
            return None
        x, y = self.to_normalised(point)
        zone = self.diagram_view.zone_at(x, y)
        return self.zone_item_for(zone) if zone else None

    def zone_item_for(self, zone: Zone) -> ZoneItem | None:
        return next((i for i in self.zone_items if i.zone is zone), None)

    def hover_at(self, point: QPointF | None) -> None:
        item = self.zone_item_at(point) if point is not None else None
        if item is self._hovered:
            return
        if self._hovered is not None:
            self._hovered.set_hovered(False)
        self._hovered = item
        if item is not None:
            item.set_hovered(True)
            self.hovered_zone_changed.emit(item.zone.muscle, item.zone.side)
        else:
            self.hovered_zone_changed.emit("", "")

    # -- markers -------------------------------------------------------------------------------

    def set_sites(self, sites: Sequence[Any], selected: int | None) -> None:
        """Mirror the stored sites: one marker per site drawn in this view. Markers whose stored
        site (id, number and content) did not change are kept as they are."""
        if self.diagram_view is None:
            for item in self.markers.values():
                self.removeItem(item)
            self.markers = {}
            return
        view_id = self.diagram_view.id
        markers: dict[int, MarkerItem] = {}
        old = self.markers
        for stored in sites:
            site_id = int(stored.id)
            marker: MarkerItem | None = old.pop(site_id, None)
            if marker is not None and marker.source != stored:
                self.removeItem(marker)
                marker = None
            if marker is None:
                place = site_position(stored.site)
                if place is None or place[0] != view_id:
                    continue
                marker = self._marker(stored, place)
                self.addItem(marker)
            markers[site_id] = marker
        for marker in old.values():
            self.removeItem(marker)
        self.markers = markers
        for site_id, marker in markers.items():
            marker.set_selected(site_id == selected)

    def _marker(self, stored: Any, place: tuple[str, float, float, bool]) -> MarkerItem:
        site = stored.site
        style = MarkerStyle.from_spec(marker_spec(site, int(stored.number)))
        marker = MarkerItem(
            int(stored.id), style, describe_site(int(stored.number), site, place[3])
        )
        marker.source = stored
        marker.setPos(self.to_scene(place[1], place[2]))
        marker.set_size(self.marker_size)
        return marker

    def set_strokes(self, strokes: Sequence[PainStroke]) -> None:
        """Draw the pain drawing's strokes made on this view (few: redrawn whole)."""
        for item in self.stroke_items:
            self.removeItem(item)
        self.stroke_items = []
        if self.diagram_view is None:
            return
        for stroke in strokes:
            if stroke.view == self.diagram_view.id:
                item = PainStrokeItem(stroke, self.to_scene, self._height)
                self.addItem(item)
                self.stroke_items.append(item)

    def select_marker(self, site_id: int | None) -> None:
        for marker_id, marker in self.markers.items():
            marker.set_selected(marker_id == site_id)

    def set_marker_size(self, size: float) -> None:
        self.marker_size = size
        for marker in self.markers.values():
            marker.set_size(size)
