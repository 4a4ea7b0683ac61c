"""Signing a procedure, its addenda, and records signed elsewhere: after the signing update the
triggers refuse every change to the procedure, its sites, preparations and components."""

from __future__ import annotations

from tpi_chart.domain.models import Addendum, Patient, PriorProcedure, Procedure, Signature
from tpi_chart.storage.interfaces import ProcedureRecord
from tpi_chart.storage.sqlite.audited import dumps
from tpi_chart.storage.sqlite.sites import SiteWrites


class Signing(SiteWrites):
    def _keep_external(
        self, procedure_id: int, patient_id: int, procedure: Procedure, user: str
    ) -> None:
        """Freeze an imported record with the signature it carried, as text (v0011)."""
        assert procedure.external_signature is not None
        kept = {
            "external_signature": procedure.external_signature.model_dump(mode="json"),
            "addenda": [addendum.model_dump(mode="json") for addendum in procedure.addenda],
        }
        with self._writes.audited(
            user,
            "create",
            "external_record",
            entity_id=procedure_id,
            patient_id=patient_id,
            procedure_id=procedure_id,
            after=kept,
        ):
            self._conn.execute(
                "INSERT INTO external_records (procedure_id, data) VALUES (?, ?)",
                (procedure_id, dumps(kept)),
            )

    def sign(
        self,
        procedure_id: int,
        signature: Signature,
        user: str,
        prior_procedures: tuple[PriorProcedure, ...] | None = None,
        signed_patient: Patient | None = None,
    ) -> ProcedureRecord:
        """The signing update: status → signed with the signature columns; after it the triggers
        refuse every change to the procedure, its sites, preparations and components. The
        patient as stored now (or `signed_patient`: an imported document's patient, which its
        signature covers) and `prior_procedures` (the earlier sessions the signed document
        showed) are kept with it (schema v5)."""
        s = signature.model_dump(mode="json")
        with self._writes.audited(
            user, "sign", "procedure", entity_id=procedure_id, procedure_id=procedure_id, after=s
        ) as change:
            change.patient_id = patient_id = self._patient_of(procedure_id)
            priors = (
                None
                if prior_procedures is None
                else dumps([prior.model_dump(mode="json") for prior in prior_procedures])
            )
            if signed_patient is None:
                self._conn.execute(
                    "INSERT INTO signed_snapshots (procedure_id, patient, prior_procedures)"
                    " SELECT ?, data, ? FROM patients WHERE id = ?",
                    (procedure_id, priors, patient_id),
                )
            else:
                self._conn.execute(
                    "INSERT INTO signed_snapshots (procedure_id, patient, prior_procedures)"
                    " VALUES (?, ?, ?)",
                    (procedure_id, dumps(signed_patient.model_dump(mode="json")), priors),
                )
            self._conn.execute(
                "UPDATE procedures SET status = 'signed', signed_by = ?, signed_at = ?,"
                " content_hash = ?, acknowledgements = ?, version = version + 1 WHERE id = ?",
                (
                    s["signed_by"],
                    s["signed_at"],
                    s["content_hash"],
                    dumps(s["acknowledged_warnings"]),
                    procedure_id,
                ),
            )
            record = self.get(procedure_id)
        assert record is not None
        return record

    def add_addendum(self, procedure_id: int, addendum: Addendum, user: str) -> ProcedureRecord:
        data = addendum.model_dump(mode="json", exclude_defaults=True)
        with self._writes.audited(
            user, "addendum", "addendum", procedure_id=procedure_id, after=data
        ) as change:
            change.patient_id = self._patient_of(procedure_id)
            (seq,) = self._conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM addenda WHERE procedure_id = ?",
                (procedure_id,),
            ).fetchone()
            cursor = self._conn.execute(
                "INSERT INTO addenda (procedure_id, seq, author, at, data) VALUES (?,?,?,?,?)",
                (procedure_id, seq, addendum.author, data["at"], dumps(data)),
            )
            change.entity_id = int(cursor.lastrowid or 0)
            record = self.get(procedure_id)
        assert record is not None
        return record
