"""The patient's pain drawings over time, one small thumbnail per visit (issue 20, 3): where it
hurt before each procedure, side by side, the latest on the right, so a physician sees the
pain move or shrink between sessions. The artwork and brush are the diagram's own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from tpi_chart.domain.diagram import load_diagram
from tpi_chart.domain.models import PainDrawing, PainStroke
from tpi_chart.ui import style
from tpi_chart.ui.diagram.artwork import paint_view
from tpi_chart.ui.diagram.pain import stroke_path, stroke_pen

#: At most this many visits are shown (the latest).
MAX_VISITS = 4
CELL = QSize(84, 112)
CAPTION = 16
#: Smallest crop of a body view around the strokes (share of the view's height).
MIN_CROP = 0.28


@dataclass(frozen=True)
class VisitDrawing:
    day: date
    drawing: PainDrawing


def main_view(strokes: Sequence[PainStroke]) -> str:
    """The view most of a visit's shading is on (a drawing may span views)."""
    counts: dict[str, int] = {}
    for stroke in strokes:
        counts[stroke.view] = counts.get(stroke.view, 0) + len(stroke.points)
    return max(counts, key=lambda v: counts[v])


def crop(view_id: str, strokes: Sequence[PainStroke]) -> QRectF:
    """The part of the view to show, in normalised coordinates (head views: whole)."""
    view = load_diagram().view(view_id)
    if view_id.startswith("head"):
        return QRectF(0, 0, 1, 1)
    xs = [x for s in strokes if s.view == view_id for x, _ in s.points]
    ys = [y for s in strokes if s.view == view_id for _, y in s.points]
    height = max(max(ys) - min(ys) + 0.12, MIN_CROP)
    width = max(max(xs) - min(xs) + 0.12 / view.aspect, height * 0.75 / view.aspect)
    height = max(height, width * view.aspect / 0.75)
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    width, height = min(width, 1.0), min(height, 1.0)
    left = min(max(cx - width / 2, 0.0), 1.0 - width)
    top = min(max(cy - height / 2, 0.0), 1.0 - height)
    return QRectF(left, top, width, height)


class PainHistory(QWidget):
    """Thumbnails of the latest visits' pain drawings with their dates."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("painHistory")
        self.setAccessibleName("Pain drawings of the latest visits")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(CELL.height() + CAPTION)  # never squeezed: the page scrolls
        self.visits: list[VisitDrawing] = []

    def set_drawings(self, visits: Sequence[VisitDrawing]) -> None:
        self.visits = sorted(visits, key=lambda v: v.day)[-MAX_VISITS:]
        self.setToolTip(
            "\n".join(
                f"{v.day.isoformat()}: {len(v.drawing.strokes)} shaded stroke(s)"
                for v in self.visits
            )
        )
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        count = max(len(self.visits), 1)
        return QSize(count * (CELL.width() + 6), CELL.height() + CAPTION)

    def minimumSizeHint(self) -> QSize:
        return QSize(CELL.width(), CELL.height() + CAPTION)

    def cell_rect(self, index: int) -> QRectF:
        return QRectF(index * (CELL.width() + 6), 0, CELL.width(), CELL.height())

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for index, visit in enumerate(self.visits):
            self._paint_visit(painter, visit, self.cell_rect(index))
        painter.end()

    def _paint_visit(self, painter: QPainter, visit: VisitDrawing, cell: QRectF) -> None:
        strokes = visit.drawing.strokes
        view_id = main_view(strokes)
        view = load_diagram().view(view_id)
        box = crop(view_id, strokes)
        # The whole view drawn so that `box` fills the cell (keeping the view's aspect).
        scale = min(cell.width() / (box.width() * view.aspect), cell.height() / box.height())
        full_w, full_h = view.aspect * scale, scale
        shown_w, shown_h = box.width() * full_w, box.height() * full_h
        origin = QPointF(
            cell.left() + (cell.width() - shown_w) / 2 - box.left() * full_w,
            cell.top() + (cell.height() - shown_h) / 2 - box.top() * full_h,
        )
        painter.save()
        painter.setPen(QColor(style.MUTED))
        painter.drawRect(cell.adjusted(0, 0, -1, -1))
        painter.setClipRect(cell)
        paint_view(painter, view, QRectF(origin.x(), origin.y(), full_w, full_h), 0.5)
        for stroke in strokes:
            if stroke.view != view_id:
                continue
            points = [
                QPointF(origin.x() + x * full_w, origin.y() + y * full_h) for x, y in stroke.points
            ]
            painter.setPen(stroke_pen(stroke.intensity, max(stroke.width * full_h, 2.0)))
            painter.drawPath(stroke_path(points))
        painter.restore()
        painter.setPen(QColor(style.MUTED))
        caption = QRectF(cell.left(), cell.bottom() + 1, cell.width(), CAPTION - 1)
        painter.drawText(caption, int(Qt.AlignmentFlag.AlignCenter), visit.day.isoformat())
