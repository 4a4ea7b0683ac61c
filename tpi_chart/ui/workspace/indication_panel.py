"""Problems and coverage for this visit: diagnoses (type-ahead over the bundled ICD-10-CM subset),
coverage, indication and history, the relief after the previous session and a functional score.
Each control commits its field as soon as it is finished (Enter, leaving the field, a pick)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagnoses import load_diagnoses
from tpi_chart.domain.models import (
    ClinicalHistory,
    ConservativeTherapy,
    FunctionalScore,
)
from tpi_chart.ui.document import ProcedureDocument
from tpi_chart.ui.plain_errors import KNOWN_ERRORS
from tpi_chart.ui.workspace.widgets import section_label, show_from_start

NO_DATE = QDate(1900, 1, 1)  # the date edits' "not recorded" value (shown as blank text)


def _date_edit(name: str) -> QDateEdit:
    edit = QDateEdit()
    edit.setObjectName(name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(NO_DATE)
    edit.setSpecialValueText("—")
    edit.setDate(NO_DATE)
    return edit


def _day(edit: QDateEdit) -> date | None:
    value = edit.date()
    return None if value == NO_DATE else date(value.year(), value.month(), value.day())


def _set_day(edit: QDateEdit, value: date | None) -> None:
    edit.setDate(NO_DATE if value is None else QDate(value.year, value.month, value.day))


def _text(edit: QLineEdit) -> str | None:
    return edit.text().strip() or None


class _OwnKeys(QObject):
    """Enter and the arrows belong to the field that has the focus, not to the workspace's
    charting shortcuts (Enter injects, Up/Down step sites)."""

    KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Up, Qt.Key.Key_Down)
    CHORD = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Every event of every field passes here (about 500 while the workspace opens): the
        # chord is built once (PySide6 makes a Python enum for each `|`), not for each event.
        if event.type() != QEvent.Type.ShortcutOverride:
            return False
        if (
            isinstance(event, QKeyEvent)
            and (
                event.key() in self.KEYS
                # Space ticks the focused check box or presses the focused button; it injects
                # only when the focus is elsewhere.
                or (event.key() == Qt.Key.Key_Space and isinstance(watched, QAbstractButton))
            )
            and not event.modifiers() & self.CHORD
        ):
            event.accept()
            # An open list (a combo's popup) chooses on this very event: let it through.
            return not isinstance(watched, QAbstractItemView)
        return False


_OWN_KEYS: _OwnKeys | None = None


def keep_field_keys(widget: QWidget) -> None:
    """Let `widget` (a text field, spin box or date field) keep Enter and the arrow keys; a
    button or check box keeps Space too."""
    global _OWN_KEYS
    if _OWN_KEYS is None:
        _OWN_KEYS = _OwnKeys()
    widget.installEventFilter(_OWN_KEYS)


class DiagnosisPicker(QLineEdit):
    """Type a code or words of the descriptor; the matches show in the list under the field
    (no popup that grabs the keyboard). Up/Down choose, Enter adds; a click adds too."""

    picked = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("diagnosisPicker")
        self.setAccessibleName("Add a diagnosis")
        self.setPlaceholderText("Add a diagnosis: type a code or words (e.g. myalgia neck)")
        self.catalog = load_diagnoses()
        self.suggestions = QListWidget()
        self.suggestions.setObjectName("diagnosisSuggestions")
        self.suggestions.setMaximumHeight(120)
        self.suggestions.hide()
        self.suggestions.itemClicked.connect(lambda item: self._choose(item.text()))
        self.textEdited.connect(self._offer)
        self.returnPressed.connect(self._enter)

    def matches(self) -> list[str]:
        return [d.label for d in self.catalog.search(self.text())]

    def _offer(self, _text: str) -> None:
        self.suggestions.clear()
        found = self.matches()
        self.suggestions.addItems(found)
        self.suggestions.setVisible(bool(found))
        if found:
            self.suggestions.setCurrentRow(0)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.suggestions.count() and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            row = min(max(0, self.suggestions.currentRow() + step), self.suggestions.count() - 1)
            self.suggestions.setCurrentRow(row)
            return
        super().keyPressEvent(event)

    def _choose(self, label: str) -> None:
        self.picked.emit(label.split(" — ", 1)[0])
        self.clear()
        self.suggestions.clear()
        self.suggestions.hide()

    def _enter(self) -> None:
        item = self.suggestions.currentItem()
        if item is not None:
            self._choose(item.text())


class IndicationPanel(QScrollArea):
    """Diagnoses, coverage, indication, history, prior relief, functional score."""

    def __init__(
        self, document: ProcedureDocument, edit: Callable[[dict[str, Any], str], None]
    ) -> None:
        super().__init__()
        self.document = document
        self.edit = edit
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        # A third of a 1366 px screen: rows wrap, the tab never scrolls sideways.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 6)

        layout.addWidget(section_label("Diagnoses (ICD-10-CM)"))
        self.picker = DiagnosisPicker()
        self.picker.picked.connect(self._add_diagnosis)
        layout.addWidget(self.picker)
        layout.addWidget(self.picker.suggestions)
        self.diagnoses = QListWidget()
        self.diagnoses.setObjectName("diagnosisList")
        self.diagnoses.setAccessibleName("Diagnoses")
        self.diagnoses.setMaximumHeight(84)
        layout.addWidget(self.diagnoses)
        remove = QPushButton("Remove selected diagnosis")
        remove.setObjectName("removeDiagnosis")
        remove.clicked.connect(self._remove_diagnosis)
        layout.addWidget(remove, 0, Qt.AlignmentFlag.AlignLeft)

        form = QFormLayout()
        self.payer = QComboBox()
        self.payer.setObjectName("procedurePayer")
        self.payer.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.payer.setMinimumContentsLength(16)
        for payer in sorted(load_catalog().payers.values(), key=lambda p: p.id):
            self.payer.addItem(payer.name, payer.id)
        self.payer.activated.connect(
            lambda _i: self.edit({"payer_profile": self.payer.currentData()}, "Coverage")
        )
        form.addRow("Coverage", self.payer)
        self.indication = QLineEdit()
        self.indication.setObjectName("indicationText")
        self.indication.editingFinished.connect(
            lambda: self.edit({"indication": _text(self.indication)}, "Indication")
        )
        form.addRow("Indication", self.indication)
        layout.addLayout(form)

        layout.addWidget(section_label("History"))
        history = QFormLayout()
        self.onset = QLineEdit()
        self.onset.setObjectName("historyOnset")
        self.onset.setAccessibleName("Onset")
        self.onset.setPlaceholderText("e.g. gradual, after a fall")
        self.onset_date = _date_edit("historyOnsetDate")
        self.onset_date.setAccessibleName("Onset date")
        onset_row = QHBoxLayout()
        onset_row.addWidget(self.onset, 1)
        onset_row.addWidget(self.onset_date)
        history.addRow("Onset", onset_row)
        self.referral = QLineEdit()
        self.referral.setObjectName("historyReferral")
        history.addRow("Referral pattern", self.referral)
        self.therapy = QLineEdit()
        self.therapy.setObjectName("historyTherapy")
        self.therapy.setAccessibleName("Conservative therapy")
        self.therapy.setPlaceholderText("e.g. physical therapy")
        self.therapy_from = _date_edit("historyTherapyFrom")
        self.therapy_to = _date_edit("historyTherapyTo")
        self.therapy_from.setAccessibleName("Conservative therapy from")
        self.therapy_to.setAccessibleName("Conservative therapy to")
        self.therapy_response = QLineEdit()
        self.therapy_response.setObjectName("historyTherapyResponse")
        self.therapy_response.setAccessibleName("Conservative therapy response")
        self.therapy_response.setPlaceholderText("response")
        therapy_row = QHBoxLayout()
        therapy_row.addWidget(self.therapy, 1)
        therapy_row.addWidget(self.therapy_response, 1)
        dates_row = QHBoxLayout()
        dates_row.addWidget(QLabel("from"))
        dates_row.addWidget(self.therapy_from)
        dates_row.addWidget(QLabel("to"))
        dates_row.addWidget(self.therapy_to)
        add_therapy = QPushButton("Add")
        add_therapy.setObjectName("addTherapy")
        add_therapy.clicked.connect(self._add_therapy)
        self.therapy_response.returnPressed.connect(self._add_therapy)
        dates_row.addWidget(add_therapy)
        dates_row.addStretch(1)
        history.addRow("Conservative therapy", therapy_row)
        history.addRow("", dates_row)
        self.therapies = QLabel()
        self.therapies.setObjectName("therapyList")
        self.therapies.setWordWrap(True)
        history.addRow("", self.therapies)
        self.rehab = QLineEdit()
        self.rehab.setObjectName("historyRehab")
        self.rehab.setPlaceholderText("ongoing programme, e.g. home exercise")
        history.addRow("Rehabilitation", self.rehab)
        self.history_notes = QLineEdit()
        self.history_notes.setObjectName("historyNotes")
        history.addRow("Notes", self.history_notes)
        layout.addLayout(history)
        for widget in (self.onset, self.referral, self.rehab, self.history_notes):
            widget.editingFinished.connect(self._commit_history)
        self.onset_date.editingFinished.connect(self._commit_history)

        layout.addWidget(section_label("Relief after the previous session"))
        relief = QHBoxLayout()
        self.relief = QSpinBox()
        self.relief.setObjectName("priorReliefPercent")
        self.relief.setAccessibleName("Relief after the previous session, percent")
        self.relief.setRange(-1, 100)
        self.relief.setSpecialValueText("—")
        self.relief.setSuffix(" %")
        self.relief.setValue(-1)
        self.relief_weeks = QDoubleSpinBox()
        self.relief_weeks.setObjectName("priorReliefWeeks")
        self.relief_weeks.setAccessibleName("Relief after the previous session, weeks")
        self.relief_weeks.setRange(-1, 520)
        self.relief_weeks.setDecimals(0)
        self.relief_weeks.setSpecialValueText("—")
        self.relief_weeks.setSuffix(" weeks")
        self.relief_weeks.setValue(-1)
        self.relief_scale = QComboBox()
        self.relief_scale.setObjectName("priorReliefScale")
        self.relief_scale.setAccessibleName("Relief scale")
        self.relief_scale.addItem("NRS 0–10", "NRS")
        self.relief_scale.addItem("VAS 0–100 mm", "VAS")
        self.relief_date = _date_edit("priorReliefDate")
        self.relief_date.setAccessibleName("Relief measured on")
        relief.addWidget(self.relief)
        relief.addWidget(self.relief_weeks)
        relief.addWidget(self.relief_scale)
        relief.addStretch(1)
        layout.addLayout(relief)
        measured_row = QHBoxLayout()
        measured_row.addWidget(QLabel("measured on"))
        measured_row.addWidget(self.relief_date)
        measured_row.addStretch(1)
        layout.addLayout(measured_row)
        self.relief.editingFinished.connect(self._commit_relief)
        self.relief_weeks.editingFinished.connect(self._commit_relief)
        self.relief_date.editingFinished.connect(self._commit_relief)
        self.relief_scale.activated.connect(lambda _i: self._commit_relief())
        self.prior_hint = QLabel()
        self.prior_hint.setObjectName("priorReliefHint")
        self.prior_hint.setWordWrap(True)
        layout.addWidget(self.prior_hint)

        layout.addWidget(section_label("Functional scale"))
        functional = QHBoxLayout()
        self.scale = QComboBox()
        self.scale.setObjectName("functionalScale")
        self.scale.setAccessibleName("Functional scale")
        for value, text in (("NDI", "NDI (neck)"), ("ODI", "ODI (low back)"), ("other", "Other")):
            self.scale.addItem(text, value)
        self.scale_name = QLineEdit()
        self.scale_name.setObjectName("functionalName")
        self.scale_name.setAccessibleName("Functional scale name")
        self.scale_name.setPlaceholderText("name (other)")
        self.score = QDoubleSpinBox()
        self.score.setObjectName("functionalScore")
        self.score.setAccessibleName("Functional score")
        self.score.setRange(-1, 100)
        self.score.setDecimals(0)
        self.score.setSpecialValueText("—")
        self.score.setValue(-1)
        functional.addWidget(self.scale)
        functional.addWidget(self.scale_name)
        functional.addWidget(self.score)
        functional.addStretch(1)
        layout.addLayout(functional)
        self.score.editingFinished.connect(self._commit_functional)
        self.scale.activated.connect(lambda _i: self._commit_functional())
        self.scale_name.editingFinished.connect(self._commit_functional)
        layout.addStretch(1)
        self.setWidget(body)
        for field in body.findChildren(QLineEdit) + body.findChildren(QAbstractSpinBox):
            keep_field_keys(field)
        self._therapy_items: tuple[ConservativeTherapy, ...] = ()
        self._fields_enabled: bool | None = None  # as last set on every field

    # -- showing -----------------------------------------------------------------------------

    def refresh(self) -> None:
        p = self.document.procedure
        if p is None:
            return
        listed = [
            self.diagnoses.item(row).data(Qt.ItemDataRole.UserRole)
            for row in range(self.diagnoses.count())
        ]
        # Refilled only when the codes changed (not after every click on the diagram): a refill
        # lays out and repaints the list and drops the row the user had selected.
        if listed != list(p.diagnoses):
            names = load_diagnoses()
            self.diagnoses.clear()
            for code in p.diagnoses:
                item = QListWidgetItem(names.label(code))
                item.setData(Qt.ItemDataRole.UserRole, code)
                self.diagnoses.addItem(item)
        self.payer.setCurrentIndex(max(0, self.payer.findData(p.payer_profile)))
        if not self.indication.hasFocus():
            show_from_start(self.indication, p.indication or "")
        h = p.history or ClinicalHistory()
        for edit, value in (
            (self.onset, h.onset),
            (self.referral, h.referral_pattern),
            (self.rehab, h.rehab_program),
            (self.history_notes, h.notes),
        ):
            if not edit.hasFocus():
                show_from_start(edit, value or "")
        _set_day(self.onset_date, h.onset_date)
        self._therapy_items = h.conservative_therapy
        self.therapies.setText(
            "\n".join(
                f"• {t.therapy}"
                + (f" ({t.started or '?'} to {t.ended or 'now'})" if t.started or t.ended else "")
                + (f": {t.response}" if t.response else "")
                for t in h.conservative_therapy
            )
            or "None recorded"
        )
        self.relief.setValue(-1 if p.prior_relief_percent is None else p.prior_relief_percent)
        self.relief_weeks.setValue(-1 if p.prior_relief_weeks is None else p.prior_relief_weeks)
        self.relief_scale.setCurrentIndex(max(0, self.relief_scale.findData(p.prior_relief_scale)))
        _set_day(self.relief_date, p.prior_relief_measured_on)
        score = p.functional_scores[-1] if p.functional_scores else None
        if score is not None:
            self.scale.setCurrentIndex(max(0, self.scale.findData(score.scale)))
            self.scale_name.setText(score.name or "")
            self.score.setValue(score.score)
        else:
            self.score.setValue(-1)
        self.prior_hint.setText(self._prior_hint())
        enabled = not self.document.read_only
        if enabled == self._fields_enabled:
            return
        self._fields_enabled = enabled
        body = self.widget()
        for widget in body.findChildren(QWidget) if body is not None else []:
            if isinstance(widget, QLineEdit | QComboBox | QSpinBox | QDoubleSpinBox | QPushButton):
                widget.setEnabled(enabled)

    def _prior_hint(self) -> str:
        try:
            priors = self.document.document().prior_procedures
        except KNOWN_ERRORS:  # the hint is a convenience; the rules panel shows the real state
            return ""
        if not priors:
            return "No earlier session: this is an initial session."
        latest = max(priors, key=lambda prior: prior.performed_at)
        day = latest.performed_at.date().isoformat()
        if latest.relief_percent is None:
            return f"Previous session {day}: no follow-up relief recorded yet."
        measured = latest.relief_measured_on.isoformat() if latest.relief_measured_on else "?"
        return (
            f"Previous session {day}: follow-up {latest.relief_percent} % on "
            f"{latest.relief_scale or '?'}, measured {measured} (used unless entered here)."
        )

    # -- committing --------------------------------------------------------------------------

    def _add_diagnosis(self, code: str) -> None:
        p = self.document.procedure
        if p is None or code in p.diagnoses:
            return
        self.edit({"diagnoses": (*p.diagnoses, code)}, "Diagnosis")

    def _remove_diagnosis(self) -> None:
        p = self.document.procedure
        item = self.diagnoses.currentItem()
        if p is None or item is None:
            return
        code = item.data(Qt.ItemDataRole.UserRole)
        self.edit({"diagnoses": tuple(c for c in p.diagnoses if c != code)}, "Diagnosis")

    def _history(self, therapies: tuple[ConservativeTherapy, ...]) -> ClinicalHistory | None:
        history = ClinicalHistory(
            onset=_text(self.onset),
            onset_date=_day(self.onset_date),
            referral_pattern=_text(self.referral),
            conservative_therapy=therapies,
            rehab_program=_text(self.rehab),
            notes=_text(self.history_notes),
        )
        return None if history == ClinicalHistory() else history

    def _commit_history(self) -> None:
        self.edit({"history": self._history(self._therapy_items)}, "History")

    def _add_therapy(self) -> None:
        name = _text(self.therapy)
        if name is None:
            return
        item = ConservativeTherapy(
            therapy=name,
            started=_day(self.therapy_from),
            ended=_day(self.therapy_to),
            response=_text(self.therapy_response),
        )
        self.edit({"history": self._history((*self._therapy_items, item))}, "Therapy")
        for edit in (self.therapy, self.therapy_response):
            edit.clear()
        _set_day(self.therapy_from, None)
        _set_day(self.therapy_to, None)

    def _commit_relief(self) -> None:
        percent = self.relief.value()
        if percent < 0:
            changes: dict[str, Any] = {
                "prior_relief_percent": None,
                "prior_relief_weeks": None,
                "prior_relief_scale": None,
                "prior_relief_measured_on": None,
            }
        else:
            weeks = self.relief_weeks.value()
            measured = _day(self.relief_date)
            p = self.document.procedure
            if measured is None and p is not None:
                # Entered at this visit: measured today unless another date is given.
                measured = p.performed_at.date()
            changes = {
                "prior_relief_percent": percent,
                "prior_relief_weeks": None if weeks < 0 else weeks,
                "prior_relief_scale": self.relief_scale.currentData(),
                "prior_relief_measured_on": measured,
            }
        self.edit(changes, "Prior relief")

    def _commit_functional(self) -> None:
        p = self.document.procedure
        if p is None:
            return
        value = self.score.value()
        if value < 0:
            scores: tuple[FunctionalScore, ...] = ()
        else:
            scale = self.scale.currentData()
            name = _text(self.scale_name) if scale == "other" else None
            if scale == "other" and name is None:
                return  # waits for the name; the field says so
            scores = (
                FunctionalScore(
                    scale=scale, name=name, score=value, measured_on=p.performed_at.date()
                ),
            )
        self.edit({"functional_scores": scores}, "Functional scale")
