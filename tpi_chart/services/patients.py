"""Finding, creating and editing patients; lot recall."""

from __future__ import annotations

from dataclasses import dataclass

from tpi_chart.domain.models import Patient
from tpi_chart.domain.users import User
from tpi_chart.services.access import DeniedHook, Permissions
from tpi_chart.services.errors import InvalidInput, NotFound, StaleEdit, changed_fields
from tpi_chart.services.procedure_values import last_author
from tpi_chart.storage.errors import DuplicateRecord, StaleRecord
from tpi_chart.storage.interfaces import PatientRecord, Store


@dataclass(frozen=True)
class StoredPatient:
    id: int
    patient: Patient
    version: int = 1  # give it back to `update` as `base`: a stale copy is refused


def _stored(record: PatientRecord) -> StoredPatient:
    return StoredPatient(record.id, record.patient, record.version)


def _duplicate(mrn: str) -> InvalidInput:
    return InvalidInput([f"patient.mrn: a patient with MRN {mrn} already exists"])


class PatientService:
    """Built for the signed-in `user`: every read needs `view`, every change `edit_patients`."""

    def __init__(self, store: Store, user: User, *, on_denied: DeniedHook | None = None) -> None:
        self._store = store
        self._permissions = Permissions(user, on_denied)
        self._user = user.username

    def search(self, text: str = "", limit: int = 200) -> list[StoredPatient]:
        """Patients whose name, MRN or birth date (YYYY-MM-DD or a prefix such as 1974-05)
        matches every word of `text`; names ignore case and accents."""
        self._permissions.require("view")
        return [_stored(r) for r in self._store.patients.search(text, limit)]

    def get(self, patient_id: int) -> StoredPatient:
        self._permissions.require("view")
        record = self._store.patients.get(patient_id)
        if record is None:
            raise NotFound(f"patient {patient_id} does not exist")
        return _stored(record)

    def by_mrn(self, mrn: str) -> StoredPatient | None:
        self._permissions.require("view")
        record = self._store.patients.by_mrn(mrn.strip())
        return None if record is None else _stored(record)

    def create(self, patient: Patient) -> StoredPatient:
        self._permissions.require("edit_patients")
        if self._store.patients.by_mrn(patient.mrn) is not None:
            raise _duplicate(patient.mrn)
        try:
            return _stored(self._store.patients.add(patient, self._user))
        except DuplicateRecord as error:
            raise _duplicate(patient.mrn) from error

    def update(
        self, patient_id: int, patient: Patient, base: StoredPatient | None = None
    ) -> StoredPatient:
        """Store `patient` as the new record. `base`: the stored copy the edit started from (the
        window passes it); when the record was saved by someone else since, `StaleEdit` names
        what they changed and nothing is stored (no lost update)."""
        self._permissions.require("edit_patients")
        current = self.get(patient_id)
        if base is not None and base.version != current.version:
            raise self._stale(base, current)
        if current.patient == patient:
            return current
        other = self._store.patients.by_mrn(patient.mrn)
        if other is not None and other.id != patient_id:
            raise _duplicate(patient.mrn)
        try:
            return _stored(
                self._store.patients.update(
                    patient_id, patient, self._user, None if base is None else base.version
                )
            )
        except DuplicateRecord as error:
            raise _duplicate(patient.mrn) from error
        except StaleRecord as error:  # saved elsewhere between the check and the write
            if base is None:  # pragma: no cover - only a versioned write can be stale
                raise
            raise self._stale(base, self.get(patient_id)) from error

    def _stale(self, base: StoredPatient, current: StoredPatient) -> StaleEdit:
        changed = changed_fields(
            "patient", base.patient.model_dump(mode="json"), current.patient.model_dump(mode="json")
        )
        author = last_author(self._store, current.id)
        return StaleEdit(f"patient {current.patient.mrn}", changed).with_author(author)

    def patients_with_lot(self, lot: str) -> list[tuple[StoredPatient, int, str]]:
        """Lot recall: (patient, procedure id, agent) for every procedure that used `lot`
        (case-insensitive), oldest procedure first."""
        self._permissions.require("view")
        return [
            (_stored(record), procedure_id, agent)
            for record, procedure_id, agent in self._store.patients.with_lot(lot)
        ]
