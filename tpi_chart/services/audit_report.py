"""Reading the audit trail (ONC §170.315(d)(2), (d)(3)): who did what to which patient, when.

The rows name patients and what changed, so reading them is itself a permission (`audit`,
administrators); a refusal is audited like any other.
"""

from __future__ import annotations

from datetime import date

from tpi_chart.domain.users import User
from tpi_chart.services.access import DeniedHook, Permissions
from tpi_chart.storage.audit import AuditRow as AuditRow
from tpi_chart.storage.audit import decode as decode
from tpi_chart.storage.interfaces import Store


class AuditReportService:
    def __init__(self, store: Store, user: User, *, on_denied: DeniedHook | None = None) -> None:
        self._store = store
        self._permissions = Permissions(user, on_denied)

    def rows(
        self, mrn: str | None = None, date_from: date | None = None, date_to: date | None = None
    ) -> tuple[list[AuditRow], dict[int, str]]:
        """The rows (oldest first, filtered by MRN and UTC dates, inclusive) and the MRN of each
        patient they name."""
        self._permissions.require("audit")
        rows = self._store.audit.rows(mrn, date_from, date_to)
        mrns: dict[int, str] = {}
        for patient_id in {row.patient_id for row in rows if row.patient_id is not None}:
            record = self._store.patients.get(patient_id)
            mrns[patient_id] = record.patient.mrn if record is not None else f"#{patient_id}"
        return rows, mrns
