"""The marker legend under the diagram."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QPointF, QSize
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from tpi_chart.domain.presentation import LEGEND
from tpi_chart.ui.diagram.items import DRAWN_FEATURES, MarkerStyle, legend_samples, paint_marker

#: The screen's full key (a removed site is not drawn on screen: undo brings it back).
SCREEN_LEGEND = tuple(e for e in LEGEND if e.feature in DRAWN_FEATURES and e.feature != "removed")


class DiagramLegend(QWidget):
    """The marker legend, drawn with the same painter code as the markers themselves."""

    ENTRIES: tuple[tuple[str, MarkerStyle], ...] = legend_samples(SCREEN_LEGEND, short=True)

    ROW_HEIGHT = 24

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagramLegend")
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setToolTip(
            "Numbers: charting order, as in the site table.\n"
            + "\n".join(f"{entry.label}: {entry.drawing}" for entry in SCREEN_LEGEND)
        )

    def _entry_width(self, text: str) -> int:
        return 31 + self.fontMetrics().horizontalAdvance(text) + 12

    def _rows(self, width: int) -> list[list[tuple[str, MarkerStyle]]]:
        """Entries packed into rows that fit ``width`` (the legend wraps on a narrow panel)."""
        rows: list[list[tuple[str, MarkerStyle]]] = [[]]
        used = 0
        for entry in self.ENTRIES:
            needed = self._entry_width(entry[0])
            if rows[-1] and used + needed > width:
                rows.append([])
                used = 0
            rows[-1].append(entry)
            used += needed
        return rows

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return len(self._rows(width)) * self.ROW_HEIGHT + 4

    def sizeHint(self) -> QSize:
        width = sum(self._entry_width(t) for t, _ in self.ENTRIES)
        return QSize(width, self.ROW_HEIGHT + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(max(self._entry_width(t) for t, _ in self.ENTRIES), self.ROW_HEIGHT + 4)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        height = self.heightForWidth(self.width())
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        ascent = self.fontMetrics().ascent()
        for index, row in enumerate(self._rows(self.width())):
            y = 2 + index * self.ROW_HEIGHT + self.ROW_HEIGHT / 2
            x = 2.0
            for text, style in row:
                paint_marker(painter, QPointF(x + 12, y), replace(style, size=0.72))
                painter.setPen(QColor("#1d2731"))
                painter.drawText(int(x + 31), int(y + ascent / 2 - 1), text)
                x += self._entry_width(text)
        painter.end()
