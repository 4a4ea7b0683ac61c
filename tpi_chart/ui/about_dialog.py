"""The About box (tool bar): the version, and every check `tpi-chart doctor` makes with its
result, so the person at the desk and the clinic's IT see the same thing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tpi_chart import __version__
from tpi_chart.services.doctor import Check, format_checks, needs_attention, run_checks
from tpi_chart.ui import style
from tpi_chart.ui.doctor_checks import qt_checks

STATUS_TEXT = {"ok": "OK", "attention": "Needs attention", "info": "Info"}
STATUS_COLOUR = {"ok": style.OK, "attention": style.DANGER, "info": style.MUTED}


class AboutDialog(QDialog):
    def __init__(self, db_path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About TPI Chart")
        self.setMinimumSize(900, 560)
        self.checks: list[Check] = run_checks(db_path, extra=[qt_checks])

        title = QLabel(f"<b>TPI Chart {__version__}</b>")
        title.setObjectName("aboutTitle")
        attention = needs_attention(self.checks)
        self.summary = QLabel(
            "Something on this computer needs attention: see the rows marked below, or run "
            "<code>tpi-chart doctor</code>."
            if attention
            else "Every check passed."
        )
        self.summary.setWordWrap(True)
        if attention:
            self.summary.setStyleSheet(f"color: {style.DANGER};")

        self.table = QTableWidget(len(self.checks), 3)
        self.table.setObjectName("doctorChecks")
        self.table.setHorizontalHeaderLabels(["Check", "Result", "Details"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for row, check in enumerate(self.checks):
            status = QTableWidgetItem(STATUS_TEXT[check.status])
            status.setForeground(QColor(STATUS_COLOUR[check.status]))
            detail = QTableWidgetItem(check.detail)
            detail.setToolTip(check.detail)
            self.table.setItem(row, 0, QTableWidgetItem(check.name))
            self.table.setItem(row, 1, status)
            self.table.setItem(row, 2, detail)
        self.table.resizeRowsToContents()

        self.copy_button = QPushButton("Copy for IT")
        self.copy_button.setToolTip("Copy every check and its result, as `tpi-chart doctor` prints")
        self.copy_button.clicked.connect(self.copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def copy(self) -> None:
        lines = [f"TPI Chart {__version__}", *format_checks(self.checks)]
        QGuiApplication.clipboard().setText("\n".join(lines) + "\n")
