"""The patient's procedures, telling the story: date of service, status, physician, CPT, sites,
pain before → after and the relief recorded; sortable, filterable; a signed one's PDF opens from
here, a past visit takes its follow-up relief here, and a procedure opened by mistake is voided
here (with a reason; kept and audited)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import FollowUp
from tpi_chart.domain.presentation import STATUS_WORDS
from tpi_chart.ui.exports import export_pdf
from tpi_chart.ui.plain_errors import KNOWN_ERRORS, KNOWN_FILE_ERRORS, user_message

COLUMNS = ("Date of service", "Status", "Physician", "CPT", "Sites", "Pain", "Relief")
ID_ROLE = 0x0100 + 1  # Qt.UserRole + 1


class _SortItem(QTableWidgetItem):
    """Sorts by a key of its own (the date as ISO text, numbers as numbers)."""

    def __init__(self, text: str, key: Any) -> None:
        super().__init__(text)
        self.key = key

    def __lt__(self, other: QTableWidgetItem) -> bool:
        if isinstance(other, _SortItem):
            try:
                return bool(self.key < other.key)
            except TypeError:
                return str(self.key) < str(other.key)
        return super().__lt__(other)


class FollowUpDialog(QDialog):
    """Relief after a past visit: date measured, % relief, how long, scale, functional change."""

    def __init__(self, visit_day: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("followUpDialog")
        self.setWindowTitle(f"Follow-up of the visit of {visit_day.isoformat()}")
        form = QFormLayout(self)
        self.measured = QDateEdit(QDate.currentDate())
        self.measured.setObjectName("followUpDate")
        self.measured.setCalendarPopup(True)
        self.measured.setDisplayFormat("yyyy-MM-dd")
        self.relief = QSpinBox()
        self.relief.setObjectName("followUpRelief")
        self.relief.setRange(0, 100)
        self.relief.setSuffix(" %")
        self.weeks = QDoubleSpinBox()
        self.weeks.setObjectName("followUpWeeks")
        self.weeks.setRange(-1, 520)
        self.weeks.setDecimals(0)
        self.weeks.setSpecialValueText("not recorded")
        self.weeks.setSuffix(" weeks")
        self.weeks.setValue(-1)
        self.scale = QComboBox()
        self.scale.setObjectName("followUpScale")
        self.scale.addItem("NRS 0–10", "NRS")
        self.scale.addItem("VAS 0–100 mm", "VAS")
        self.functional = QLineEdit()
        self.functional.setObjectName("followUpFunctional")
        self.functional.setPlaceholderText("e.g. NDI 30 → 18; back to work")
        self.functional.setMinimumWidth(320)
        form.addRow("Measured on", self.measured)
        form.addRow("Relief of the index pain", self.relief)
        form.addRow("Lasted", self.weeks)
        form.addRow("Scale", self.scale)
        form.addRow("Functional change", self.functional)
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.setObjectName("followUpButtons")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def value(self) -> FollowUp:
        day = self.measured.date()
        weeks = self.weeks.value()
        return FollowUp(
            measured_on=date(day.year(), day.month(), day.day()),
            relief_percent=self.relief.value(),
            relief_weeks=None if weeks < 0 else weeks,
            scale=self.scale.currentData(),
            functional_change=self.functional.text().strip() or None,
        )


class ProcedureList(QWidget):
    opened = Signal(int)  # procedure id
    changed = Signal()  # a follow-up or a void was recorded
    failed = Signal(str)

    def __init__(self, services: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.summaries: list[Any] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        bar = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setObjectName("procedureFilter")
        self.filter.setPlaceholderText("Filter: date, status, physician, CPT, muscle…")
        self.filter.textChanged.connect(lambda _t: self._apply_filter())
        self.show_voided = QCheckBox("Show voided")
        self.show_voided.setObjectName("showVoided")
        self.show_voided.toggled.connect(lambda _c: self.changed.emit())
        self.pdf_button = QPushButton("Open PDF")
        self.pdf_button.setObjectName("openPdf")
        self.pdf_button.clicked.connect(self.open_pdf)
        self.follow_button = QPushButton("Follow-up…")
        self.follow_button.setObjectName("recordFollowUp")
        self.follow_button.setToolTip(
            "Record the relief after the selected visit: date measured, %, duration, scale"
        )
        self.follow_button.clicked.connect(self.record_follow_up)
        self.void_button = QPushButton("Void…")
        self.void_button.setObjectName("voidProcedure")
        self.void_button.clicked.connect(self.void)
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.show_voided)
        bar.addWidget(self.pdf_button)
        bar.addWidget(self.follow_button)
        bar.addWidget(self.void_button)
        layout.addLayout(bar)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("procedureList")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The muscles give way (elided, full list in the tooltip) so pain and relief stay on screen.
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.setSortingEnabled(True)
        self.table.cellDoubleClicked.connect(lambda row, _c: self._open(row))
        self.table.setToolTip("Double-click a procedure to open it")
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)
        self._update_buttons()

    # -- showing -----------------------------------------------------------------------------

    def show_summaries(self, summaries: list[Any]) -> None:
        self.summaries = summaries
        catalog = load_catalog()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(summaries))
        for row, summary in enumerate(summaries):
            when = summary.performed_at.astimezone()
            status = STATUS_WORDS.get(summary.status, summary.status)
            if summary.voided:
                status = "Voided" if summary.status != "signed" else "Entered in error"
            muscles = sorted({m.split(":")[0] for m in summary.muscles})
            sites = f"{summary.injected_count} injected / {summary.site_count}"
            if muscles:
                sites += ": " + ", ".join(catalog.muscle_name(m) for m in muscles)
            pain = (
                f"{_score(summary.pain_before)} → {_score(summary.pain_after)}"
                if summary.pain_before is not None or summary.pain_after is not None
                else "—"
            )
            has_relief = summary.relief_percent is not None
            relief = f"{summary.relief_percent} %" if has_relief else "—"
            cells = (
                _SortItem(f"{when:%Y-%m-%d %H:%M}", when.isoformat()),
                _SortItem(status, status),
                _SortItem(summary.physician or "—", summary.physician or ""),
                _SortItem(self._cpt(summary), self._cpt(summary)),
                _SortItem(sites, summary.injected_count),
                _SortItem(pain, summary.pain_before if summary.pain_before is not None else -1),
                _SortItem(
                    relief, summary.relief_percent if summary.relief_percent is not None else -1
                ),
            )
            for column, item in enumerate(cells):
                item.setData(ID_ROLE, int(summary.id))
                item.setToolTip(sites if column == 4 else item.text())
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        self._apply_filter()
        self._update_buttons()

    def _cpt(self, summary: Any) -> str:
        if not summary.injected_count:
            return "—"
        cache: dict[int, str] = self.__dict__.setdefault("_cpt_cache", {})
        key = int(summary.id)
        if key not in cache or summary.status != "signed":
            from tpi_chart.domain.rules import evaluate  # the rules: only once a visit is listed

            try:
                cache[key] = evaluate(self.services.charting.document(key)).cpt or "—"
            except KNOWN_ERRORS:  # an incomplete chart has no CPT yet
                cache[key] = "—"
        return cache[key]

    def _apply_filter(self) -> None:
        words = self.filter.text().lower().split()
        for row in range(self.table.rowCount()):
            text = " ".join(
                (self.table.item(row, c).text() if self.table.item(row, c) else "")
                for c in range(self.table.columnCount())
            ).lower()
            self.table.setRowHidden(row, not all(word in text for word in words))

    # -- acting on the selected procedure ----------------------------------------------------

    def selected(self) -> Any:
        items = self.table.selectedItems()
        if not items:
            return None
        pid = int(items[0].data(ID_ROLE))
        return next((s for s in self.summaries if int(s.id) == pid), None)

    def select_procedure(self, procedure_id: int) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and int(item.data(ID_ROLE)) == procedure_id:
                self.table.selectRow(row)
                return

    def _update_buttons(self) -> None:
        summary = self.selected()
        self.pdf_button.setEnabled(summary is not None and summary.status == "signed")
        self.follow_button.setEnabled(
            summary is not None and summary.injected_count > 0 and not summary.voided
        )
        self.void_button.setEnabled(
            summary is not None and summary.status != "signed" and not summary.voided
        )
        self.void_button.setToolTip(
            "A signed note is marked entered in error with a signed addendum (Sign tab)"
            if summary is not None and summary.status == "signed"
            else "Void a procedure opened by mistake (kept, with the reason)"
        )

    def _open(self, row: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.opened.emit(int(item.data(ID_ROLE)))

    def _attempt(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except KNOWN_FILE_ERRORS as error:
            self.failed.emit(user_message(error))
            return None

    def open_pdf(self) -> None:
        summary = self.selected()
        if summary is None or summary.status != "signed":
            return
        notes = self.services.notes

        def done(path: Path) -> None:
            self.last_pdf = path
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

        export_pdf(
            lambda: notes.prepare_export(int(summary.id)),
            notes.write_export,
            done=done,
            failed=self.failed.emit,
        )

    def record_follow_up(self, *, dialog: FollowUpDialog | None = None) -> None:
        summary = self.selected()
        if summary is None:
            return
        dialog = dialog or FollowUpDialog(summary.performed_at.date(), self)
        self.follow_up_dialog = dialog
        while dialog.exec() == QDialog.DialogCode.Accepted:
            try:
                follow_up = dialog.value()
                self.services.charting.record_follow_up(int(summary.id), follow_up)
            except KNOWN_ERRORS as error:
                dialog.error.setText(user_message(error))
                continue
            self.changed.emit()
            return

    def void(self) -> None:
        summary = self.selected()
        if summary is None or summary.status == "signed":
            return
        reason, ok = QInputDialog.getText(
            self,
            "Void procedure",
            f"Why is the procedure of {summary.performed_at:%Y-%m-%d %H:%M} voided?\n"
            "(It is kept in the record, hidden from the list and left out of the rules.)",
        )
        if not ok:
            return
        if self._attempt(lambda: self.services.charting.void(int(summary.id), reason)):
            self.changed.emit()


def _score(value: int | None) -> str:
    return "—" if value is None else str(value)
