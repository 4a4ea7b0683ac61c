"""Qt drawing of the diagram artwork: silhouette, skeleton, muscle zones with fibre strokes,
sheet outlines (the whole trapezius), detail lines and named landmarks.

Everything is vector: paths come from :mod:`tpi_chart.domain.diagram` in normalised coordinates
and are scaled to the scene rectangle ``width x height``. Layers, bottom to top: silhouette,
skeleton (light bone lines to orient by), zones, fibres, details, sheets, landmarks.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneHoverEvent, QWidget

from tpi_chart.domain.diagram import DiagramView, Landmark, Path, Zone

#: Scene height of every view, in scene units; the width follows the view's aspect.
SCENE_HEIGHT = 1000.0

INK = QColor("#2f3b45")
SKIN = QColor("#fdfcfa")
DETAIL = QColor("#8d9aa4")
ZONE_LINE = QColor("#6d879b")
ZONE_FILL = QColor(110, 140, 168, 30)
ZONE_DEEP_FILL = QColor(110, 140, 168, 12)
ZONE_HOVER_FILL = QColor(64, 140, 210, 70)
ZONE_HOVER_LINE = QColor("#2f7fc4")
BONE = QColor("#b3a58f")
BONE_FILL = QColor(196, 182, 160, 40)
FIBRE = QColor(109, 135, 155, 150)
SHEET = QColor("#56748b")
LANDMARK = QColor("#8a6d3b")
LANDMARK_TEXT = QColor("#5b4a2c")

#: Landmark names are written beside their dots once the view is zoomed in this far (scene units
#: per pixel below 1/this); before that they show on hover.
LANDMARK_LABEL_ZOOM = 1.6

Z_SKELETON = 0.5
Z_FIBRES = 1.5
Z_SHEETS = 2.5
Z_LANDMARKS = 3.0


def to_qpath(path: Path, width: float, height: float) -> QPainterPath:
    qp = QPainterPath()
    for command in path:
        op = command[0]
        n = [float(v) for v in command[1:]]
        if op == "M":
            qp.moveTo(n[0] * width, n[1] * height)
        elif op == "L":
            qp.lineTo(n[0] * width, n[1] * height)
        elif op == "C":
            qp.cubicTo(
                QPointF(n[0] * width, n[1] * height),
                QPointF(n[2] * width, n[3] * height),
                QPointF(n[4] * width, n[5] * height),
            )
        elif op == "Z":
            qp.closeSubpath()
    return qp


def view_size(view: DiagramView) -> tuple[float, float]:
    return view.aspect * SCENE_HEIGHT, SCENE_HEIGHT


def outline_pen(scale: float = 1.0) -> QPen:
    pen = QPen(INK, 1.5 * scale)
    pen.setCosmetic(True)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


def detail_pen(scale: float = 1.0) -> QPen:
    pen = QPen(DETAIL, 0.9 * scale)
    pen.setCosmetic(True)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


def zone_pen(zone: Zone, hover: bool = False, scale: float = 1.0) -> QPen:
    pen = QPen(ZONE_HOVER_LINE if hover else ZONE_LINE, (1.4 if hover else 0.8) * scale)
    pen.setCosmetic(True)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    if zone.deep:
        # setDashPattern alone (it implies CustomDashLine): in PySide6 6.12, setStyle(
        # CustomDashLine) followed by setDashPattern over-releases None and aborts the process.
        pen.setDashPattern([3.0, 2.5])
    return pen


def bone_pen(scale: float = 1.0) -> QPen:
    pen = QPen(BONE, 1.0 * scale)
    pen.setCosmetic(True)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


def fibre_pen(scale: float = 1.0) -> QPen:
    pen = QPen(FIBRE, 0.6 * scale)
    pen.setCosmetic(True)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    return pen


def sheet_pen(scale: float = 1.0) -> QPen:
    pen = QPen(SHEET, 1.1 * scale)
    pen.setCosmetic(True)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def zone_brush(zone: Zone, hover: bool = False) -> QBrush:
    if hover:
        return QBrush(ZONE_HOVER_FILL)
    return QBrush(ZONE_DEEP_FILL if zone.deep else ZONE_FILL)


def paint_view(painter: QPainter, view: DiagramView, target: QRectF, scale: float = 1.0) -> None:
    """Paint the whole artwork of a view into ``target`` (keeps the view's aspect)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    w, h = target.width(), target.height()
    painter.translate(target.topLeft())
    for outline in view.outline:
        painter.setPen(outline_pen(scale))
        painter.setBrush(QBrush(SKIN))
        painter.drawPath(to_qpath(outline, w, h))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(bone_pen(scale))
    for bone in view.skeleton:
        painter.drawPath(to_qpath(bone, w, h))
    for zone in view.zones:
        painter.setPen(zone_pen(zone, scale=scale))
        painter.setBrush(zone_brush(zone))
        painter.drawPath(to_qpath(zone.path, w, h))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(fibre_pen(scale))
    for zone in view.zones:
        for fibre in zone.fibres:
            painter.drawPath(to_qpath(fibre, w, h))
    painter.setPen(detail_pen(scale))
    for detail in view.details:
        painter.drawPath(to_qpath(detail, w, h))
    painter.setPen(sheet_pen(scale))
    for sheet in view.sheets:
        painter.drawPath(to_qpath(sheet, w, h))
    painter.restore()


# --------------------------------------------------------------------------------------------
# Scene items for the layers the scene adds around the zones
# --------------------------------------------------------------------------------------------


class _StrokeLayer(QGraphicsItem):
    """Stroke-only artwork (skeleton, fibres or sheets); never takes a click."""

    def __init__(self, paths: list[Path], view: DiagramView, pen: QPen, z: float) -> None:
        super().__init__()
        w, h = view_size(view)
        self._path = QPainterPath()
        for path in paths:
            self._path.addPath(to_qpath(path, w, h))
        self._pen = pen
        self._rect = QRectF(0, 0, w, h)
        self.setZValue(z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, _option: object, _widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(self._pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)


def skeleton_item(view: DiagramView) -> QGraphicsItem:
    return _StrokeLayer(list(view.skeleton), view, bone_pen(), Z_SKELETON)


def fibres_item(view: DiagramView) -> QGraphicsItem:
    return _StrokeLayer([f for z in view.zones for f in z.fibres], view, fibre_pen(), Z_FIBRES)


def sheets_item(view: DiagramView) -> QGraphicsItem:
    return _StrokeLayer(list(view.sheets), view, sheet_pen(), Z_SHEETS)


class LandmarkItem(QGraphicsItem):
    """A bony landmark: a small dot, its name on hover (tooltip and label) and when zoomed in."""

    RADIUS_PX = 2.6

    def __init__(self, landmark: Landmark, view: DiagramView) -> None:
        super().__init__()
        self.landmark = landmark
        w, h = view_size(view)
        self.setPos(landmark.point[0] * w, landmark.point[1] * h)
        self.setZValue(Z_LANDMARKS)
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setToolTip(landmark.name)
        self.hovered = False
        self._font = QFont()
        self._font.setPixelSize(11)
        # A label reads left of a dot on the screen's left half, right of it on the right half.
        self._label_left = landmark.point[0] < 0.5 and view.id in ("anterior", "posterior")

    def label_visible(self, zoom: float) -> bool:
        return self.hovered or zoom >= LANDMARK_LABEL_ZOOM

    def boundingRect(self) -> QRectF:
        # Generous: the label is drawn at a constant pixel size whatever the zoom (>= 0.3).
        return QRectF(-700, -40, 1400, 80)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), 5, 5)
        return path

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self.hovered = False
        self.update()
        super().hoverLeaveEvent(event)

    def paint(self, painter: QPainter, _option: object, _widget: QWidget | None = None) -> None:
        zoom = painter.worldTransform().m11() or 1.0
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.scale(1 / zoom, 1 / zoom)  # draw in pixels from here on
        # Small while the whole figure is shown small: the dots orient, the markers matter.
        r = self.RADIUS_PX if zoom >= 0.6 or self.hovered else 1.6
        painter.setPen(QPen(QColor(Qt.GlobalColor.white), 1.0 if r > 2 else 0.5))
        painter.setBrush(QBrush(LANDMARK))
        painter.drawEllipse(QPointF(0, 0), r, r)
        if self.label_visible(zoom):
            text = self.landmark.name
            metrics = QFontMetricsF(self._font)
            width = metrics.horizontalAdvance(text)
            x = -r - 4 - width if self._label_left else r + 4
            box = QRectF(x - 2, -8, width + 4, 16)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor(255, 255, 255, 215)))
            painter.drawRoundedRect(box, 3, 3)
            painter.setFont(self._font)
            painter.setPen(QPen(LANDMARK_TEXT))
            painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()
