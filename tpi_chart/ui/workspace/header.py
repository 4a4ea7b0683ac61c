"""The workspace's header: back to the patient, who and when (two identifiers at all times), the
status, the time since the time-out, the time-out button, "Saved", and the safety facts strip.
It observes the procedure document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from tpi_chart.domain.models import Patient
from tpi_chart.domain.presentation import STATUS_HEADLINE
from tpi_chart.ui.document import ProcedureDocument
from tpi_chart.ui.plain_errors import KNOWN_ERRORS
from tpi_chart.ui.safety_facts import safety_facts
from tpi_chart.ui.style import repolish
from tpi_chart.ui.workspace.widgets import SavedIndicator

#: Past this, the header gives the time-out's date and time instead of the time since it.
STOPWATCH_HOURS = 12


class ProcedureHeader(QWidget):
    def __init__(self, services: Any, document: ProcedureDocument, parent: QWidget) -> None:
        super().__init__(parent)
        self.services = services
        self.document = document
        self.patient: Patient | None = None
        self._patient_line = "Patient ?"
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addLayout(self._build_row())
        column.addWidget(self._build_facts())

        self.clock = QTimer(self)
        self.clock.setInterval(1000)
        self.clock.timeout.connect(self.tick)
        document.saving.connect(self.saved_indicator.show_saving)
        document.saved.connect(self.saved_indicator.show_saved)
        document.changed.connect(self._changed)

    def _changed(self, parts: frozenset[str]) -> None:
        if "all" in parts:
            self.read_patient()
        self.refresh()

    def _build_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.back_button = QPushButton("◀ Patient")
        self.back_button.setObjectName("backToPatient")
        self.back_button.setToolTip("Back to the patient's page (Esc)")
        self.back_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(self.back_button)
        self.title = QLabel()
        self.title.setObjectName("procedureTitle")
        self.title.setProperty("role", "title")
        # Title and status give way (clipped, full text in the tooltip) rather than overlap the
        # clock when the window is narrow.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")
        heading = QHBoxLayout()
        heading.setSpacing(6)
        heading.addWidget(self.title, 1)
        heading.addWidget(self.status_label)
        row.addLayout(heading, 1)
        self.elapsed = QLabel()
        self.elapsed.setObjectName("elapsedClock")
        self.elapsed.setProperty("role", "big")
        self.elapsed.setToolTip("Time since the time-out")
        row.addWidget(self.elapsed)
        self.timeout_button = QPushButton("Time-out…  (Ctrl+T)")
        self.timeout_button.setObjectName("timeoutHeaderButton")
        self.timeout_button.setProperty("role", "primary")
        self.timeout_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.timeout_button.setToolTip(
            "Show the time-out: patient, procedure, sites and sides, consent, position, "
            "allergies and anticoagulation, site marking; confirm with Y or N (Ctrl+T)"
        )
        row.addWidget(self.timeout_button)
        self.saved_indicator = SavedIndicator()
        row.addWidget(self.saved_indicator)
        return row

    def _build_facts(self) -> QWidget:
        """Allergies, anticoagulation, weight and age (pregnancy when recorded), always in view
        while charting: one chip each, an alert chip in red with a ⚠."""
        strip = QWidget()
        strip.setObjectName("safetyFacts")
        row = QHBoxLayout(strip)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.fact_labels: dict[str, QLabel] = {}
        for name in ("allergies", "anticoagulation", "weight", "age", "pregnancy"):
            label = QLabel()
            label.setObjectName(f"fact_{name}")
            label.setProperty("role", "fact")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            row.addWidget(label)
            self.fact_labels[name] = label
        row.addStretch(1)
        return strip

    def read_patient(self) -> None:
        """Two identifiers on screen at all times: name and MRN, plus date of birth."""
        try:
            self.patient = self.services.patients.get(self.document.patient_id).patient
        except KNOWN_ERRORS:  # not found or not allowed: the line says "Patient ?"
            self.patient = None
        patient = self.patient
        self._patient_line = (
            "Patient ?"
            if patient is None
            else f"{patient.display_name} · MRN {patient.mrn} · DOB {patient.birth_date:%Y-%m-%d}"
        )
        facts = safety_facts(patient, self.services.settings.weight_unit()) if patient else []
        shown = {fact.name: fact for fact in facts}
        for name, label in self.fact_labels.items():
            fact = shown.get(name)
            label.setVisible(fact is not None)
            if fact is None:
                continue
            label.setText(fact.text)
            label.setAccessibleName(fact.text)
            role = "fact-alert" if fact.alert else "fact"
            if label.property("role") != role:
                label.setProperty("role", role)
                repolish(label)

    def refresh(self) -> None:
        p = self.document.procedure
        if p is None:
            return
        # The date of service is when it happened; until then the schedule's time, said so.
        performed = p.planned_at is not None or p.time_out is not None or bool(p.injected_sites)
        when = f"{p.performed_at.astimezone():%Y-%m-%d %H:%M}"
        if not performed:  # the schedule's time, until the time-out or the first injection
            when = f"planned {when}"
        self.title.setText(f"{self._patient_line}  ·  {when}")
        self.title.setToolTip(self.title.text())
        sites = self.document.sites
        injected = sum(1 for s in sites if s.site.state == "injected")
        self.status_label.setText(
            f"· {STATUS_HEADLINE[p.status]} · {injected}/{len(sites)} injected"
        )
        self.timeout_button.setVisible(p.time_out is None and self.document.editable)
        if p.time_out is not None and p.status not in ("signed", "external"):
            self.clock.start()
        else:
            self.clock.stop()
        self.tick()

    def tick(self) -> None:
        p = self.document.procedure
        if p is None or p.time_out is None or p.external_signature is not None:
            self.elapsed.setText("")  # a record signed elsewhere has no running clock here
            return
        # A signed note's clock stopped at the signature; a planned procedure runs from now.
        end = p.signature.signed_at if p.signature is not None else datetime.now().astimezone()
        seconds = max(0, int((end - p.time_out.at).total_seconds()))
        minutes, seconds = divmod(seconds, 60)
        if p.signature is not None:
            hours, minutes = divmod(minutes, 60)
            days, hours = divmod(hours, 24)
            span = (
                f"{days} d {hours} h"
                if days
                else f"{hours} h {minutes} min"
                if hours
                else (f"{minutes} min")
            )
            self.elapsed.setText(f"Signed {span} after time-out")
            return
        if minutes < 60:
            self.elapsed.setText(f"Time-out + {minutes:02d}:{seconds:02d}")
        elif minutes < STOPWATCH_HOURS * 60:
            self.elapsed.setText(f"Time-out + {minutes // 60} h {minutes % 60:02d} min")
        else:  # a visit left open: when the time-out was is what matters, not a stopwatch
            at = p.time_out.at.astimezone()
            # The header shows the date of service already; repeat a date only if it differs.
            same_day = at.date() == p.performed_at.astimezone().date()
            self.elapsed.setText(
                f"Time-out at {at:%H:%M}" if same_day else f"Time-out {at:%Y-%m-%d %H:%M}"
            )
