"""Every visit's injected sites on a small static body diagram (the response map of
anchor-systems.md §11 item 8).

Only the views that carry a site are drawn, each cropped to the box around its sites (body views
share one box) so the neck and shoulders stay legible at thumbnail size. One dot per injected site
per visit: colour is the relief reported after that visit (green at or above the payer's
threshold, amber below, grey when not recorded), opacity is recency (the latest visit solid, older
ones fainter), and a soft halo around each muscle and side's latest spot grows with the number of
injections there (a frequency map). The artwork is the workspace's own
(`ui.diagram.artwork.paint_view`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import DiagramView, load_diagram
from tpi_chart.domain.history import Marker
from tpi_chart.ui import style
from tpi_chart.ui.diagram.artwork import paint_view

RELIEF_OK = QColor(style.OK)
RELIEF_LOW = QColor("#d07a00")
RELIEF_UNKNOWN = QColor("#7d8b97")
HALO = QColor(31, 111, 178, 45)
HALO_EDGE = QColor(31, 111, 178, 110)
TITLE = QColor(style.MUTED)

_BODY_VIEWS = ("posterior", "anterior")
_HEAD_VIEWS = ("head_left", "head_right")
_VIEW_TITLES = {
    "posterior": "Back",
    "anterior": "Front",
    "head_left": "Head, left",
    "head_right": "Head, right",
}
#: The smallest crop shown (in view heights) and the padding around the sites.
_MIN_SPAN = 0.30
_PAD = 0.07
_MIN_ALPHA = 70


def relief_colour(relief: int | None, threshold: int) -> QColor:
    if relief is None:
        return QColor(RELIEF_UNKNOWN)
    return QColor(RELIEF_OK if relief >= threshold else RELIEF_LOW)


@dataclass(frozen=True)
class _Panel:
    view: DiagramView
    box: QRectF  # the crop, in normalised view coordinates (x and y in 0..1)


def _span(low: float, high: float, pad: float, minimum: float) -> tuple[float, float]:
    """[low, high] padded, grown to `minimum` around its centre, kept inside 0..1."""
    low, high = low - pad, high + pad
    if high - low < minimum:
        centre = (low + high) / 2
        low, high = centre - minimum / 2, centre + minimum / 2
    if low < 0:
        low, high = 0.0, min(1.0, high - low)
    if high > 1:
        low, high = max(0.0, low - (high - 1)), 1.0
    return low, high


def crop_box(markers: Sequence[Marker], aspect: float) -> QRectF:
    """The part of a view (aspect = width / height) to show around these markers."""
    if not markers:
        return QRectF(0, 0, 1, 1)
    top, bottom = _span(min(m.y for m in markers), max(m.y for m in markers), _PAD, _MIN_SPAN)
    # The same padding and minimum in view heights, as fractions of the view's width.
    left, right = _span(
        min(m.x for m in markers), max(m.x for m in markers), _PAD / aspect, _MIN_SPAN / aspect
    )
    return QRectF(left, top, right - left, bottom - top)


class HistoryDiagram(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyDiagram")
        self.setMinimumSize(200, 130)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.markers: tuple[Marker, ...] = ()
        self.threshold = load_catalog().response.relief_percent  # until a patient is shown
        self._session_order: dict[int, int] = {}
        self._panels: list[_Panel] = []

    def sizeHint(self) -> QSize:
        return QSize(300, 150)

    def set_markers(self, markers: tuple[Marker, ...], threshold: int) -> None:
        self.markers = markers
        self.threshold = threshold
        visits = sorted({m.visit for m in markers})
        self._session_order = {visit: rank for rank, visit in enumerate(visits)}
        diagram = load_diagram()
        body = [m for m in markers if m.view in _BODY_VIEWS]
        self._panels = []
        for view_id in (*_BODY_VIEWS, *_HEAD_VIEWS):
            mine = [m for m in markers if m.view == view_id]
            if not mine:
                continue
            view = diagram.view(view_id)
            # Back and front share one crop, so the same spot sits at the same height in both.
            box = crop_box(body if view_id in _BODY_VIEWS else mine, view.aspect)
            self._panels.append(_Panel(view, box))
        self.update()

    def shown_views(self) -> list[str]:
        return [panel.view.id for panel in self._panels]

    def alpha(self, visit: int) -> int:
        """Opacity of a visit's markers: the latest 255, the oldest `_MIN_ALPHA`."""
        count = len(self._session_order)
        if count <= 1:
            return 255
        rank = self._session_order.get(visit, count - 1)
        return round(_MIN_ALPHA + (255 - _MIN_ALPHA) * rank / (count - 1))

    # ---- painting ----------------------------------------------------------------------------
    def paintEvent(self, _event: object) -> None:
        if not self._panels:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        small = QFont(self.font())
        small.setPointSizeF(max(7.5, self.font().pointSizeF() - 1.5))
        painter.setFont(small)
        metrics = QFontMetricsF(small)
        title_h = metrics.height() + 4
        for panel, band in self._layout(title_h):
            self._paint_panel(painter, panel, band, metrics)
        painter.end()

    def _layout(self, title_h: float, gap: float = 10.0) -> list[tuple[_Panel, QRectF]]:
        """Place the panels in the rows × columns arrangement that draws them largest, all at
        one scale (so a centimetre on the back is a centimetre on the front)."""
        panels = self._panels
        best: tuple[float, list[list[_Panel]]] = (0.0, [panels])
        for columns in range(1, len(panels) + 1):
            rows = [panels[i : i + columns] for i in range(0, len(panels), columns)]
            units_w = max(sum(p.view.aspect * p.box.width() for p in row) for row in rows)
            units_h = sum(max(p.box.height() for p in row) for row in rows)
            room_w = self.width() - gap * (columns - 1)
            room_h = self.height() - len(rows) * title_h - gap * (len(rows) - 1)
            scale = min(room_w / units_w, room_h / units_h)
            if scale > best[0]:
                best = (scale, rows)
        scale, rows = best
        placed: list[tuple[_Panel, QRectF]] = []
        used_h = sum(max(p.box.height() for p in row) * scale + title_h for row in rows)
        y = max(0.0, (self.height() - used_h - gap * (len(rows) - 1)) / 2) + title_h
        for row in rows:
            widths = [p.view.aspect * p.box.width() * scale for p in row]
            x = (self.width() - sum(widths) - gap * (len(row) - 1)) / 2
            for panel, width in zip(row, widths, strict=True):
                placed.append((panel, QRectF(x, y, width, panel.box.height() * scale)))
                x += width + gap
            y += max(p.box.height() for p in row) * scale + title_h + gap
        return placed

    def _paint_panel(
        self, painter: QPainter, panel: _Panel, band: QRectF, metrics: QFontMetricsF
    ) -> None:
        full_h = band.height() / panel.box.height()
        full_w = panel.view.aspect * full_h
        target = QRectF(
            band.left() - panel.box.left() * full_w,
            band.top() - panel.box.top() * full_h,
            full_w,
            full_h,
        )
        painter.save()
        painter.setClipRect(band)
        paint_view(painter, panel.view, target, scale=0.8)
        painter.restore()
        painter.setPen(TITLE)
        painter.drawText(
            QRectF(band.left(), band.top() - metrics.height() - 4, band.width(), metrics.height()),
            int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop),
            _VIEW_TITLES.get(panel.view.id, panel.view.title),
        )
        self._paint_sides(painter, panel, band, metrics)
        mine = [m for m in self.markers if m.view == panel.view.id]
        radius = max(3.5, min(6.0, band.width() / 38))
        self._paint_halos(painter, mine, target, radius)
        # Oldest first, so the latest visit's dots are on top.
        for marker in sorted(mine, key=lambda m: m.visit):
            colour = relief_colour(marker.relief_percent, self.threshold)
            colour.setAlpha(self.alpha(marker.visit))
            edge = QColor(colour.darker(140))
            edge.setAlpha(colour.alpha())
            painter.setPen(QPen(edge, 1.0))
            painter.setBrush(QBrush(colour))
            painter.drawEllipse(self._point(marker, target), radius, radius)

    @staticmethod
    def _point(marker: Marker, target: QRectF) -> QPointF:
        return QPointF(
            target.left() + marker.x * target.width(), target.top() + marker.y * target.height()
        )

    def _paint_sides(
        self, painter: QPainter, panel: _Panel, band: QRectF, metrics: QFontMetricsF
    ) -> None:
        # The patient's side: on the back view their left is on the screen's left.
        if panel.view.id not in _BODY_VIEWS:
            return
        left, right = ("L", "R") if panel.view.id == "posterior" else ("R", "L")
        painter.setPen(TITLE)
        y = band.bottom() - 3
        painter.drawText(QPointF(band.left() + 2, y), left)
        painter.drawText(QPointF(band.right() - metrics.horizontalAdvance(right) - 2, y), right)

    def counts(self) -> dict[tuple[str, str, str], int]:
        """Injections per (view, muscle, side) drawn, for the halo and its legend."""
        counts: dict[tuple[str, str, str], int] = {}
        for marker in self.markers:
            key = (marker.view, marker.muscle, marker.side)
            counts[key] = counts.get(key, 0) + 1
        return counts

    def _paint_halos(
        self, painter: QPainter, markers: list[Marker], target: QRectF, radius: float
    ) -> None:
        counts = self.counts()
        fewest, most = min(counts.values(), default=1), max(counts.values(), default=1)
        if most == fewest:
            return  # every spot injected as often: nothing to compare
        latest: dict[tuple[str, str, str], Marker] = {}
        for marker in markers:
            key = (marker.view, marker.muscle, marker.side)
            if key not in latest or marker.visit >= latest[key].visit:
                latest[key] = marker
        painter.setPen(QPen(HALO_EDGE, 1.0))
        painter.setBrush(QBrush(HALO))
        for key, marker in latest.items():
            if counts[key] > fewest:
                grown = radius * (1.0 + 1.2 * (counts[key] - fewest) / (most - fewest))
                painter.drawEllipse(self._point(marker, target), grown + 2, grown + 2)
