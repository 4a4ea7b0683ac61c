"""Pain before/after and relief at follow-up per visit, over time (QPainter, no chart library).

Pain (NRS 0–10) is on the left axis: filled dots before, hollow dots after, joined per visit by a
thin line. Relief (%), recorded at the next visit, is a bar at the visit it follows, on the right
axis, green at or above the payer's threshold and amber below it (the number is printed on the
bar, so colour is never the only cue).
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QHelpEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.history import Visit
from tpi_chart.ui import style

BEFORE = QColor(style.ACCENT)
AFTER = QColor("#5aa0d8")
RELIEF_OK = QColor(29, 122, 70, 70)
RELIEF_OK_EDGE = QColor(style.OK)
RELIEF_LOW = QColor(161, 92, 0, 70)
RELIEF_LOW_EDGE = QColor(style.WARN)
GRID = QColor("#e4e8eb")
AXIS = QColor(style.LINE)
TEXT = QColor(style.MUTED)
INK = QColor(style.INK)


def visit_tooltip(visit: Visit) -> str:
    pain = (
        f"pain {_score(visit.pain_before)} → {_score(visit.pain_after)}"
        if visit.pain_before is not None or visit.pain_after is not None
        else "pain not recorded"
    )
    relief = (
        f"relief {visit.relief_percent} %"
        + (f" at {visit.relief_weeks:g} weeks" if visit.relief_weeks is not None else "")
        if visit.relief_percent is not None
        else "relief not recorded yet"
    )
    sites = f"{visit.injected_sites} injected site{'s' if visit.injected_sites != 1 else ''}"
    return f"{visit.day.isoformat()} · {sites} · {pain} · {relief}"


def _score(value: int | None) -> str:
    return "–" if value is None else str(value)


class PainReliefPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPlot")
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.visits: tuple[Visit, ...] = ()
        self.as_of = date.today()
        self.threshold = load_catalog().response.relief_percent  # until a patient is shown
        self._xs: list[tuple[float, Visit]] = []

    def sizeHint(self) -> QSize:
        return QSize(520, 160)

    def set_visits(self, visits: tuple[Visit, ...], as_of: date, threshold: int) -> None:
        # Only visits that say something: an injection, a pain score or a relief figure.
        self.visits = tuple(
            v
            for v in visits
            if v.is_session
            or v.pain_before is not None
            or v.pain_after is not None
            or v.relief_percent is not None
        )
        self.as_of = as_of
        self.threshold = threshold
        self.update()

    # ---- geometry ----------------------------------------------------------------------------
    def _plot_rect(self) -> QRectF:
        metrics = QFontMetricsF(self.font())
        top = metrics.height() * 1.6 + 6
        bottom = metrics.height() + 10
        return QRectF(34, top, max(10.0, self.width() - 34 - 44), self.height() - top - bottom)

    def _span(self) -> tuple[date, date]:
        first = self.visits[0].day if self.visits else self.as_of
        last = max(self.visits[-1].day if self.visits else self.as_of, self.as_of)
        pad = max(7, (last - first).days // 25)
        return first - timedelta(days=pad), last + timedelta(days=pad)

    def _x(self, day: date, rect: QRectF, span: tuple[date, date]) -> float:
        total = max(1, (span[1] - span[0]).days)
        return rect.left() + rect.width() * (day - span[0]).days / total

    @staticmethod
    def _pain_y(score: float, rect: QRectF) -> float:
        return rect.bottom() - rect.height() * score / 10.0

    @staticmethod
    def _relief_y(percent: float, rect: QRectF) -> float:
        return rect.bottom() - rect.height() * percent / 100.0

    # ---- painting ----------------------------------------------------------------------------
    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        rect = self._plot_rect()
        span = self._span()
        small = QFont(self.font())
        small.setPointSizeF(max(7.5, self.font().pointSizeF() - 1.5))
        painter.setFont(small)
        metrics = QFontMetricsF(small)
        self._legend(painter, metrics)
        self._axes(painter, rect, metrics)
        if not self.visits:
            painter.setPen(TEXT)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "No pain or relief recorded")
            painter.end()
            return
        spacing = rect.width() / max(1, len(self.visits))
        bar = max(4.0, min(18.0, spacing * 0.5))
        self._xs = [(self._x(v.day, rect, span), v) for v in self.visits]
        self._today(painter, rect, span, metrics)
        self._relief(painter, rect, bar, metrics)
        self._pain(painter, rect, spacing)
        self._dates(painter, rect, metrics)
        painter.end()

    def _legend(self, painter: QPainter, metrics: QFontMetricsF) -> None:
        labels = ("Pain before", "Pain after (0–10)", "Relief %")
        if 34 + sum(12 + metrics.horizontalAdvance(t) + 16 for t in labels) > self.width():
            labels = ("Pain before", "after", "Relief %")
        x, y = 34.0, metrics.ascent() + 2
        middle = y - metrics.ascent() / 3
        for index, label in enumerate(labels):
            if index == 0:
                painter.setPen(QPen(BEFORE, 1.5))
                painter.setBrush(QBrush(BEFORE))
                painter.drawEllipse(QPointF(x + 4, middle), 4, 4)
            elif index == 1:
                painter.setPen(QPen(AFTER, 1.8))
                painter.setBrush(QBrush(QColor(style.CARD)))
                painter.drawEllipse(QPointF(x + 4, middle), 4, 4)
            else:
                painter.setPen(QPen(RELIEF_OK_EDGE, 1))
                painter.setBrush(QBrush(RELIEF_OK))
                painter.drawRect(QRectF(x, y - metrics.ascent() + 1, 8, metrics.ascent() - 1))
            painter.setPen(INK)
            painter.drawText(QPointF(x + 12, y), label)
            x += 12 + metrics.horizontalAdvance(label) + 16

    def _axes(self, painter: QPainter, rect: QRectF, metrics: QFontMetricsF) -> None:
        for score in range(0, 11, 2):
            y = self._pain_y(score, rect)
            painter.setPen(QPen(GRID if score else AXIS, 1))
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            painter.setPen(TEXT)
            painter.drawText(
                QRectF(0, y - metrics.height() / 2, rect.left() - 6, metrics.height()),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                str(score),
            )
            percent = score * 10
            painter.drawText(
                QRectF(rect.right() + 6, y - metrics.height() / 2, 40, metrics.height()),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                f"{percent} %",
            )
        threshold = self._relief_y(self.threshold, rect)
        pen = QPen(RELIEF_OK_EDGE, 1)
        pen.setDashPattern([4.0, 3.0])
        painter.setPen(pen)
        painter.drawLine(QPointF(rect.left(), threshold), QPointF(rect.right(), threshold))

    def _today(
        self, painter: QPainter, rect: QRectF, span: tuple[date, date], metrics: QFontMetricsF
    ) -> None:
        x = self._x(self.as_of, rect, span)
        pen = QPen(AXIS, 1)
        pen.setDashPattern([2.0, 3.0])
        painter.setPen(pen)
        painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        painter.setPen(TEXT)
        label = "today"
        width = metrics.horizontalAdvance(label)
        left = min(x + 3, rect.right() - width)
        painter.drawText(QPointF(left, rect.top() + metrics.ascent()), label)

    def _relief(self, painter: QPainter, rect: QRectF, bar: float, metrics: QFontMetricsF) -> None:
        for x, visit in self._xs:
            if visit.relief_percent is None:
                continue
            ok = visit.relief_percent >= self.threshold
            top = self._relief_y(visit.relief_percent, rect)
            painter.setPen(QPen(RELIEF_OK_EDGE if ok else RELIEF_LOW_EDGE, 1))
            painter.setBrush(QBrush(RELIEF_OK if ok else RELIEF_LOW))
            painter.drawRect(QRectF(x - bar / 2, top, bar, rect.bottom() - top))
            if bar >= 10 or len(self._xs) <= 12:
                label = f"{visit.relief_percent} %"
                painter.setPen(RELIEF_OK_EDGE if ok else RELIEF_LOW_EDGE)
                painter.drawText(QPointF(x + bar / 2 + 2, top + metrics.ascent()), label)

    def _pain(self, painter: QPainter, rect: QRectF, spacing: float) -> None:
        before = [(x, v.pain_before) for x, v in self._xs if v.pain_before is not None]
        after = [(x, v.pain_after) for x, v in self._xs if v.pain_after is not None]
        # Crowded (many visits in little width): smaller dots, no before→after connectors.
        dot = 4.2 if spacing >= 14 else max(2.0, spacing / 3.3)
        for x, visit in self._xs:
            if spacing < 10:
                break
            if visit.pain_before is not None and visit.pain_after is not None:
                painter.setPen(QPen(QColor(31, 111, 178, 90), 1.2))
                painter.drawLine(
                    QPointF(x, self._pain_y(visit.pain_before, rect)),
                    QPointF(x, self._pain_y(visit.pain_after, rect)),
                )
        for points, colour, hollow in ((before, BEFORE, False), (after, AFTER, True)):
            pen = QPen(colour, 1.6)
            painter.setPen(pen)
            for (x0, s0), (x1, s1) in pairwise(points):
                painter.drawLine(
                    QPointF(x0, self._pain_y(s0, rect)), QPointF(x1, self._pain_y(s1, rect))
                )
            painter.setPen(QPen(colour, 1.8))
            painter.setBrush(QBrush(QColor(style.CARD) if hollow else colour))
            for x, score in points:
                painter.drawEllipse(QPointF(x, self._pain_y(score, rect)), dot, dot)

    def _dates(self, painter: QPainter, rect: QRectF, metrics: QFontMetricsF) -> None:
        painter.setPen(TEXT)
        y = rect.bottom() + metrics.ascent() + 4
        last_right = -1e9
        labelled: list[tuple[float, str]] = []
        for index, (x, visit) in enumerate(self._xs):
            label = visit.day.isoformat()
            width = metrics.horizontalAdvance(label)
            left = min(max(x - width / 2, 0.0), self.width() - width)
            is_last = index == len(self._xs) - 1
            if left >= last_right + 8 or is_last:
                if is_last and labelled and left < last_right + 8:
                    labelled.pop()  # the latest visit's date matters more than the one before
                labelled.append((left, label))
                last_right = left + width
            painter.setPen(QPen(AXIS, 1))
            painter.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() + 3))
        painter.setPen(TEXT)
        for left, label in labelled:
            painter.drawText(QPointF(left, y), label)

    # ---- tooltips ----------------------------------------------------------------------------
    def visit_at(self, x: float) -> Visit | None:
        """The visit drawn nearest to `x` (within 14 px), for the tooltip."""
        nearest = min(self._xs, key=lambda item: abs(item[0] - x), default=None)
        if nearest is None or abs(nearest[0] - x) > 14:
            return None
        return nearest[1]

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            visit = self.visit_at(event.pos().x())
            if visit is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), visit_tooltip(visit), self)
            return True
        return super().event(event)
