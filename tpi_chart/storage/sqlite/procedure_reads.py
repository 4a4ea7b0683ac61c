"""Procedures as read: the header, preparations, sites, pain drawing, signature and addenda
rebuilt into a `Procedure`, and the lists and histories the rules and pages read."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from tpi_chart.domain.models import FollowUp, Patient, PriorProcedure, Site
from tpi_chart.storage.interfaces import (
    FollowUpRecord,
    HistoryRecord,
    ProcedureRecord,
    ProcedureSummaryRecord,
    SignedSnapshot,
    SiteRecord,
    VoidRecord,
)
from tpi_chart.storage.sqlite import lookups
from tpi_chart.storage.sqlite.audited import AuditedWrites, patient_of, stale, version_of

#: SQL: the procedure `p` was voided, or signed and then marked entered in error by an addendum.
_VOIDED = (
    "(EXISTS (SELECT 1 FROM procedure_voids v WHERE v.procedure_id = p.id)"
    " OR EXISTS (SELECT 1 FROM addenda a WHERE a.procedure_id = p.id"
    " AND CAST(a.data ->> 'entered_in_error' AS TEXT) IN ('1', 'true')))"
)


class ProcedureReads:
    """Reading; the writes build on it (`sites.py`, `signing.py`, `procedures.py`)."""

    def __init__(self, writes: AuditedWrites) -> None:
        self._writes = writes

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._writes.conn

    def _site_from_row(self, row: sqlite3.Row) -> Site:
        return lookups.site_from_row(row)

    def sites(self, procedure_id: int, include_removed: bool = False) -> list[SiteRecord]:
        records: list[SiteRecord] = []
        number = 0
        for row in self._conn.execute(
            "SELECT * FROM sites WHERE procedure_id = ? ORDER BY seq", (procedure_id,)
        ):
            removed = bool(row["removed"])
            if not removed:
                number += 1
            if removed and not include_removed:
                continue
            records.append(
                SiteRecord(
                    id=int(row["id"]),
                    procedure_id=procedure_id,
                    seq=int(row["seq"]),
                    number=number if not removed else number + 1,
                    removed=removed,
                    site=self._site_from_row(row),
                    version=version_of(row),
                )
            )
        return records

    def get_site(self, site_id: int) -> SiteRecord | None:
        row = self._conn.execute(
            "SELECT procedure_id FROM sites WHERE id = ?", (site_id,)
        ).fetchone()
        if row is None:
            return None
        for record in self.sites(int(row[0]), include_removed=True):
            if record.id == site_id:
                return record
        return None  # pragma: no cover - the row was just read

    def get(self, procedure_id: int) -> ProcedureRecord | None:
        return next(iter(lookups.procedures(self._conn, "id", procedure_id)), None)

    def for_patient(self, patient_id: int) -> list[ProcedureRecord]:
        """Every procedure of the patient, whole, oldest first, in a fixed number of queries."""
        return lookups.procedures(self._conn, "patient_id", patient_id)

    def voided_ids(self, patient_id: int) -> frozenset[int]:
        """Ids of the patient's voided procedures (and signed ones entered in error): one
        query, for a caller that has the procedures already (`list_for_patient` also counts
        every visit's sites and reads its relief)."""
        return frozenset(
            int(r[0])
            for r in self._conn.execute(
                f"SELECT p.id FROM procedures p WHERE p.patient_id = ? AND {_VOIDED}",
                (patient_id,),
            )
        )

    def follow_ups_for_patient(self, patient_id: int) -> list[FollowUpRecord]:
        """The follow-up entries of all the patient's visits, oldest first, in one query."""
        return lookups.follow_ups(self._conn, "patient_id", patient_id)

    def signed_ids(self, after: int = 0, limit: int | None = None) -> list[int]:
        """Ids of the signed procedures above `after`, ascending (at most `limit`)."""
        return lookups.signed_ids(self._conn, after, limit)

    def signed_between(self, first_day: str, last_day: str) -> list[int]:
        """Ids of the signed procedures (not voided, not imported from elsewhere) whose date of
        service (local date, YYYY-MM-DD) is from `first_day` to `last_day`, oldest first; by the
        date-of-service index (v0014), whatever the number of patients."""
        return [
            int(r[0])
            for r in self._conn.execute(
                "SELECT p.id FROM procedures p WHERE p.status = 'signed'"
                " AND substr(p.performed_at, 1, 10) BETWEEN ? AND ?"
                " AND NOT EXISTS (SELECT 1 FROM external_records e WHERE e.procedure_id = p.id)"
                f" AND NOT {_VOIDED}"
                " ORDER BY p.performed_at_utc, p.id",
                (first_day, last_day),
            )
        ]

    def on_date(self, patient_id: int, day: str) -> list[int]:
        """The patient's procedures whose date of service (local date, YYYY-MM-DD) is `day`."""
        return [
            int(r[0])
            for r in self._conn.execute(
                "SELECT id FROM procedures WHERE patient_id = ? AND substr(performed_at, 1, 10) = ?"
                " ORDER BY id",
                (patient_id, day),
            )
        ]

    def _check_version(self, procedure_id: int, expected: int | None) -> None:
        if expected is None:
            return
        row = self._conn.execute(
            "SELECT * FROM procedures WHERE id = ?", (procedure_id,)
        ).fetchone()
        if row is not None and version_of(row) != expected:
            raise stale("procedure", procedure_id, expected, version_of(row))

    def list_for_patient(
        self, patient_id: int, include_voided: bool = False
    ) -> list[ProcedureSummaryRecord]:
        """Newest first; voided procedures (and signed ones entered in error) only on request."""
        relief = self._relief_by_visit(patient_id)
        muscles: dict[int, list[str]] = {}
        for row in self._conn.execute(
            "SELECT s.procedure_id, s.muscle, s.side FROM sites s"
            " JOIN procedures p ON p.id = s.procedure_id"
            " WHERE p.patient_id = ? AND NOT s.removed AND s.state = 'injected'"
            " ORDER BY s.procedure_id, s.seq",
            (patient_id,),
        ):
            muscles.setdefault(int(row[0]), []).append(f"{row[1]}:{row[2]}")
        rows = self._conn.execute(
            "SELECT p.id, p.patient_id, p.performed_at,"
            " CASE WHEN EXISTS (SELECT 1 FROM external_records e WHERE e.procedure_id = p.id)"
            "   THEN 'external' ELSE p.status END AS status,"
            " (SELECT count(*) FROM sites s WHERE s.procedure_id = p.id AND NOT s.removed)"
            "   AS site_count,"
            " (SELECT count(*) FROM sites s WHERE s.procedure_id = p.id AND NOT s.removed"
            "   AND s.state = 'injected') AS injected_count,"
            " p.header ->> 'physician' AS physician,"
            " CAST(p.header ->> 'pain_before' AS INTEGER) AS pain_before,"
            " CAST(p.header ->> 'pain_after' AS INTEGER) AS pain_after,"
            f" {_VOIDED} AS voided"
            " FROM procedures p WHERE p.patient_id = ?"
            " ORDER BY p.performed_at_utc DESC, p.id DESC",
            (patient_id,),
        )
        return [
            ProcedureSummaryRecord(
                id=int(r["id"]),
                patient_id=int(r["patient_id"]),
                performed_at=datetime.fromisoformat(r["performed_at"]),
                status=str(r["status"]),
                site_count=int(r["site_count"]),
                injected_count=int(r["injected_count"]),
                physician=r["physician"],
                pain_before=r["pain_before"],
                pain_after=r["pain_after"],
                relief_percent=relief.get(int(r["id"])),
                voided=bool(r["voided"]),
                muscles=tuple(muscles.get(int(r["id"]), ())),
            )
            for r in rows
            if include_voided or not r["voided"]
        ]

    def _relief_by_visit(self, patient_id: int) -> dict[int, int]:
        """The relief recorded for each visit: its newest follow-up, else the next visit's
        prior relief."""
        history = self.history(patient_id)
        relief: dict[int, int] = {}
        for index, record in enumerate(history):
            if record.follow_up is not None:
                relief[record.id] = record.follow_up.relief_percent
            elif index + 1 < len(history) and history[index + 1].prior_relief_percent is not None:
                relief[record.id] = int(history[index + 1].prior_relief_percent or 0)
        return relief

    def ids_for_patient(self, patient_id: int) -> list[int]:
        """The patient's procedure ids, oldest first."""
        return [
            int(r[0])
            for r in self._conn.execute(
                "SELECT id FROM procedures WHERE patient_id = ? ORDER BY performed_at_utc, id",
                (patient_id,),
            )
        ]

    def reported_history(self, procedure_id: int) -> tuple[PriorProcedure, ...]:
        """The earlier sessions the procedure's document reported, in the document's order."""
        row = self._conn.execute(
            "SELECT data FROM reported_history WHERE procedure_id = ?", (procedure_id,)
        ).fetchone()
        if row is None:
            return ()
        return tuple(PriorProcedure.model_validate(item) for item in json.loads(row[0]))

    def signed_snapshot(self, procedure_id: int) -> SignedSnapshot | None:
        """The patient and earlier sessions as they were at signing (None: not signed)."""
        row = self._conn.execute(
            "SELECT patient, prior_procedures FROM signed_snapshots WHERE procedure_id = ?",
            (procedure_id,),
        ).fetchone()
        if row is None:
            return None
        priors = row["prior_procedures"]
        return SignedSnapshot(
            Patient.model_validate_json(row["patient"]),
            None
            if priors is None
            else tuple(PriorProcedure.model_validate(item) for item in json.loads(priors)),
        )

    def history(self, patient_id: int) -> list[HistoryRecord]:
        """The patient's procedures, oldest first, in two queries whatever their number (the
        rules read this on every edit)."""
        injected: dict[int, list[tuple[str, str]]] = {}
        for row in self._conn.execute(
            "SELECT s.procedure_id, s.muscle, s.side FROM sites s"
            " JOIN procedures p ON p.id = s.procedure_id"
            # A dry-needled site injects nothing: no session (issue 14, item 11).
            " WHERE p.patient_id = ? AND NOT s.removed AND s.state = 'injected'"
            " AND NOT s.dry_needling"
            " ORDER BY s.procedure_id, s.seq",
            (patient_id,),
        ):
            injected.setdefault(int(row[0]), []).append((str(row[1]), str(row[2])))
        newest: dict[int, FollowUp] = {}
        for row in self._conn.execute(
            "SELECT f.procedure_id, f.data FROM follow_ups f"
            " JOIN procedures p ON p.id = f.procedure_id WHERE p.patient_id = ? ORDER BY f.id",
            (patient_id,),
        ):
            newest[int(row[0])] = FollowUp.model_validate_json(row[1])
        return [
            HistoryRecord(
                id=int(row["id"]),
                performed_at=datetime.fromisoformat(row["performed_at"]),
                prior_relief_percent=row["relief_percent"],
                prior_relief_weeks=row["relief_weeks"],
                injected=tuple(injected.get(int(row["id"]), ())),
                follow_up=newest.get(int(row["id"])),
                prior_relief_scale=row["relief_scale"],
                prior_relief_measured_on=row["relief_measured_on"],
            )
            for row in self._conn.execute(
                "SELECT id, performed_at,"
                " CAST(header ->> 'prior_relief_percent' AS INTEGER) AS relief_percent,"
                " CAST(header ->> 'prior_relief_weeks' AS DOUBLE PRECISION) AS relief_weeks,"
                " header ->> 'prior_relief_scale' AS relief_scale,"
                " header ->> 'prior_relief_measured_on' AS relief_measured_on"
                f" FROM procedures p WHERE patient_id = ? AND NOT {_VOIDED}"
                " ORDER BY performed_at_utc, id",
                (patient_id,),
            )
        ]

    def follow_ups(self, procedure_id: int) -> list[FollowUpRecord]:
        """Oldest first; the last one counts."""
        return lookups.follow_ups(self._conn, "id", procedure_id)

    def void_of(self, procedure_id: int) -> VoidRecord | None:
        row = self._conn.execute(
            "SELECT * FROM procedure_voids WHERE procedure_id = ?", (procedure_id,)
        ).fetchone()
        if row is None:
            return None
        return VoidRecord(procedure_id, row["reason"], row["voided_by"], row["voided_at"])

    def _patient_of(self, procedure_id: int) -> int:
        return patient_of(self._conn, procedure_id)
