"""Lot recall, for the front desk: every patient and procedure that received a lot, with the
sites and the patient's identifying fields, and a CSV for the phone list.

Listing and writing the CSV are audited as PHI exports by `InteropService`; the window shows
the action to administrators and assistants only, and the service refuses everyone else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.services.interop import RecallRow
from tpi_chart.ui.style import DANGER

COLUMNS = ("Date", "Patient", "MRN", "Born", "Phone", "Agent", "Lot", "Sites", "Physician", "Note")


class RecallDialog(QDialog):
    def __init__(self, interop: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lot recall")
        self.resize(1100, 560)
        self._interop = interop
        self.rows: list[RecallRow] = []
        self._searched_lot = ""

        self.lot = QLineEdit()
        self.lot.setAccessibleName("Lot number")
        self.lot.setPlaceholderText("Lot number, e.g. LD24117 (any case)")
        self.find_button = QPushButton("Find")
        self.find_button.setDefault(True)
        search = QHBoxLayout()
        search.addWidget(QLabel("Lot"))
        search.addWidget(self.lot, 1)
        search.addWidget(self.find_button)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("recallTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Sites"), QHeaderView.ResizeMode.Stretch)

        self.summary = QLabel("Type a lot number and press Find.")
        self.summary.setObjectName("recallSummary")
        self.error = QLabel("")
        self.error.setObjectName("recallError")
        self.error.setStyleSheet(f"color: {DANGER};")
        self.error.setWordWrap(True)
        self.error.hide()
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.setToolTip("Write this list as a CSV file (recorded in the audit trail)")
        close = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(search)
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self.find_button.clicked.connect(self.find)
        # Return in the field presses Find: it is the dialog's default button.
        self.export_button.clicked.connect(self.export_csv)
        close.clicked.connect(self.reject)

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def find(self) -> None:
        self.error.hide()
        lot = self.lot.text().strip()
        try:
            rows = self._interop.lot_recall(lot)
            # Shown on screen is a disclosure too: audited like the printed list.
            self._interop.audit_list(
                "lot_recall",
                {"lot": lot},
                len(rows),
                None,
                self._interop.recall_csv(rows),
                where="shown on screen",
            )
        except InvalidInput as error:
            self._fail("\n".join(p.removeprefix("lot: ") for p in error.problems))
            return
        except DomainError as error:
            self._fail(str(error))
            return
        self.rows = rows
        self._searched_lot = lot
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            values = (
                row.performed_at.date().isoformat(),
                f"{row.family_name}, {row.given_name}",
                row.mrn,
                row.birth_date.isoformat(),
                row.phone,
                row.agent,
                row.lot,
                row.sites,
                row.physician,
                "signed" if row.status == "signed" else "not signed",
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, row.procedure_id)
                item.setToolTip(value)  # the sites column is often cut short
                self.table.setItem(index, column, item)
        patients = len({row.mrn for row in rows})
        self.summary.setText(
            f"Lot {lot}: {len(rows)} procedure(s), {patients} patient(s)"
            if rows
            else f"No procedure used lot {lot}."
        )
        self.export_button.setEnabled(bool(rows))

    def export_csv(self) -> None:
        if not self.rows:
            return
        suggested = f"recall_{self._searched_lot}.csv"
        name, _ = QFileDialog.getSaveFileName(self, "Save recall list", suggested, "CSV (*.csv)")
        if not name:
            return
        path = Path(name)
        data = self._interop.recall_csv(self.rows)
        try:
            self._interop.write_list(
                "lot_recall", {"lot": self._searched_lot}, len(self.rows), path, data
            )
        except (DomainError, OSError) as error:
            self._fail(f"The list was not written: {error}")
            return
        self.summary.setText(f"{len(self.rows)} procedure(s) written to {path}")

    @classmethod
    def show_for(cls, services: Any, parent: QWidget | None = None) -> RecallDialog:
        dialog = cls(services.interop, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        dialog.lot.setFocus()
        return dialog
