"""Clinic settings, for an administrator: the clinic's name and phone (printed on every note and
handout), the export folder, the note's page size and the idle-lock minutes, and this
workstation's room (kept on this computer, not in the clinic's records); on a second tab, what
must be documented before a note can be signed (the Sign tab and signing read it).

Everything is stored through `SettingsService.update`, which checks every field first; its
`settings.<field>: …` lines are shown under the field they name, and nothing is stored then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.errors import DomainError, InvalidInput
from tpi_chart.domain.signing import DEFAULT_REQUIRED, NOTE_FIELDS
from tpi_chart.services.context import (
    FULL_CHECK_RANGE,
    IDLE_LOCK_RANGE,
    SettingsService,
    default_export_folder,
)
from tpi_chart.services.doctor import check_clinic_folder
from tpi_chart.services.interop import FORMAT_LABELS
from tpi_chart.services.live import ROOM_MAX, workstation_room
from tpi_chart.ui.live import KEY_ROOM, saved_room
from tpi_chart.ui.plain_errors import plain_all
from tpi_chart.ui.style import DANGER

OUTBOX_FORMAT_LABELS = {"pdf": "PDF note", "json": "JSON", "fhir": "FHIR R4", "hl7": "HL7 v2"}

PAGE_SIZE_LABELS = {"letter": "Letter (8.5 × 11 in)", "a4": "A4 (210 × 297 mm)"}

#: Fields that are required only where they apply (domain.signing): said beside their box.
REQUIRED_WHEN = {
    "prior_relief": "repeat sessions under a payer with repeat criteria",
    "functional_score": "repeat sessions under a payer with repeat criteria",
}


class SettingsDialog(QDialog):
    def __init__(
        self, settings: SettingsService, parent: QWidget | None = None, interop: Any = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Clinic settings")
        self.setMinimumWidth(640)
        self._settings = settings

        self.clinic_name = QLineEdit(settings.clinic_name())
        self.clinic_name.setAccessibleName("Clinic name")
        self.clinic_phone = QLineEdit(settings.clinic_phone())
        self.clinic_phone.setAccessibleName("Clinic phone")
        self.clinic_phone.setPlaceholderText("e.g. (555) 010-2030 — leave empty for none")

        default_folder = default_export_folder()
        folder = settings.export_folder()
        self.export_folder = QLineEdit("" if folder == default_folder else str(folder))
        self.export_folder.setAccessibleName("Export folder")
        self.export_folder.setPlaceholderText(f"{default_folder} (default)")
        self.choose_button = QPushButton("Choose…")
        self.choose_button.setToolTip("Pick the folder signed notes are written to")
        folder_row = QHBoxLayout()
        folder_row.setContentsMargins(0, 0, 0, 0)
        folder_row.addWidget(self.export_folder, 1)
        folder_row.addWidget(self.choose_button)

        self.page_size = QComboBox()
        self.page_size.setAccessibleName("Page size")
        for value, label in PAGE_SIZE_LABELS.items():
            self.page_size.addItem(label, value)
        self.page_size.setCurrentIndex(max(0, self.page_size.findData(settings.page_size())))

        low, high = IDLE_LOCK_RANGE
        self.idle_lock_minutes = QSpinBox()
        self.idle_lock_minutes.setAccessibleName("Lock after idle minutes")
        self.idle_lock_minutes.setRange(low, high)
        self.idle_lock_minutes.setSuffix(" min")
        self.idle_lock_minutes.setValue(settings.idle_lock_minutes())

        low, high = FULL_CHECK_RANGE
        self.full_check_days = QSpinBox()
        self.full_check_days.setObjectName("fullCheckDays")
        self.full_check_days.setAccessibleName("Days between whole-file integrity checks")
        self.full_check_days.setToolTip(
            "A large database is read whole in the background after start-up, this often"
        )
        self.full_check_days.setRange(low, high)
        self.full_check_days.setSuffix(" days")
        self.full_check_days.setValue(settings.full_check_days())

        self.weight_unit = QComboBox()
        self.weight_unit.setAccessibleName("Weight unit")
        self.weight_unit.setToolTip("Weights are typed and shown in this unit; stored in kg")
        for value, label in (("kg", "Kilograms (kg)"), ("lb", "Pounds (lb)")):
            self.weight_unit.addItem(label, value)
        self.weight_unit.setCurrentIndex(max(0, self.weight_unit.findData(settings.weight_unit())))
        # What signing sends to the export folder (the outbox, tpi_chart.services.interop).
        self._interop = interop
        self.outbox_formats: dict[str, QCheckBox] = {}
        formats_row = QHBoxLayout()
        formats_row.setContentsMargins(0, 0, 0, 0)
        chosen = interop.outbox_formats() if interop is not None else ()
        for fmt, label in OUTBOX_FORMAT_LABELS.items():
            box = QCheckBox(label)
            box.setObjectName(f"outbox_{fmt}")
            box.setChecked(fmt in chosen)
            box.setToolTip(FORMAT_LABELS[fmt])
            self.outbox_formats[fmt] = box
            formats_row.addWidget(box)
        formats_row.addStretch(1)

        # A setting of this computer, not of the clinic: each room names itself.
        self.room = QLineEdit(saved_room() or "")
        self.room.setObjectName("workstationRoom")
        self.room.setAccessibleName("This workstation's room")
        self.room.setMaxLength(ROOM_MAX)
        self.room.setPlaceholderText(f"{workstation_room()} (default)")
        self.room.setToolTip(
            'What the other rooms see while a procedure is open here ("Open in Room 2 by …"); '
            "saved on this computer only"
        )

        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        rows: list[tuple[str, str, Any]] = [
            ("clinic_name", "Clinic name", self.clinic_name),
            ("clinic_phone", "Phone", self.clinic_phone),
            ("export_folder", "Export folder", folder_row),
            ("outbox_formats", "On signing, file", formats_row),
            ("page_size", "Note page size", self.page_size),
            ("idle_lock_minutes", "Lock when idle for", self.idle_lock_minutes),
            ("weight_unit", "Weight unit", self.weight_unit),
            ("full_check_days", "Whole-file check every", self.full_check_days),
            ("room", "This workstation's room", self.room),
        ]
        for field, label, editor in rows:
            form.addRow(label, self._with_error(field, editor))
        # Read-only: the clinic's own payer profiles and maxima are files IT manages
        # (`tpi-chart catalog check`), shown here so the administrator knows which are in force.
        clinic = check_clinic_folder()
        self.clinic_folder = QLabel(clinic.detail)
        self.clinic_folder.setObjectName("clinicFolder")
        self.clinic_folder.setWordWrap(True)
        self.clinic_folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if clinic.status == "attention":
            self.clinic_folder.setStyleSheet(f"color: {DANGER};")
        form.addRow("Clinic folder", self.clinic_folder)

        self.message = QLabel("")  # problems that name no field here (e.g. not allowed)
        self.message.setObjectName("settingsMessage")
        self.message.setStyleSheet(f"color: {DANGER};")
        self.message.setWordWrap(True)
        self.message.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        hint = QLabel(
            "The clinic name and phone head every procedure note and aftercare handout. "
            "Signed notes are filed in the export folder."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #56636f;")
        clinic_page = QWidget()
        clinic_layout = QVBoxLayout(clinic_page)
        clinic_layout.addWidget(hint)
        clinic_layout.addLayout(form)
        clinic_layout.addStretch(1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settingsTabs")
        self.tabs.addTab(clinic_page, "Clinic")
        self.tabs.addTab(self._build_required(settings.required_to_sign()), "Required to sign")
        self.tabs.setTabToolTip(1, "What must be documented before a note can be signed")
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self.choose_button.clicked.connect(self.choose_folder)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

    def _build_required(self, required: frozenset[str]) -> QWidget:
        """One box per field the note prints, in the note's order: ticked = signing is refused
        until it is documented."""
        page = QWidget()
        column = QVBoxLayout(page)
        intro = QLabel(
            "Signing is refused until every ticked field is documented. The note prints the "
            "others as \u201cNot documented\u201d when they are empty."
        )
        intro.setWordWrap(True)
        column.addWidget(intro)
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(4)
        self.required: dict[str, QCheckBox] = {}
        half = (len(NOTE_FIELDS) + 1) // 2
        for index, field in enumerate(NOTE_FIELDS):
            box = QCheckBox(field.label)
            box.setObjectName(f"required_{field.key}")
            box.setChecked(field.key in required)
            when = REQUIRED_WHEN.get(field.key)
            box.setToolTip(f"{field.label}: {field.message}" + (f" (only {when})" if when else ""))
            if when:
                box.setText(f"{field.label} \u2020")
            self.required[field.key] = box
            grid.addWidget(box, index % half, index // half)
        column.addLayout(grid)
        footnote = QLabel(
            "\u2020 Required only for a repeat session under a payer with repeat criteria "
            "(e.g. Medicare 2024). A site's muscle, volume and syringe and at least one "
            "injected site are always required."
        )
        footnote.setWordWrap(True)
        footnote.setProperty("role", "muted")
        column.addWidget(footnote)
        self.required_defaults = QPushButton("Clinic defaults")
        self.required_defaults.setObjectName("requiredDefaults")
        self.required_defaults.setToolTip("Tick exactly the fields TPI Chart requires by default")
        self.required_defaults.clicked.connect(self.restore_required_defaults)
        row = QHBoxLayout()
        row.addWidget(self.required_defaults)
        row.addStretch(1)
        column.addLayout(row)
        error = QLabel("")
        error.setObjectName("required_to_signError")
        error.setStyleSheet(f"color: {DANGER};")
        error.setWordWrap(True)
        error.hide()
        self.errors["required_to_sign"] = error
        column.addWidget(error)
        column.addStretch(1)
        return page

    def restore_required_defaults(self) -> None:
        for key, box in self.required.items():
            box.setChecked(key in DEFAULT_REQUIRED)

    def required_keys(self) -> frozenset[str]:
        return frozenset(key for key, box in self.required.items() if box.isChecked())

    def _with_error(self, field: str, editor: QWidget | QHBoxLayout) -> QWidget:
        error = QLabel("")
        error.setObjectName(f"{field}Error")
        error.setProperty("role", "error")
        error.setStyleSheet(f"color: {DANGER};")
        error.setWordWrap(True)
        error.hide()
        self.errors[field] = error
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        if isinstance(editor, QHBoxLayout):
            column.addLayout(editor)
        else:
            column.addWidget(editor)
        column.addWidget(error)
        return holder

    # -- actions -------------------------------------------------------------------------------

    def choose_folder(self) -> None:
        start = self.export_folder.text().strip() or str(default_export_folder())
        chosen = QFileDialog.getExistingDirectory(self, "Export folder for notes", start)
        if chosen:
            self.export_folder.setText(chosen)

    def save(self) -> None:
        """Store every field, or none: on bad input each problem shows under its field."""
        for label in (*self.errors.values(), self.message):
            label.clear()
            label.hide()
        self._fit()
        folder_text = self.export_folder.text().strip()
        try:
            self._settings.update(
                clinic_name=self.clinic_name.text(),
                clinic_phone=self.clinic_phone.text(),
                export_folder=Path(folder_text).expanduser() if folder_text else None,
                page_size=str(self.page_size.currentData()),
                idle_lock_minutes=self.idle_lock_minutes.value(),
                weight_unit=str(self.weight_unit.currentData()),
                full_check_days=self.full_check_days.value(),
                required_to_sign=self.required_keys(),
            )
            if self._interop is not None:
                self._interop.set_outbox_formats(
                    [fmt for fmt, box in self.outbox_formats.items() if box.isChecked()]
                )
        except InvalidInput as error:
            self.show_problems(error.problems)
            return
        except DomainError as error:  # not allowed, or the database refused
            self._show(self.message, str(error))
            return
        QSettings().setValue(KEY_ROOM, self.room.text().strip())
        self.accept()

    def show_problems(self, problems: list[str]) -> None:
        unplaced: list[str] = []
        for problem in plain_all(problems):
            label = self.errors.get(problem.field)
            if label is None:
                unplaced.append(problem.sentence)
            else:
                self._show(label, problem.sentence)
        if unplaced:
            self._show(self.message, "\n".join(unplaced))
        self._fit()

    def _fit(self) -> None:
        """Grow (or shrink back) so every shown error line is readable, keeping the width."""
        layout = self.layout()
        layout.activate()
        self.resize(self.width(), layout.totalHeightForWidth(self.width()))

    @staticmethod
    def _show(label: QLabel, text: str) -> None:
        label.setText(f"{label.text()}\n{text}" if label.text() else text)
        label.show()

    @classmethod
    def ask(cls, services: Any, parent: QWidget | None = None) -> bool:
        """Show the dialog; True when the settings were saved."""
        interop = getattr(services, "interop", None)
        saved = cls(services.settings, parent, interop).exec() == QDialog.DialogCode.Accepted
        if saved:  # the next lease this window takes names the room as now saved
            services.live.room = workstation_room(services.room, saved_room())
        return saved
