"""The time-out overlay: every element the team confirms, shown before it is confirmed with one
key (Y: sites marked on the skin, N: not marked; Esc: not now). What was shown is what the note
prints, with who confirmed it and when."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.models import Patient, Procedure
from tpi_chart.domain.timeout import time_out_elements


class TimeOutDialog(QDialog):
    """Modal on purpose: the time-out is the one moment everyone stops."""

    def __init__(self, patient: Patient, procedure: Procedure, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName("timeOutDialog")
        self.setWindowTitle("Time-out")
        self.site_marked: bool | None = None
        layout = QVBoxLayout(self)
        title = QLabel("<b>Time-out</b> — read aloud and confirm")
        title.setObjectName("timeOutTitle")
        layout.addWidget(title)
        # The marking line is answered by the key that confirms, so it is not listed as a fact.
        self.elements = time_out_elements(patient, procedure, None)[:-1]
        self.list = QLabel("\n".join(f"• {element}" for element in self.elements))
        self.list.setObjectName("timeOutElements")
        self.list.setWordWrap(True)
        self.list.setTextFormat(Qt.TextFormat.PlainText)
        self.list.setMinimumWidth(560)
        layout.addWidget(self.list)
        layout.addWidget(QLabel("Were the sites marked on the skin?"))
        row = QHBoxLayout()
        self.yes = QPushButton("Confirm — sites marked  (Y)")
        self.yes.setObjectName("timeOutConfirmMarked")
        self.yes.setProperty("role", "primary")
        self.no = QPushButton("Confirm — not marked  (N)")
        self.no.setObjectName("timeOutConfirmUnmarked")
        cancel = QPushButton("Not now  (Esc)")
        self.yes.clicked.connect(lambda: self._confirm(True))
        self.no.clicked.connect(lambda: self._confirm(False))
        cancel.clicked.connect(self.reject)
        for button in (self.yes, self.no):
            button.setAutoDefault(False)
        row.addWidget(self.yes)
        row.addWidget(self.no)
        row.addStretch(1)
        row.addWidget(cancel)
        layout.addLayout(row)

    def _confirm(self, marked: bool) -> None:
        self.site_marked = marked
        self.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Y:
            self._confirm(True)
        elif event.key() == Qt.Key.Key_N:
            self._confirm(False)
        else:
            super().keyPressEvent(event)
