"""Create / edit a patient. Problems appear next to their field; nothing is stored on error."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.errors import InvalidInput, describe_validation_error
from tpi_chart.domain.models import Patient
from tpi_chart.domain.units import WEIGHT_UNITS, WeightUnit, from_kg, weight_problem
from tpi_chart.services.errors import StaleEdit
from tpi_chart.ui.plain_errors import KNOWN_ERRORS, plain_all, user_message
from tpi_chart.ui.style import repolish

FIELDS = (
    "family_name",
    "given_name",
    "mrn",
    "birth_date",
    "sex",
    "weight_kg",
    "allergies",
    "no_known_allergies",
    "anticoagulated",
    "anticoagulant",
    "pregnant",
    "payer_profile",
    "member_id",
    "phone",
)


def birth_date_problem(text: str) -> str | None:
    """What is wrong with a typed date of birth, in words; None when it is a real past date."""
    if not text:
        return "required (YYYY-MM-DD)"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return f"'{text}' is not a date; type it as YYYY-MM-DD, e.g. 1974-05-12"
    if day > date.today():
        return "is in the future"
    if day.year < 1900:
        return "is before 1900"
    return None


class PatientForm(QGroupBox):
    """Emits `saved(patient_id)` after the service stored the patient."""

    saved = Signal(int)
    cancelled = Signal()

    def __init__(
        self, patients: Any, parent: QWidget | None = None, *, weight_unit: WeightUnit = "kg"
    ) -> None:
        super().__init__("Patient details", parent)
        self.setObjectName("patientForm")
        self.patients = patients
        self.patient_id: int | None = None
        self.base: Any = None  # the StoredPatient being edited: a stale save is refused
        outer = QVBoxLayout(self)
        form = QFormLayout()
        form.setVerticalSpacing(2)
        self.widgets: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}

        self.family_name = QLineEdit()
        self.given_name = QLineEdit()
        self.mrn = QLineEdit()
        # Typed, not a date spinner: a spinner starts on a plausible date that gets stored when
        # nobody changes it, and silently refuses a date it does not allow.
        self.birth_date = QLineEdit()
        self.birth_date.setPlaceholderText("YYYY-MM-DD, e.g. 1974-05-12")
        self.sex = QComboBox()
        for value in ("female", "male", "other", "unknown"):
            self.sex.addItem(value.capitalize(), value)
        # Typed, with its unit beside it: a spin box clamps (1000 became 100.0) and knows one
        # unit. Stored in kg whatever the unit; a value out of range is refused in words.
        self.weight_kg = QLineEdit()
        self.weight_kg.setPlaceholderText("empty = not recorded")
        self.weight_kg.setAccessibleName("Weight")
        self.weight_unit = QComboBox()
        self.weight_unit.setObjectName("patient_weight_unit")
        self.weight_unit.setAccessibleName("Weight unit")
        for unit in WEIGHT_UNITS:
            self.weight_unit.addItem(unit, unit)
        self.weight_unit.setCurrentIndex(max(0, self.weight_unit.findData(weight_unit)))
        self.default_weight_unit: WeightUnit = weight_unit
        self.allergies = QLineEdit()
        self.allergies.setPlaceholderText(
            "comma-separated, e.g. sulfonamides, latex (empty = none known)"
        )
        self.no_known_allergies = QCheckBox("No known allergies")
        self.no_known_allergies.setToolTip(
            "Tick when the patient has no known allergies; leave both empty when not asked yet"
        )
        self.anticoagulated = QCheckBox("Anticoagulated")
        self.anticoagulant = QLineEdit()
        self.anticoagulant.setPlaceholderText("agent, e.g. apixaban")
        self.pregnant = QComboBox()
        self.pregnant.addItem("Not recorded", None)
        self.pregnant.addItem("Not pregnant", False)
        self.pregnant.addItem("Pregnant", True)
        # Coverage: carried into each new procedure (which may change it for that visit).
        self.payer_profile = QComboBox()
        self.payer_profile.addItem("Not recorded", None)
        for payer in sorted(load_catalog().payers.values(), key=lambda payer: payer.id):
            self.payer_profile.addItem(payer.name, payer.id)
        self.member_id = QLineEdit()
        self.member_id.setPlaceholderText("optional")
        self.phone = QLineEdit()
        self.phone.setPlaceholderText("optional, e.g. (555) 010-2030")
        labels = {
            "payer_profile": "Coverage",
            "member_id": "Member id",
            "phone": "Phone",
            "family_name": "Family name",
            "given_name": "Given name",
            "mrn": "MRN",
            "birth_date": "Date of birth",
            "sex": "Sex",
            "weight_kg": "Weight",
            "allergies": "Allergies",
            "no_known_allergies": "",
            "anticoagulated": "Anticoagulation",
            "anticoagulant": "Anticoagulant",
            "pregnant": "Pregnancy",
        }
        for name in FIELDS:
            widget = getattr(self, name)
            widget.setObjectName(f"patient_{name}")
            self.widgets[name] = widget
            error = QLabel()
            error.setObjectName(f"error_{name}")
            error.setProperty("role", "error")
            error.setWordWrap(True)
            error.hide()
            self.errors[name] = error
            holder = QWidget()
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(0)
            if name == "weight_kg":
                line = QHBoxLayout()
                line.setContentsMargins(0, 0, 0, 0)
                line.addWidget(widget, 1)
                line.addWidget(self.weight_unit)
                column.addLayout(line)
            else:
                column.addWidget(widget)
            if not widget.accessibleName():
                widget.setAccessibleName(labels[name] or widget.text())
            column.addWidget(error)
            form.addRow(labels[name], holder)
        outer.addLayout(form)
        self.general_error = QLabel()
        self.general_error.setProperty("role", "error")
        self.general_error.setWordWrap(True)
        self.general_error.hide()
        outer.addWidget(self.general_error)
        # Shown when the patient was saved elsewhere after this form was filled: nothing was
        # overwritten; Reload shows the stored record (the typed changes are to be made again).
        self.reload_button = QPushButton("Reload")
        self.reload_button.setObjectName("reloadPatient")
        self.reload_button.clicked.connect(self.reload)
        self.reload_button.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reload_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancelled)
        self.save_button = QPushButton("Save patient")
        self.save_button.setObjectName("savePatient")
        self.save_button.setProperty("role", "primary")
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)

    def edit(self, patient_id: int | None, patient: Patient | None, base: Any = None) -> None:
        """Fill the form; `base` is the StoredPatient the patient came from (its version makes a
        save from this copy refuse to overwrite a newer one)."""
        self.patient_id = patient_id
        self.base = base
        self.clear_errors()
        self.setTitle("Edit patient" if patient_id is not None else "New patient")
        p = patient
        self.family_name.setText(p.family_name if p else "")
        self.given_name.setText(p.given_name if p else "")
        self.mrn.setText(p.mrn if p else "")
        self.birth_date.setText(p.birth_date.isoformat() if p else "")
        self.sex.setCurrentIndex(max(0, self.sex.findData(p.sex if p else "unknown")))
        self.weight_unit.setCurrentIndex(
            max(0, self.weight_unit.findData(self.default_weight_unit))
        )
        weight = p.weight_kg if p else None
        self.weight_kg.setText(
            "" if weight is None else f"{from_kg(weight, self.default_weight_unit):.1f}"
        )
        self.allergies.setText(", ".join(p.allergies) if p else "")
        self.no_known_allergies.setChecked(bool(p and p.no_known_allergies))
        self.anticoagulated.setChecked(bool(p and p.anticoagulated))
        self.anticoagulant.setText((p.anticoagulant or "") if p else "")
        index = self.pregnant.findData(p.pregnant) if p and p.pregnant is not None else 0
        self.pregnant.setCurrentIndex(max(0, index))
        payer = p.payer_profile if p else None
        self.payer_profile.setCurrentIndex(max(0, self.payer_profile.findData(payer)))
        self.member_id.setText((p.member_id or "") if p else "")
        self.phone.setText((p.phone or "") if p else "")

    def value(self) -> dict[str, Any]:
        allergies = tuple(a.strip() for a in self.allergies.text().split(",") if a.strip())
        return {
            "family_name": self.family_name.text(),
            "given_name": self.given_name.text(),
            "mrn": self.mrn.text().strip(),
            "birth_date": self.birth_date.text().strip(),
            "sex": self.sex.currentData(),
            "weight_kg": self.weight_kg.text(),
            "allergies": allergies,
            "no_known_allergies": self.no_known_allergies.isChecked(),
            "anticoagulated": self.anticoagulated.isChecked(),
            "anticoagulant": self.anticoagulant.text().strip() or None,
            "pregnant": self.pregnant.currentData(),
            "payer_profile": self.payer_profile.currentData(),
            "member_id": self.member_id.text().strip() or None,
            "phone": self.phone.text().strip() or None,
        }

    def clear_errors(self) -> None:
        for name, label in self.errors.items():
            label.hide()
            label.setText("")
            self.widgets[name].setProperty("invalid", False)
            repolish(self.widgets[name])
        self.general_error.hide()
        self.reload_button.hide()

    def reload(self) -> None:
        """Show the patient as stored now (after a save was refused as stale)."""
        if self.patient_id is None:
            return
        stored = self.patients.get(self.patient_id)
        self.edit(self.patient_id, stored.patient, stored)

    def show_problems(self, problems: list[str] | tuple[str, ...]) -> None:
        self.clear_errors()
        general: list[str] = []
        for problem in plain_all(problems):
            field = problem.field
            if field in self.errors:
                label = self.errors[field]
                text = problem.sentence
                label.setText((label.text() + "\n" if label.text() else "") + text)
                label.show()
                self.widgets[field].setProperty("invalid", True)
                repolish(self.widgets[field])
            else:
                general.append(problem.sentence)
        if general:
            self.general_error.setText("\n".join(general))
            self.general_error.show()

    def save(self) -> bool:
        value = self.value()
        birth_problem = birth_date_problem(value["birth_date"])
        unit = self.weight_unit.currentData()
        value["weight_kg"], weight_problem_text = weight_problem(value["weight_kg"], unit)
        own = [f"patient.birth_date: {birth_problem}"] if birth_problem else []
        if weight_problem_text:
            own.append(f"patient.weight_kg: {weight_problem_text}")
        try:
            patient = Patient.model_validate(value)
        except ValidationError as error:
            problems = describe_validation_error(error, "patient.")
            if birth_problem is not None:
                problems = [p for p in problems if not p.startswith("patient.birth_date")]
            self.show_problems(problems + own)
            return False
        if own:
            self.show_problems(own)
            return False
        try:
            if self.patient_id is None:
                stored = self.patients.create(patient)
            elif self.base is not None:
                stored = self.patients.update(self.patient_id, patient, base=self.base)
            else:
                stored = self.patients.update(self.patient_id, patient)
        except StaleEdit as error:
            self.show_problems([str(error)])
            self.reload_button.show()
            return False
        except InvalidInput as error:
            self.show_problems(error.problems)
            return False
        except KNOWN_ERRORS as error:  # a refusal or storage problem: shown in place
            self.show_problems([user_message(error)])
            return False
        self.clear_errors()
        self.patient_id = int(stored.id)
        self.base = stored
        self.saved.emit(self.patient_id)
        return True
