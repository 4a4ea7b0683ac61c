"""Qt drawing of the diagram artwork (silhouette, detail lines, muscle zones).

Everything is vector: paths come from :mod:`tpi_chart.domain.diagram` in normalised coordinates
and are scaled to the scene rectangle ``width x height``.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen

from tpi_chart.domain.diagram import DiagramView, Path, Zone

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
    for zone in view.zones:
        painter.setPen(zone_pen(zone, scale=scale))
        painter.setBrush(zone_brush(zone))
        painter.drawPath(to_qpath(zone.path, w, h))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(detail_pen(scale))
    for detail in view.details:
        painter.drawPath(to_qpath(detail, w, h))
    painter.restore()
