"""The patient page: instant search on the left; the chosen patient, their procedures and the
start buttons on the right (copy forward is the default when the patient has history)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import Procedure
from tpi_chart.domain.units import format_weight
from tpi_chart.ui.patients.form import PatientForm
from tpi_chart.ui.patients.procedure_list import ID_ROLE, ProcedureList
from tpi_chart.ui.plain_errors import KNOWN_ERRORS, user_message

if TYPE_CHECKING:
    from tpi_chart.ui.patients.history import HistoryView


HISTORY_TIP = "Pain and relief over time, sites, steroid and payer limits"


def _age(birth: date) -> int:
    today = date.today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class PatientsPage(QWidget):
    procedure_opened = Signal(int, int)  # patient id, procedure id
    failed = Signal(str)
    _history_tab: QWidget  # the History tab's widget: a placeholder, then the view

    def __init__(self, services: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientsPage")
        self.services = services
        self.patient_id: int | None = None
        self.summaries: list[Any] = []

        splitter = QSplitter(Qt.Orientation.Horizontal)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(splitter)

        left = QFrame()
        left.setProperty("role", "card")
        left_layout = QVBoxLayout(left)
        self.search = QLineEdit()
        self.search.setObjectName("patientSearch")
        self.search.setAccessibleName("Search patients")
        self.search.setPlaceholderText("Search name, MRN or date of birth (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        left_layout.addWidget(self.search)
        self.results = QListWidget()
        self.results.setObjectName("patientResults")
        self.results.setAccessibleName("Patients found")
        self.results.setAlternatingRowColors(True)
        self.results.setStyleSheet("QListWidget::item { min-height: 40px; padding: 2px 6px; }")
        # Every row is the same two lines: one row's size is every row's, so a list of 200 is
        # laid out without asking the style sheet for 200 sizes.
        self.results.setUniformItemSizes(True)
        left_layout.addWidget(self.results, 1)
        self.new_button = QPushButton("+ New patient")
        self.new_button.setObjectName("newPatient")
        self.new_button.clicked.connect(self.new_patient)
        left_layout.addWidget(self.new_button)
        splitter.addWidget(left)

        self.right = QStackedWidget()
        splitter.addWidget(self.right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([340, 900])

        self._empty = QLabel("Find a patient on the left, or create a new one.")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setProperty("role", "muted")
        self.right.addWidget(self._empty)
        # Built on first use (issue 15): the page opens with no patient chosen, and most starts
        # never edit a patient or open the history.
        self._detail: QWidget | None = None
        self._form: PatientForm | None = None
        self._form_holder: QWidget | None = None
        self._history: HistoryView | None = None

        self._debounce = QTimer(self)
        self._search_waiting = False
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(120)
        self._debounce.timeout.connect(self.run_search)
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self._open_first_result)
        self.results.currentItemChanged.connect(self._result_changed)
        # Enter or a double click on a patient: the primary action (open today's procedure).
        self.results.itemActivated.connect(lambda _item: self._primary_action())
        self.run_search()

    @property
    def detail(self) -> QWidget:
        return self._detail_page()

    def detail_built(self) -> bool:
        return self._detail is not None

    def _detail_page(self) -> QWidget:
        """The chosen patient's page (their facts, procedures and history), built when a patient
        is first shown: 11 ms of the start that shows nobody yet."""
        if self._detail is None:
            self._detail = self._build_detail()
            self.right.addWidget(self._detail)
        return self._detail

    @property
    def form(self) -> PatientForm:
        """The new/edit patient form, built when first needed."""
        if self._form is None:
            holder = QWidget()
            layout = QVBoxLayout(holder)
            # Created inside its holder: re-parenting a finished widget polishes it again.
            self._form = PatientForm(
                self.services.patients, weight_unit=self.services.settings.weight_unit()
            )
            self._form.saved.connect(self._form_saved)
            self._form.cancelled.connect(self._form_cancelled)
            layout.addWidget(self._form)
            layout.addStretch(1)
            self.right.addWidget(holder)
            self._form_holder = holder
        return self._form

    @property
    def history(self) -> HistoryView:
        """The History tab's view, built the first time the tab is shown."""
        if self._history is None:
            self._detail_page()  # its tabs hold the view
            # Imported here too: it loads the diagram artwork and the plots, which the first
            # screen does not show. The view takes the placeholder's place as the tab's widget.
            from tpi_chart.ui.patients.history import HistoryView

            view = HistoryView(self.services)
            index, current = self.tabs.indexOf(self._history_tab), self.tabs.currentIndex()
            self.tabs.blockSignals(True)  # a swap, not a tab change: nothing to recompute
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, view, "History")
            self.tabs.setTabToolTip(index, HISTORY_TIP)
            self.tabs.setCurrentIndex(current)
            self.tabs.blockSignals(False)
            self._history_tab.deleteLater()
            self._history = view
            self._history_tab = view
        return self._history

    def _build_detail(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        card = QFrame()
        card.setProperty("role", "card")
        card_layout = QVBoxLayout(card)
        top = QHBoxLayout()
        self.name_label = QLabel()
        self.name_label.setObjectName("patientName")
        self.name_label.setProperty("role", "big")
        top.addWidget(self.name_label)
        top.addStretch(1)
        self.edit_button = QPushButton("Edit details")
        self.edit_button.setObjectName("editPatient")
        self.edit_button.clicked.connect(self.edit_patient)
        top.addWidget(self.edit_button)
        card_layout.addLayout(top)
        self.facts_label = QLabel()
        self.facts_label.setObjectName("patientFacts")
        self.facts_label.setWordWrap(True)
        card_layout.addWidget(self.facts_label)
        self.alert_label = QLabel()
        self.alert_label.setObjectName("patientAlerts")
        self.alert_label.setWordWrap(True)
        card_layout.addWidget(self.alert_label)
        layout.addWidget(card)

        actions = QHBoxLayout()
        self.primary_button = QPushButton()
        self.primary_button.setObjectName("primaryProcedureAction")
        self.primary_button.setProperty("role", "primary")
        self.primary_button.setMinimumHeight(44)
        self.primary_button.clicked.connect(self._primary_action)
        self.copy_button = QPushButton("Copy forward last visit")
        self.copy_button.setObjectName("copyForward")
        self.copy_button.setToolTip("New procedure today with the last visit's sites as planned")
        self.copy_button.clicked.connect(self.copy_forward)
        self.blank_button = QPushButton("New blank procedure")
        self.blank_button.setObjectName("newBlankProcedure")
        self.blank_button.clicked.connect(self.new_blank)
        actions.addWidget(self.primary_button)
        actions.addWidget(self.copy_button)
        actions.addWidget(self.blank_button)
        actions.addStretch(1)
        layout.addLayout(actions)

        self.procedure_list = ProcedureList(self.services)
        self.procedure_list.opened.connect(
            lambda pid: self.procedure_opened.emit(self.patient_id, pid)
        )
        self.procedure_list.changed.connect(self._show_current_patient)
        self.procedure_list.failed.connect(self.failed)
        self.procedures = self.procedure_list.table

        # The history is computed when its tab is shown, not on every patient change.
        self.tabs = QTabWidget()
        self.tabs.setObjectName("patientTabs")
        self.tabs.addTab(self.procedure_list, "Procedures")
        self._history_tab = QWidget()  # until the History view is built (`history`)
        self.tabs.addTab(self._history_tab, "History")
        self.tabs.setTabToolTip(1, HISTORY_TIP)
        self.tabs.currentChanged.connect(lambda _index: self._refresh_history())
        layout.addWidget(self.tabs, 1)
        return page

    def show_history(self) -> None:
        self._detail_page()
        self.tabs.setCurrentWidget(self._history_tab)
        self._refresh_history()

    def _refresh_history(self) -> None:
        if self.patient_id is None or self.tabs.currentWidget() is not self._history_tab:
            return
        if self.history.patient_id == self.patient_id and self.history.history is not None:
            return
        try:
            self.history.load(self.patient_id)
        except KNOWN_ERRORS as error:
            self.failed.emit(user_message(error))

    # -- search ------------------------------------------------------------------------------

    def hideEvent(self, event: QHideEvent) -> None:
        # A search typed just before the window closed must not run after its clinic was
        # closed; one still waiting when the page is only covered runs when it is shown again.
        self._search_waiting = self._debounce.isActive()
        self._debounce.stop()
        super().hideEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._search_waiting:
            self._search_waiting = False
            self._debounce.start()

    def run_search(self) -> None:
        text = self.search.text().strip()
        try:
            found = self.services.patients.search(text)
        except KNOWN_ERRORS as error:
            self.failed.emit(user_message(error))
            return
        self.results.blockSignals(True)
        self.results.clear()
        for stored in found:
            p = stored.patient
            item = QListWidgetItem(f"{p.display_name}\nMRN {p.mrn} · {p.birth_date:%Y-%m-%d}")
            item.setData(Qt.ItemDataRole.UserRole, int(stored.id))
            self.results.addItem(item)
            if stored.id == self.patient_id:
                self.results.setCurrentItem(item)
        self.results.blockSignals(False)

    def _result_changed(self, current: QListWidgetItem | None, _previous: Any) -> None:
        if current is not None:
            self.show_patient(int(current.data(Qt.ItemDataRole.UserRole)))

    def _open_first_result(self) -> None:
        """Enter in the search: shows the first patient; Enter again (the patient is shown)
        starts the primary action, e.g. opens today's procedure, as its tooltip says."""
        if not self.results.count():
            return
        first = int(self.results.item(0).data(Qt.ItemDataRole.UserRole))
        if self.results.currentRow() == 0 and self.patient_id == first:
            self._primary_action()
        else:
            self.results.setCurrentRow(0)

    # -- one patient -------------------------------------------------------------------------

    def _show_current_patient(self) -> None:
        if self.patient_id is not None:  # a procedure list only changes with a patient shown
            self.show_patient(self.patient_id)

    def show_patient(self, patient_id: int) -> None:
        detail = self.detail
        try:
            stored = self.services.patients.get(patient_id)
            self.summaries = list(self.services.charting.list_for_patient(patient_id))
            shown = (
                list(self.services.charting.list_for_patient(patient_id, include_voided=True))
                if self.procedure_list.show_voided.isChecked()
                else self.summaries
            )
        except KNOWN_ERRORS as error:
            self.failed.emit(user_message(error))
            return
        self.patient_id = patient_id
        p = stored.patient
        self.name_label.setText(p.display_name)
        weight = format_weight(p.weight_kg, self.services.settings.weight_unit())
        self.facts_label.setText(
            f"MRN {p.mrn} · born {p.birth_date:%Y-%m-%d} ({_age(p.birth_date)} y) · "
            f"{p.sex} · {weight}"
        )
        alerts = [p.allergy_text]
        if p.anticoagulated:
            alerts.append(f"⚠ Anticoagulated{f' ({p.anticoagulant})' if p.anticoagulant else ''}")
        if p.pregnant:
            alerts.append("⚠ Pregnant")
        self.alert_label.setText(" · ".join(alerts))
        payer = load_catalog().payers.get(p.payer_profile) if p.payer_profile else None
        coverage = payer.name if payer else "coverage not recorded"
        if p.member_id:
            coverage += f" · member id {p.member_id}"
        contact = f" · Phone {p.phone}" if p.phone else ""
        self.facts_label.setText(self.facts_label.text() + f"\nCoverage: {coverage}{contact}")
        self.procedure_list.show_summaries(shown)
        self._update_actions()
        if self._history is not None:  # stale: recomputed when the History tab is shown
            self._history.history = None
        self._refresh_history()
        self.right.setCurrentWidget(detail)

    def _open_today(self) -> Any:
        today = date.today()
        for summary in self.summaries:
            if (
                summary.status not in ("signed", "external")
                and summary.performed_at.astimezone().date() == today
            ):
                return summary
        return None

    def _update_actions(self) -> None:
        today = self._open_today()
        has_history = bool(self.summaries)
        self.copy_button.setVisible(has_history and today is None)
        if today is not None:
            self.primary_button.setText(f"Open today's procedure  ({today.site_count} sites)")
            self.primary_button.setToolTip("Open today's unsigned procedure (Enter)")
            self.copy_button.setVisible(False)
        elif has_history:
            self.primary_button.setText("Copy forward last visit")
            self.primary_button.setToolTip(
                "Start today's procedure from the last visit's sites, as planned"
            )
            self.copy_button.setVisible(False)
        else:
            self.primary_button.setText("New procedure")
            self.primary_button.setToolTip("Start a blank procedure for today")
        self.blank_button.setVisible(has_history or today is not None)

    def _primary_action(self) -> None:
        today = self._open_today()
        if today is not None:
            self.procedure_opened.emit(self.patient_id, int(today.id))
        elif self.summaries:
            self.copy_forward()
        else:
            self.new_blank()

    def _open_row(self, row: int) -> None:
        item = self.procedures.item(row, 0)
        if item is not None and self.patient_id is not None:
            self.procedure_opened.emit(self.patient_id, int(item.data(ID_ROLE)))

    def copy_forward(self) -> None:
        if self.patient_id is None:
            return
        try:
            stored = self.services.charting.copy_forward(
                self.patient_id, datetime.now().astimezone()
            )
        except KNOWN_ERRORS as error:
            self.failed.emit(user_message(error))
            return
        self.procedure_opened.emit(self.patient_id, int(stored.id))

    def new_blank(self) -> None:
        if self.patient_id is None:
            return
        try:
            coverage = self.services.patients.get(self.patient_id).patient.payer_profile
            procedure = Procedure(
                performed_at=datetime.now().astimezone().replace(microsecond=0),
                status="planned",
                payer_profile=coverage or "none",
            )
            stored = self.services.charting.create(self.patient_id, procedure)
        except KNOWN_ERRORS as error:
            self.failed.emit(user_message(error))
            return
        self.procedure_opened.emit(self.patient_id, int(stored.id))

    # -- form --------------------------------------------------------------------------------

    def new_patient(self) -> None:
        self.form.edit(None, None)
        self._show_form()
        self.form.family_name.setFocus()

    def edit_patient(self) -> None:
        if self.patient_id is None:
            return
        stored = self.services.patients.get(self.patient_id)
        self.form.edit(self.patient_id, stored.patient, stored)
        self._show_form()

    def _show_form(self) -> None:
        assert self._form_holder is not None  # `form` built it
        self.right.setCurrentWidget(self._form_holder)

    def _form_saved(self, patient_id: int) -> None:
        self.patient_id = patient_id
        self.run_search()
        self.show_patient(patient_id)

    def _form_cancelled(self) -> None:
        self.right.setCurrentWidget(self.detail if self.patient_id is not None else self._empty)
