"""The Keys help as an overlay over the whole window (? or F12, Esc closes): every shortcut in two
columns of full, wrapped text, never a dock squeezed to "T…"."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.ui.workspace.keys import keys_help


class KeysOverlay(QWidget):
    closed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("keysOverlay")
        self.setAccessibleName("Keyboard shortcuts")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(40, 30, 40, 30)
        card = QFrame()
        card.setObjectName("keysCard")
        card.setProperty("role", "card")
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(20, 14, 20, 16)
        top = QHBoxLayout()
        title = QLabel("Keys")
        title.setProperty("role", "title")
        top.addWidget(title)
        top.addStretch(1)
        self.close_button = QPushButton("Close  (Esc)")
        self.close_button.setObjectName("closeKeys")
        self.close_button.clicked.connect(self.hide_overlay)
        top.addWidget(self.close_button)
        layout.addLayout(top)
        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(4)
        rows = keys_help()
        half = (len(rows) + 1) // 2
        self.labels: list[tuple[QLabel, QLabel]] = []
        for index, (what, keys) in enumerate(rows):
            column = 0 if index < half else 2
            row = index if index < half else index - half
            key = QLabel(keys)
            key.setObjectName("keyText")
            key.setStyleSheet("font-weight: 600;")
            text = QLabel(what)
            text.setWordWrap(True)
            grid.addWidget(key, row, column, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(text, row, column + 1, Qt.AlignmentFlag.AlignTop)
            self.labels.append((text, key))
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        layout.addLayout(grid)
        parent.installEventFilter(self)
        self.hide()

    def row_count(self) -> int:
        return len(self.labels)

    def show_overlay(self) -> None:
        self.setGeometry(self.parentWidget().rect())
        self.show()
        self.raise_()
        self.setFocus()

    def hide_overlay(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit()

    def set_shown(self, shown: bool) -> None:
        (self.show_overlay if shown else self.hide_overlay)()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Question, Qt.Key.Key_F12):
            self.hide_overlay()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.hide_overlay()  # a click on the dimmed window closes the help

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(29, 39, 49, 120))
        painter.end()
