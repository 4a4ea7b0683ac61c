"""Procedures: the one `ProcedureRepository` of the store (reading: `procedure_reads.py`, sites:
`sites.py`, signing: `signing.py`); here the header, preparations, follow-ups and voids, each
change audited in its transaction.

Dates and times are ISO-8601 text written by pydantic (`model_dump(mode="json")`) and read back
through the models; no sqlite3 adapters are used.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tpi_chart.domain.models import FollowUp, Patient, Preparation, PriorProcedure, Procedure
from tpi_chart.storage.interfaces import FollowUpRecord, ProcedureRecord, VoidRecord
from tpi_chart.storage.sqlite.audited import dumps, stale
from tpi_chart.storage.sqlite.pain import insert_stroke
from tpi_chart.storage.sqlite.signing import Signing

#: Header fields kept in their own columns or child tables (the rest goes to `header` JSON).
_PROCEDURE_COLUMNS = {
    "performed_at",
    "status",
    "payer_profile",
    "preparations",
    "sites",
    "signature",
    "addenda",
    "pain_drawing",
}
#: The header fields an update records (the rest has its own audited writes).
_NOT_HEADER = {"sites", "preparations", "signature", "addenda", "pain_drawing"}


def _utc_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SqliteProcedures(Signing):
    def _header(self, procedure: Procedure) -> tuple[str, str, str, str]:
        data = procedure.model_dump(mode="json", exclude=_PROCEDURE_COLUMNS)
        performed = procedure.model_dump(mode="json", include={"performed_at"})["performed_at"]
        return performed, _utc_key(procedure.performed_at), procedure.payer_profile, dumps(data)

    def _insert_preparations(
        self, procedure_id: int, preparations: tuple[Preparation, ...]
    ) -> None:
        for seq, prep in enumerate(preparations, start=1):
            cursor = self._conn.execute(
                "INSERT INTO preparations (procedure_id, seq, code, label) VALUES (?,?,?,?)",
                (procedure_id, seq, prep.id, prep.label),
            )
            prep_id = cursor.lastrowid
            for cseq, component in enumerate(prep.components, start=1):
                c = component.model_dump(mode="json")
                self._conn.execute(
                    "INSERT INTO components (preparation_id, seq, agent, concentration, volume_ml,"
                    " lot, expires, ndc, container, container_ml) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        prep_id,
                        cseq,
                        c["agent"],
                        c["concentration"],
                        c["volume_ml"],
                        c["lot"],
                        c["expires"],
                        c["ndc"],
                        c["container"],
                        c["container_ml"],
                    ),
                )

    def add(
        self,
        patient_id: int,
        procedure: Procedure,
        user: str,
        reported_history: tuple[PriorProcedure, ...] = (),
        signed_patient: Patient | None = None,
    ) -> ProcedureRecord:
        """Store a procedure with its preparations, sites and the earlier sessions its document
        reported; a signed one is inserted unsigned, then signed by the signing update, then its
        addenda appended (all in one transaction)."""
        status = "in_progress" if procedure.status in ("signed", "external") else procedure.status
        unsigned = procedure.model_copy(
            update={"status": status, "signature": None, "external_signature": None, "addenda": ()}
        )
        history = [prior.model_dump(mode="json") for prior in reported_history]
        after = unsigned.model_dump(mode="json")
        if history:
            after["reported_history"] = history
        with self._writes.transaction():
            with self._writes.audited(
                user, "create", "procedure", patient_id=patient_id, after=after
            ) as change:
                performed, utc, payer, header = self._header(procedure)
                cursor = self._conn.execute(
                    "INSERT INTO procedures (patient_id, performed_at, performed_at_utc, status,"
                    " payer_profile, header) VALUES (?,?,?,?,?,?)",
                    (patient_id, performed, utc, status, payer, header),
                )
                procedure_id = int(cursor.lastrowid or 0)
                change.entity_id = change.procedure_id = procedure_id
                self._insert_preparations(procedure_id, procedure.preparations)
                for site in procedure.sites:
                    self._insert_site(procedure_id, site)
                if procedure.pain_drawing is not None:
                    for stroke in procedure.pain_drawing.strokes:
                        insert_stroke(self._conn, procedure_id, stroke)
                if history:
                    self._conn.execute(
                        "INSERT INTO reported_history (procedure_id, data) VALUES (?, ?)",
                        (procedure_id, dumps(history)),
                    )
            if procedure.external_signature is not None:
                self._keep_external(procedure_id, patient_id, procedure, user)
            else:
                if procedure.signature is not None:
                    self.sign(
                        procedure_id, procedure.signature, user, reported_history, signed_patient
                    )
                for addendum in procedure.addenda:
                    self.add_addendum(procedure_id, addendum, user)
            record = self.get(procedure_id)
        assert record is not None
        return record

    def update_header(
        self,
        procedure_id: int,
        procedure: Procedure,
        user: str,
        expected_version: int | None = None,
    ) -> ProcedureRecord:
        """Write the header fields (not sites, preparations, signature or addenda); with
        `expected_version`, only if the row is still at that version (else `StaleRecord`)."""
        if procedure.status == "signed":
            raise ValueError("use sign() to sign a procedure")
        with self._writes.audited(
            user,
            "update",
            "procedure",
            entity_id=procedure_id,
            procedure_id=procedure_id,
            after=procedure.model_dump(mode="json", exclude=_NOT_HEADER),
        ) as change:
            before = self.get(procedure_id)
            if before is None:
                raise KeyError(procedure_id)
            self._check_version(procedure_id, expected_version)
            performed, utc, payer, header = self._header(procedure)
            self._conn.execute(
                "UPDATE procedures SET performed_at=?, performed_at_utc=?, status=?,"
                " payer_profile=?, header=?, version = version + 1 WHERE id=?",
                (performed, utc, procedure.status, payer, header, procedure_id),
            )
            change.patient_id = before.patient_id
            change.before = before.procedure.model_dump(mode="json", exclude=_NOT_HEADER)
            record = self.get(procedure_id)
        assert record is not None
        return record

    def set_preparations(
        self,
        procedure_id: int,
        preparations: tuple[Preparation, ...],
        user: str,
        expected_version: int | None = None,
    ) -> ProcedureRecord:
        with self._writes.audited(
            user,
            "update",
            "preparation",
            entity_id=procedure_id,
            procedure_id=procedure_id,
            after=[p.model_dump(mode="json") for p in preparations],
        ) as change:
            before = self.get(procedure_id)
            if before is None:
                raise KeyError(procedure_id)
            self._check_version(procedure_id, expected_version)
            self._conn.execute(
                "UPDATE procedures SET version = version + 1 WHERE id = ?", (procedure_id,)
            )
            self._conn.execute(
                "DELETE FROM components WHERE preparation_id IN"
                " (SELECT id FROM preparations WHERE procedure_id = ?)",
                (procedure_id,),
            )
            self._conn.execute("DELETE FROM preparations WHERE procedure_id = ?", (procedure_id,))
            self._insert_preparations(procedure_id, preparations)
            change.patient_id = before.patient_id
            change.before = [p.model_dump(mode="json") for p in before.procedure.preparations]
            record = self.get(procedure_id)
        assert record is not None
        return record

    def write_header(
        self,
        procedure_id: int,
        patient_id: int,
        before: Procedure,
        procedure: Procedure,
        expected_version: int,
        user: str,
    ) -> int:
        """Store the header of `procedure` over `before` (at `expected_version`); returns the
        new version."""
        if procedure.status == "signed":
            raise ValueError("use sign() to sign a procedure")
        with self._writes.audited(
            user,
            "update",
            "procedure",
            entity_id=procedure_id,
            patient_id=patient_id,
            procedure_id=procedure_id,
            before=before.model_dump(mode="json", exclude=_NOT_HEADER),
            after=procedure.model_dump(mode="json", exclude=_NOT_HEADER),
        ):
            performed, utc, payer, header = self._header(procedure)
            row = self._conn.execute(
                "UPDATE procedures SET performed_at=?, performed_at_utc=?, status=?,"
                " payer_profile=?, header=?, version = version + 1 WHERE id=? AND version=?"
                " RETURNING version",
                (performed, utc, procedure.status, payer, header, procedure_id, expected_version),
            ).fetchone()
            if row is None:
                current = self._conn.execute(
                    "SELECT version FROM procedures WHERE id = ?", (procedure_id,)
                ).fetchone()
                if current is None:
                    raise KeyError(procedure_id)
                raise stale("procedure", procedure_id, expected_version, int(current[0]))
        return int(row[0])

    # ---- follow-ups and voids ---------------------------------------------------------------
    def add_follow_up(
        self, procedure_id: int, follow_up: FollowUp, user: str, at: str
    ) -> FollowUpRecord:
        data = follow_up.model_dump(mode="json", exclude_defaults=True)
        data["scale"] = follow_up.scale
        with self._writes.audited(
            user, "follow_up", "follow_up", procedure_id=procedure_id, after=data
        ) as change:
            change.patient_id = self._patient_of(procedure_id)
            cursor = self._conn.execute(
                "INSERT INTO follow_ups (procedure_id, data, recorded_at, recorded_by)"
                " VALUES (?,?,?,?)",
                (procedure_id, dumps(data), at, user),
            )
            change.entity_id = follow_up_id = int(cursor.lastrowid or 0)
        return FollowUpRecord(follow_up_id, procedure_id, follow_up, at, user)

    def void(self, procedure_id: int, reason: str, user: str, at: str) -> VoidRecord:
        with self._writes.audited(
            user,
            "void",
            "procedure",
            entity_id=procedure_id,
            procedure_id=procedure_id,
            after={"voided": True, "reason": reason},
        ) as change:
            change.patient_id = self._patient_of(procedure_id)
            self._conn.execute(
                "INSERT INTO procedure_voids (procedure_id, reason, voided_by, voided_at)"
                " VALUES (?,?,?,?)",
                (procedure_id, reason, user, at),
            )
        return VoidRecord(procedure_id, reason, user, at)
