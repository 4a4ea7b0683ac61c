"""Patients: rows ⇄ `Patient`, each change audited in its transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

from tpi_chart.domain.models import Patient
from tpi_chart.storage.interfaces import PatientRecord
from tpi_chart.storage.search import search_name
from tpi_chart.storage.sqlite.audited import AuditedWrites, dumps, stale, version_of
from tpi_chart.storage.sqlite.search import index_patient, search_patients, unindex_patient


class SqlitePatients:
    def __init__(self, writes: AuditedWrites, *, search_index: bool = True) -> None:
        self._writes = writes
        #: Whether the database has v0018's trigram index (FTS5) to keep in step and search
        #: by; a server clinic has none (FTS5 is SQLite's): its plain query is served by
        #: pg_trgm's index (postgres migrations v0004_patient_search), kept in step by the server.
        self._search_index = search_index

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._writes.conn

    def _from_row(self, row: sqlite3.Row) -> PatientRecord:
        return PatientRecord(
            int(row["id"]), Patient.model_validate_json(row["data"]), version_of(row)
        )

    def get(self, patient_id: int) -> PatientRecord | None:
        row = self._conn.execute("SELECT * FROM patients WHERE id = ?", (patient_id,)).fetchone()
        return None if row is None else self._from_row(row)

    def by_mrn(self, mrn: str) -> PatientRecord | None:
        row = self._conn.execute("SELECT * FROM patients WHERE mrn = ?", (mrn,)).fetchone()
        return None if row is None else self._from_row(row)

    def search(self, text: str, limit: int) -> list[PatientRecord]:
        """Every word must match part of the name (accents ignored), part of the MRN, or the
        start of the date of birth (1974-05-12, 1974-05, or as written on US forms, 5/12/1974)."""
        return [
            self._from_row(row)
            for row in search_patients(self._conn, text, limit, indexed=self._search_index)
        ]

    def _index(self, patient_id: int) -> None:
        if self._search_index:
            index_patient(self._conn, patient_id)

    def _columns(self, patient: Patient) -> tuple[Any, ...]:
        data = patient.model_dump(mode="json")
        return (
            patient.mrn,
            patient.family_name,
            patient.given_name,
            data["birth_date"],
            patient.sex,
            search_name(patient.family_name, patient.given_name),
            dumps(data),
        )

    def add(self, patient: Patient, user: str) -> PatientRecord:
        after = patient.model_dump(mode="json")
        with self._writes.audited(user, "create", "patient", after=after) as change:
            cursor = self._conn.execute(
                "INSERT INTO patients (mrn, family_name, given_name, birth_date, sex, search_name,"
                " data) VALUES (?,?,?,?,?,?,?)",
                self._columns(patient),
            )
            patient_id = int(cursor.lastrowid or 0)
            self._index(patient_id)
            change.entity_id = change.patient_id = patient_id
        return PatientRecord(patient_id, patient)

    def update(
        self,
        patient_id: int,
        patient: Patient,
        user: str,
        expected_version: int | None = None,
        *,
        per_field: bool = False,
    ) -> PatientRecord:
        """Write the patient; with `expected_version`, only if the stored row is still at that
        version (else `StaleRecord`, nothing written). `per_field`: one audit row per changed
        field (a document's demographic changes), instead of one for the whole record."""
        with self._writes.audited(
            user, "update", "patient", entity_id=patient_id, patient_id=patient_id
        ) as change:
            before = self.get(patient_id)
            if before is None:
                raise KeyError(patient_id)
            if expected_version is not None and before.version != expected_version:
                raise stale("patient", patient_id, expected_version, before.version)
            if self._search_index:
                unindex_patient(self._conn, patient_id)
            self._conn.execute(
                "UPDATE patients SET mrn=?, family_name=?, given_name=?, birth_date=?, sex=?,"
                " search_name=?, data=?, version = version + 1 WHERE id=?",
                (*self._columns(patient), patient_id),
            )
            self._index(patient_id)
            old = before.patient.model_dump(mode="json")
            new = patient.model_dump(mode="json")
            change.before, change.after = old, new
            if per_field:
                change.parts = [({k: old[k]}, {k: new[k]}) for k in new if old.get(k) != new[k]]
        return PatientRecord(patient_id, patient, before.version + 1)

    def with_lot(self, lot: str) -> list[tuple[PatientRecord, int, str]]:
        rows = self._conn.execute(
            "SELECT DISTINCT pa.id, pa.data, pr.id AS procedure_id, c.agent, pr.performed_at_utc"
            " FROM components c JOIN preparations r ON r.id = c.preparation_id"
            " JOIN procedures pr ON pr.id = r.procedure_id"
            " JOIN patients pa ON pa.id = pr.patient_id"
            " WHERE lower(c.lot) = lower(?)"
            " ORDER BY pr.performed_at_utc, pr.id, c.agent",
            (lot.strip(),),
        )
        return [(self._from_row(row), int(row["procedure_id"]), str(row["agent"])) for row in rows]
