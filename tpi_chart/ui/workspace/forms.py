"""Checklist (consent, safety screen, time-out, position, prep, needle, technique) and outcome
(complications, tolerance, aftercare). Each control commits its field as soon as it changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, get_args

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.models import (
    Complication,
    Consent,
    ImageGuidance,
    Needle,
    Position,
    SafetyScreen,
    SkinPrep,
    TechniqueStep,
    Tolerance,
)
from tpi_chart.ui.document import ProcedureDocument
from tpi_chart.ui.workspace.indication_panel import keep_field_keys
from tpi_chart.ui.workspace.widgets import section_label, show_from_start

SAFETY_ITEMS = (
    ("anticoagulation_reviewed", "Anticoagulation reviewed"),
    ("bleeding_disorder_excluded", "No bleeding disorder"),
    ("infection_at_site_excluded", "No infection at the sites"),
    ("allergies_reviewed", "Allergies reviewed"),
    ("pregnancy_reviewed", "Pregnancy reviewed"),
    ("prior_reaction_reviewed", "No prior reaction"),
)
NEEDLES = ((25, 1.5), (25, 1.0), (27, 1.25), (22, 1.5), (21, 2.0))


def _pretty(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _combo(values: tuple[str, ...], empty: str = "—") -> QComboBox:
    combo = QComboBox()
    combo.addItem(empty, None)
    for value in values:
        combo.addItem(_pretty(value), value)
    return combo


def _scroll(inner: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(inner)
    return area


class ChecklistPanel(QScrollArea):
    """Before the first needle: consent, safety screen, time-out, position, prep, needle…"""

    timeout_requested = Signal()

    def __init__(
        self, document: ProcedureDocument, edit: Callable[[dict[str, Any], str], None]
    ) -> None:
        super().__init__()
        self.document = document
        self.edit = edit
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 6)

        layout.addWidget(section_label("Time-out"))
        row = QHBoxLayout()
        self.timeout_button = QPushButton("Time-out…  (Ctrl+T)")
        self.timeout_button.setObjectName("timeoutButton")
        self.timeout_button.setProperty("role", "primary")
        self.timeout_button.setToolTip(
            "Shows the time-out elements (patient, procedure, sites and sides, consent, position, "
            "allergies and anticoagulation, site marking) to confirm with one key (Ctrl+T)"
        )
        self.timeout_button.clicked.connect(self.timeout_requested)
        self.timeout_label = QLabel("Not done")
        self.timeout_label.setObjectName("timeoutLabel")
        # "✓ Dr. Alex Chen, MD at 09:41" wraps instead of pushing the tab into sideways scrolling.
        self.timeout_label.setWordWrap(True)
        row.addWidget(self.timeout_button)
        row.addWidget(self.timeout_label, 1)
        layout.addLayout(row)

        layout.addWidget(section_label("Consent"))
        consent_row = QHBoxLayout()
        self.consent = QCheckBox("Consent obtained")
        self.consent.setObjectName("consentCheck")
        self.consent_method = _combo(("written", "verbal"))
        self.consent_method.setAccessibleName("Consent method")
        consent_row.addWidget(self.consent)
        consent_row.addWidget(self.consent_method)
        consent_row.addStretch(1)
        layout.addLayout(consent_row)
        self.consent.clicked.connect(lambda _c: self._commit_consent())
        self.consent_method.activated.connect(lambda _i: self._commit_consent())

        layout.addWidget(section_label("Safety screen"))
        grid = QGridLayout()
        self.safety: dict[str, QCheckBox] = {}
        for index, (key, text) in enumerate(SAFETY_ITEMS):
            box = QCheckBox(text)
            box.clicked.connect(lambda _c: self._commit_safety())
            self.safety[key] = box
            grid.addWidget(box, index // 2, index % 2)
        layout.addLayout(grid)

        layout.addWidget(section_label("Procedure"))
        form = QFormLayout()
        self.position = _combo(get_args(Position))
        self.skin_prep = _combo(get_args(SkinPrep))
        self.needle = QComboBox()
        self.needle.addItem("—", None)
        for gauge, length in NEEDLES:
            self.needle.addItem(str(Needle(gauge=gauge, length_in=length)), (gauge, length))
        form.addRow("Position", self.position)
        form.addRow("Skin prep", self.skin_prep)
        form.addRow("Needle", self.needle)
        # Recorded so the coverage rules can see it (the 2024 LCDs exclude image guidance).
        self.image_guidance = QComboBox()
        self.image_guidance.setObjectName("imageGuidance")
        self.image_guidance.setAccessibleName("Image guidance")
        for value in get_args(ImageGuidance):
            self.image_guidance.addItem(_pretty(value), value)
        form.addRow("Image guidance", self.image_guidance)
        layout.addLayout(form)
        self.image_guidance.activated.connect(
            lambda _i: self.edit(
                {"image_guidance": self.image_guidance.currentData()}, "Image guidance"
            )
        )
        self.position.activated.connect(
            lambda _i: self.edit({"position": self.position.currentData()}, "Position")
        )
        self.skin_prep.activated.connect(
            lambda _i: self.edit({"skin_prep": self.skin_prep.currentData()}, "Skin prep")
        )
        self.needle.activated.connect(lambda _i: self._commit_needle())

        layout.addWidget(section_label("Technique"))
        tech = QGridLayout()
        self.technique: dict[str, QCheckBox] = {}
        for index, step in enumerate(get_args(TechniqueStep)):
            box = QCheckBox(_pretty(step))
            box.clicked.connect(lambda _c: self._commit_technique())
            self.technique[step] = box
            tech.addWidget(box, index // 2, index % 2)
        layout.addLayout(tech)
        layout.addStretch(1)
        self.setWidget(body)

    def refresh(self) -> None:
        p = self.document.procedure
        if p is None:
            return
        if p.time_out is not None:
            local = p.time_out.at.astimezone()
            marked = {True: "sites marked", False: "sites not marked", None: ""}[
                p.time_out.site_marked
            ]
            self.timeout_label.setText(
                f"✓ {p.time_out.performed_by} at {local:%H:%M}" + (f" · {marked}" if marked else "")
            )
        else:
            self.timeout_label.setText("Not done")
        self.consent.setChecked(bool(p.consent and p.consent.obtained))
        method = p.consent.method if p.consent else None
        self.consent_method.setCurrentIndex(max(0, self.consent_method.findData(method)))
        screen = p.safety_screen or SafetyScreen()
        for key, box in self.safety.items():
            box.setChecked(bool(getattr(screen, key)))
        self.position.setCurrentIndex(max(0, self.position.findData(p.position)))
        self.skin_prep.setCurrentIndex(max(0, self.skin_prep.findData(p.skin_prep)))
        needle = (p.needle.gauge, p.needle.length_in) if p.needle else None
        index = self.needle.findData(needle)
        if index < 0 and p.needle is not None:
            self.needle.addItem(str(p.needle), needle)
            index = self.needle.count() - 1
        self.needle.setCurrentIndex(max(0, index))
        for step, box in self.technique.items():
            box.setChecked(step in p.technique)
        self.image_guidance.setCurrentIndex(max(0, self.image_guidance.findData(p.image_guidance)))
        enabled = not self.document.read_only
        for widget in (
            self.timeout_button,
            self.consent,
            self.consent_method,
            self.position,
            self.skin_prep,
            self.needle,
            self.image_guidance,
            *self.safety.values(),
            *self.technique.values(),
        ):
            widget.setEnabled(enabled)

    def _commit_consent(self) -> None:
        obtained = self.consent.isChecked()
        consent = Consent(
            obtained=obtained,
            method=self.consent_method.currentData(),
            obtained_by=self.document.user.display_name if obtained else None,
            at=datetime.now().astimezone() if obtained else None,
        )
        self.edit({"consent": consent}, "Consent")

    def _commit_safety(self) -> None:
        screen = SafetyScreen(**{key: box.isChecked() for key, box in self.safety.items()})
        self.edit({"safety_screen": screen}, "Safety screen")

    def _commit_needle(self) -> None:
        data = self.needle.currentData()
        needle = Needle(gauge=data[0], length_in=data[1]) if data else None
        self.edit({"needle": needle}, "Needle")

    def _commit_technique(self) -> None:
        steps = tuple(step for step, box in self.technique.items() if box.isChecked())
        self.edit({"technique": steps}, "Technique")


class OutcomePanel(QWidget):
    """After the last needle: complications, tolerance, aftercare given."""

    def __init__(
        self, document: ProcedureDocument, edit: Callable[[dict[str, Any], str], None]
    ) -> None:
        super().__init__()
        self.document = document
        self.edit = edit
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(section_label("Complications"))
        self.no_complications = QCheckBox("None")
        self.no_complications.setObjectName("noComplications")
        self.no_complications.clicked.connect(lambda _c: self._commit_complications(none=True))
        layout.addWidget(self.no_complications)
        grid = QGridLayout()
        self.complications: dict[str, QCheckBox] = {}
        for index, value in enumerate(get_args(Complication)):
            box = QCheckBox(_pretty(value))
            box.clicked.connect(lambda _c: self._commit_complications(none=False))
            self.complications[value] = box
            grid.addWidget(box, index // 2, index % 2)
        layout.addLayout(grid)
        form = QFormLayout()
        self.tolerance = _combo(get_args(Tolerance))
        self.tolerance.activated.connect(
            lambda _i: self.edit({"tolerance": self.tolerance.currentData()}, "Tolerance")
        )
        form.addRow("Tolerance", self.tolerance)
        layout.addLayout(form)
        self.aftercare = QCheckBox("Aftercare explained and handout given")
        self.aftercare.setObjectName("aftercareCheck")
        self.aftercare.clicked.connect(
            lambda checked: self.edit({"aftercare_given": bool(checked)}, "Aftercare")
        )
        layout.addWidget(self.aftercare)
        self.follow_up = QLineEdit()
        self.follow_up.setObjectName("followUpPlan")
        self.follow_up.setPlaceholderText(
            "Follow-up plan, e.g. reassess relief (same scale) in 6 weeks"
        )
        self.follow_up.editingFinished.connect(
            lambda: self.edit({"follow_up": self.follow_up.text().strip() or None}, "Follow-up")
        )
        keep_field_keys(self.follow_up)
        follow = QFormLayout()
        follow.addRow("Follow-up", self.follow_up)
        layout.addLayout(follow)
        layout.addStretch(1)

    def refresh(self) -> None:
        p = self.document.procedure
        if p is None:
            return
        chosen = set(p.complications or ())
        self.no_complications.setChecked(p.complications is not None and not chosen)
        for value, box in self.complications.items():
            box.setChecked(value in chosen)
        self.tolerance.setCurrentIndex(max(0, self.tolerance.findData(p.tolerance)))
        self.aftercare.setChecked(p.aftercare_given)
        if not self.follow_up.hasFocus():
            show_from_start(self.follow_up, p.follow_up or "")
        enabled = not self.document.read_only
        for widget in (
            self.follow_up,
            self.no_complications,
            self.tolerance,
            self.aftercare,
            *self.complications.values(),
        ):
            widget.setEnabled(enabled)

    def _commit_complications(self, *, none: bool) -> None:
        if none:
            value: tuple[str, ...] | None = () if self.no_complications.isChecked() else None
        else:
            value = tuple(v for v, box in self.complications.items() if box.isChecked())
        self.edit({"complications": value}, "Complications")
