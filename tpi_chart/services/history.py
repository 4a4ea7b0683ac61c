"""A patient's history for review (product.md §2, workflow 4): gathers the patient's procedures
through the charting service and hands them to `domain.history.summarize`."""

from __future__ import annotations

from datetime import date

from tpi_chart.domain.history import PatientHistory, summarize
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.patients import PatientService


class HistoryService:
    """Read-only: nothing is stored or audited."""

    def __init__(self, charting: ChartingService, patients: PatientService) -> None:
        self._charting = charting
        self._patients = patients

    def for_patient(self, patient_id: int, *, as_of: date | None = None) -> PatientHistory:
        """Every procedure of the patient (signed or not) as of `as_of` (default: today).
        Raises NotFound for an unknown patient."""
        self._patients.get(patient_id)
        voided = self._charting.voided_ids(patient_id)
        # Newest first, as the procedure list orders them (a tie on the time keeps that order).
        stored = [
            record
            for record in reversed(self._charting.for_patient(patient_id))
            if record.id not in voided
        ]
        newest = self._charting.newest_follow_ups(patient_id)
        follow_ups = {record.id: newest[record.id] for record in stored if record.id in newest}
        return summarize(
            [record.procedure for record in stored],
            ids=[record.id for record in stored],
            as_of=as_of or date.today(),
            follow_ups=follow_ups,
        )
