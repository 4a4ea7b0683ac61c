"""Scene items: the artwork layers, one item per muscle zone, one marker per stored site.

Markers ignore the view's zoom (``ItemIgnoresTransformations``): they stay the same size on
screen, legible and easy to hit however far the diagram is zoomed.

What a marker shows is its :class:`~tpi_chart.domain.presentation.MarkerSpec` (the printed note
draws the same spec, and both legends name it with the same ``LEGEND`` entries):

* planned site: hollow ring, number in blue; injected site: filled blue disc, number in white;
* twitch response, readable in grey scale: a letter badge at the marker's upper right (N none,
  W weak, B brisk) and the fill of the disc's rim: solid (none), hatched (weak), cross-hatched
  (brisk);
* pneumothorax-risk muscle: red outer ring; not yet coded to a muscle (``unspecified``): dashed
  amber outer ring and a "?" badge; a removed site: faded;
* selected: a light blue halo.

Selection is a flag on :class:`MarkerItem` (``selected``), not ``QGraphicsItem.setSelected``:
the diagram has exactly one selected site and the widget owns it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsPathItem, QWidget

from tpi_chart.domain.diagram import DiagramView, Zone
from tpi_chart.domain.models import Twitch
from tpi_chart.domain.presentation import (
    LEGEND_ORDER,
    RISK_COLOUR,
    UNCODED_COLOUR,
    LegendEntry,
    MarkerFeature,
    MarkerSpec,
)
from tpi_chart.ui.diagram.artwork import (
    SKIN,
    detail_pen,
    outline_pen,
    to_qpath,
    view_size,
    zone_brush,
    zone_pen,
)

#: Radius of the drawn marker disc, px (24 px across).
MARKER_RADIUS = 12.0
#: Radius of the marker's touch target, px (34 px across: about 9 mm at 96 dpi).
HIT_RADIUS = 17.0

BLUE = QColor("#1f6fb2")
BLUE_DARK = QColor("#175a91")
RISK = QColor(RISK_COLOUR)
UNCODED = QColor(UNCODED_COLOUR)
HALO = QColor(31, 111, 178, 70)
GLYPH = QColor("#1d2731")

#: The artwork under a new marker is repainted from a pixmap cache, not re-rasterised from the
#: vector paths (redrawn whenever the zoom changes, so it stays crisp).
ARTWORK_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache

Z_SILHOUETTE = 0.0
Z_ZONES = 1.0
Z_DETAILS = 2.0
Z_MARKERS = 10.0
Z_SELECTED = 11.0


@dataclass(frozen=True)
class MarkerStyle:
    """A marker's spec (number … removed) and how the pointer is on it (selected, hovered)."""

    number: int
    planned: bool
    twitch: Twitch | None
    risk: bool
    uncoded: bool
    selected: bool = False
    hovered: bool = False
    #: Drawing scale (1.0 = full size); markers shrink a little when the whole figure is shown
    #: small, so they do not hide the anatomy. The touch target never shrinks.
    size: float = 1.0
    removed: bool = False
    dry_needling: bool = False

    @classmethod
    def from_spec(cls, spec: MarkerSpec, *, selected: bool = False) -> MarkerStyle:
        return cls(
            number=spec.number,
            planned=spec.planned,
            twitch=spec.twitch,
            risk=spec.pneumothorax_risk,
            uncoded=spec.uncoded,
            selected=selected,
            removed=spec.removed,
            dry_needling=spec.dry_needling,
        )

    @property
    def spec(self) -> MarkerSpec:
        return MarkerSpec(
            number=self.number,
            injected=not self.planned,
            pneumothorax_risk=self.risk,
            uncoded=self.uncoded,
            twitch=self.twitch,
            dry_needling=self.dry_needling,
            removed=self.removed,
        )


TWITCH_LETTER = {"none": "N", "weak": "W", "brisk": "B"}
#: The rim's fill per twitch: no pattern (solid), hatched, cross-hatched.
TWITCH_PATTERN = {
    "weak": Qt.BrushStyle.BDiagPattern,
    "brisk": Qt.BrushStyle.DiagCrossPattern,
}


def _twitch_badge(painter: QPainter, centre: QPointF, twitch: str, k: float = 1.0) -> None:
    """A white badge with the twitch's letter (N / W / B), dark on white in any colour mode."""
    badge = 7.5 * k
    painter.setPen(QPen(GLYPH, 1.2))
    painter.setBrush(QBrush(Qt.GlobalColor.white))
    painter.drawEllipse(centre, badge, badge)
    font = QFont()
    font.setPixelSize(max(9, round(11 * k)))
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QPen(GLYPH))
    painter.drawText(
        QRectF(centre.x() - badge, centre.y() - badge, 2 * badge, 2 * badge),
        int(Qt.AlignmentFlag.AlignCenter),
        TWITCH_LETTER[twitch],
    )


def _twitch_rim(painter: QPainter, centre: QPointF, r: float, twitch: str) -> None:
    """White hatching over the outer rim of an injected disc (the number's centre stays solid)."""
    pattern = TWITCH_PATTERN.get(twitch)
    if pattern is None:
        return
    rim = QPainterPath()
    rim.addEllipse(centre, r, r)
    inner = QPainterPath()
    inner.addEllipse(centre, r * 0.58, r * 0.58)
    painter.setPen(Qt.PenStyle.NoPen)
    brush = QBrush(Qt.GlobalColor.white, pattern)
    painter.setBrush(brush)
    painter.drawPath(rim.subtracted(inner))


def paint_marker(painter: QPainter, centre: QPointF, style: MarkerStyle) -> None:
    """Draw one marker centred on ``centre`` in device-independent pixels, from its spec."""
    spec = style.spec
    k = style.size
    r = MARKER_RADIUS * k
    painter.save()
    if spec.removed:
        painter.setOpacity(0.4)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    if style.selected or style.hovered:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(HALO if style.selected else QColor(31, 111, 178, 35)))
        painter.drawEllipse(centre, r + 6.5 * k, r + 6.5 * k)
    if spec.pneumothorax_risk or spec.uncoded:
        pen = QPen(RISK if spec.pneumothorax_risk else UNCODED, 2.4 * max(k, 0.8))
        if not spec.pneumothorax_risk:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QBrush(Qt.GlobalColor.white))
        painter.drawEllipse(centre, r + 3.2 * k, r + 3.2 * k)
    ring_width = (2.6 if spec.planned else 2.0) * max(k, 0.8)
    painter.setPen(QPen(BLUE_DARK if style.selected else BLUE, ring_width))
    painter.setBrush(QBrush(Qt.GlobalColor.white if spec.planned else BLUE))
    painter.drawEllipse(centre, r - ring_width / 2, r - ring_width / 2)
    if spec.injected and spec.twitch is not None:
        _twitch_rim(painter, centre, r - ring_width, spec.twitch)
    font = QFont()
    font.setPixelSize(max(8, round((11 if spec.number < 100 else 9) * k)))
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QPen(BLUE_DARK if spec.planned else QColor(Qt.GlobalColor.white)))
    painter.drawText(
        QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r),
        int(Qt.AlignmentFlag.AlignCenter),
        str(spec.number),
    )
    badge = QPointF(centre.x() + r * 0.85, centre.y() - r * 0.85)
    if spec.uncoded:
        b = 6.5 * k
        painter.setPen(QPen(UNCODED, 1.0))
        painter.setBrush(QBrush(Qt.GlobalColor.white))
        painter.drawEllipse(QPointF(centre.x() - r * 0.85, centre.y() - r * 0.85), b, b)
        font.setPixelSize(max(7, round(10 * k)))
        painter.setFont(font)
        painter.setPen(QPen(UNCODED))
        painter.drawText(
            QRectF(centre.x() - r * 0.85 - b, centre.y() - r * 0.85 - b, 2 * b, 2 * b),
            int(Qt.AlignmentFlag.AlignCenter),
            "?",
        )
    if spec.twitch in TWITCH_LETTER:
        _twitch_badge(painter, badge, spec.twitch, k)
    painter.restore()


#: What a screen marker shows (a dry-needled marker looks injected: the site table says which).
DRAWN_FEATURES: tuple[MarkerFeature, ...] = tuple(f for f in LEGEND_ORDER if f != "dry_needling")

#: A sample marker for each legend entry, numbered in legend order.
LEGEND_SAMPLES: dict[MarkerFeature, MarkerSpec] = {
    "planned": MarkerSpec(1, injected=False, pneumothorax_risk=False, uncoded=False),
    "injected": MarkerSpec(2, injected=True, pneumothorax_risk=False, uncoded=False),
    "dry_needling": MarkerSpec(
        3, injected=True, pneumothorax_risk=False, uncoded=False, dry_needling=True
    ),
    "twitch_none": MarkerSpec(
        4, injected=True, pneumothorax_risk=False, uncoded=False, twitch="none"
    ),
    "twitch_weak": MarkerSpec(
        5, injected=True, pneumothorax_risk=False, uncoded=False, twitch="weak"
    ),
    "twitch_brisk": MarkerSpec(
        6, injected=True, pneumothorax_risk=False, uncoded=False, twitch="brisk"
    ),
    "pneumothorax_risk": MarkerSpec(7, injected=True, pneumothorax_risk=True, uncoded=False),
    "uncoded": MarkerSpec(8, injected=False, pneumothorax_risk=False, uncoded=True),
    "removed": MarkerSpec(9, injected=False, pneumothorax_risk=False, uncoded=False, removed=True),
}


def legend_samples(
    entries: tuple[LegendEntry, ...], *, short: bool = False
) -> tuple[tuple[str, MarkerStyle], ...]:
    """(label, sample marker numbered 1, 2, … in order) for each entry of a legend
    (``presentation.legend_entries``); ``short``: the labels for a narrow panel."""
    return tuple(
        (
            entry.short if short else entry.label,
            replace(MarkerStyle.from_spec(LEGEND_SAMPLES[entry.feature]), number=number),
        )
        for number, entry in enumerate(entries, start=1)
    )


class SilhouetteItem(QGraphicsItem):
    """The filled body outline of one view."""

    def __init__(self, view: DiagramView) -> None:
        super().__init__()
        w, h = view_size(view)
        self._paths = [to_qpath(p, w, h) for p in view.outline]
        self._rect = QRectF(0, 0, w, h)
        self.setZValue(Z_SILHOUETTE)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setCacheMode(ARTWORK_CACHE)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-4, -4, 4, 4)

    def contains_point(self, point: QPointF) -> bool:
        return any(p.contains(point) for p in self._paths)

    def paint(self, painter: QPainter, _option: object, _widget: QWidget | None = None) -> None:
        painter.setPen(outline_pen())
        painter.setBrush(QBrush(SKIN))
        for path in self._paths:
            painter.drawPath(path)


class DetailsItem(QGraphicsItem):
    """Thin detail lines (jaw, clavicles, ear, fingers ...), drawn above the zones."""

    def __init__(self, view: DiagramView) -> None:
        super().__init__()
        w, h = view_size(view)
        self._path = QPainterPath()
        for detail in view.details:
            self._path.addPath(to_qpath(detail, w, h))
        self._rect = QRectF(0, 0, w, h)
        self.setZValue(Z_DETAILS)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setCacheMode(ARTWORK_CACHE)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, _option: object, _widget: QWidget | None = None) -> None:
        painter.setPen(detail_pen())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)


class ZoneItem(QGraphicsPathItem):
    """One muscle zone; highlighted while the pointer is over it."""

    def __init__(self, zone: Zone, width: float, height: float) -> None:
        super().__init__(to_qpath(zone.path, width, height))
        self.zone = zone
        self.hovered = False
        self.setZValue(Z_ZONES)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._apply()

    def set_hovered(self, hovered: bool) -> None:
        if hovered != self.hovered:
            self.hovered = hovered
            self._apply()

    def _apply(self) -> None:
        self.setPen(zone_pen(self.zone, hover=self.hovered))
        self.setBrush(zone_brush(self.zone, hover=self.hovered))


class MarkerItem(QGraphicsObject):
    """A stored site drawn at its normalised position; constant size on screen."""

    def __init__(self, site_id: int, style: MarkerStyle, tooltip: str) -> None:
        super().__init__()
        self.site_id = site_id
        self.style = style
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptHoverEvents(True)
        self.setZValue(Z_MARKERS)
        self.setToolTip(tooltip)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self._hovered = False
        self.selected = False
        self.size = 1.0
        #: The stored site the marker was drawn from (the scene keeps a marker while it is equal).
        self.source: object = None

    def set_selected(self, selected: bool) -> None:
        """Selection is tracked here, not with QGraphicsItem.setSelected (see module doc)."""
        if selected != self.selected:
            self.selected = selected
            self.setZValue(Z_SELECTED if selected else Z_MARKERS)
            self.update()

    def set_size(self, size: float) -> None:
        if size != self.size:
            self.size = size
            self.update()

    def boundingRect(self) -> QRectF:
        extent = HIT_RADIUS + 2
        return QRectF(-extent, -extent, 2 * extent, 2 * extent)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), HIT_RADIUS, HIT_RADIUS)
        return path

    def hoverEnterEvent(self, event: object) -> None:
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event: object) -> None:
        self._hovered = False
        self.update()

    def paint(self, painter: QPainter, _option: object, _widget: QWidget | None = None) -> None:
        style = replace(self.style, selected=self.selected, hovered=self._hovered, size=self.size)
        paint_marker(painter, QPointF(0, 0), style)
