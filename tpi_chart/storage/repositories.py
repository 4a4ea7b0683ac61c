"""SQLite repositories: rows ⇄ domain models, every change audited in its own transaction.

Dates and times are ISO-8601 text written by pydantic (`model_dump(mode="json")`) and read back
through the models; no sqlite3 adapters are used.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import sqlite3
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from tpi_chart.domain.models import (
    Addendum,
    FollowUp,
    Patient,
    Preparation,
    PriorProcedure,
    Procedure,
    Signature,
    Site,
)
from tpi_chart.storage import audit as audit_log
from tpi_chart.storage.audit import Anchor, AnchorWriter, AuditReport, AuditRow
from tpi_chart.storage.db import (
    BUSY_TIMEOUT_MS,
    Connection,
    backup_copy,
    inspect_file,
    integrity_problems,
    migrate,
    open_database,
    transaction,
)
from tpi_chart.storage.errors import (
    AuditKeyProblem,
    DataLoss,
    ReadOnlyDatabase,
    StaleRecord,
    StorageError,
    translate,
)
from tpi_chart.storage.instance_lock import InstanceLock
from tpi_chart.storage.interfaces import (
    FollowUpRecord,
    HistoryRecord,
    PatientRecord,
    ProcedureRecord,
    ProcedureSummaryRecord,
    SignedSnapshot,
    SiteRecord,
    VoidRecord,
)
from tpi_chart.storage.migrations import MIGRATIONS
from tpi_chart.storage.outbox import SqliteOutbox
from tpi_chart.storage.pain import SqlitePainStrokes, insert_stroke, read_drawing
from tpi_chart.storage.pki import SqlitePki
from tpi_chart.storage.users import UserRepository

log = logging.getLogger(__name__)

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "þ": "th"})

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


#: SQL: the procedure `p` was voided, or signed and then marked entered in error by an addendum.
_VOIDED = (
    "(EXISTS (SELECT 1 FROM procedure_voids v WHERE v.procedure_id = p.id)"
    " OR EXISTS (SELECT 1 FROM addenda a WHERE a.procedure_id = p.id"
    " AND CAST(a.data ->> 'entered_in_error' AS TEXT) IN ('1', 'true')))"
)


def fold(text: str) -> str:
    """Lower case without accents, for searching names ("Nguyễn" → "nguyen", "Ø" → "o")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.translate(_FOLD)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _utc_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class _Base:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._store.conn

    def _record(self, **fields: Any) -> AuditRow:
        return self._store.audit.record(**fields)


_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _iso_date(token: str) -> str:
    """'5/12/1974' (month/day/year, as on US forms) → '1974-05-12'; anything else unchanged."""
    match = _US_DATE.match(token)
    if match is None:
        return token
    month, day, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _version(row: sqlite3.Row) -> int:
    # A database opened read-only is not migrated: before schema v7 every row is version 1.
    columns: list[str] = row.keys()  # sqlite3.Row's `in` tests values, not column names
    return int(row["version"]) if "version" in columns else 1


def _stale(entity: str, entity_id: int, expected: int, current: int) -> StaleRecord:
    return StaleRecord(
        f"{entity} {entity_id} was changed elsewhere since this copy was read (version "
        f"{expected}, now {current}); nothing was saved",
        current,
    )


class SqlitePatients(_Base):
    def _from_row(self, row: sqlite3.Row) -> PatientRecord:
        return PatientRecord(
            int(row["id"]), Patient.model_validate_json(row["data"]), _version(row)
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
        clauses: list[str] = []
        params: list[Any] = []
        for token in text.split():
            folded = _like_escape(fold(token))
            clauses.append(
                "(search_name LIKE ? ESCAPE '\\' OR lower(mrn) LIKE ? ESCAPE '\\'"
                " OR birth_date LIKE ? ESCAPE '\\')"
            )
            birth = _like_escape(_iso_date(token))
            # lower(): LIKE ignores ASCII case on SQLite, not on PostgreSQL.
            params += [f"%{folded}%", f"%{_like_escape(token.lower())}%", f"{birth}%"]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(
            f"SELECT * FROM patients {where} ORDER BY search_name, birth_date, id LIMIT ?",
            (*params, limit),
        )
        return [self._from_row(row) for row in rows]

    def _columns(self, patient: Patient) -> tuple[Any, ...]:
        data = patient.model_dump(mode="json")
        search = fold(f"{patient.family_name} {patient.given_name} {patient.family_name}")
        return (
            patient.mrn,
            patient.family_name,
            patient.given_name,
            data["birth_date"],
            patient.sex,
            search,
            _dumps(data),
        )

    def add(self, patient: Patient, user: str) -> PatientRecord:
        with self._store.transaction():
            cursor = self._conn.execute(
                "INSERT INTO patients (mrn, family_name, given_name, birth_date, sex, search_name,"
                " data) VALUES (?,?,?,?,?,?,?)",
                self._columns(patient),
            )
            patient_id = int(cursor.lastrowid or 0)
            self._record(
                user=user,
                action="create",
                entity="patient",
                entity_id=patient_id,
                patient_id=patient_id,
                after=patient.model_dump(mode="json"),
            )
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
        with self._store.transaction():
            before = self.get(patient_id)
            if before is None:
                raise KeyError(patient_id)
            if expected_version is not None and before.version != expected_version:
                raise _stale("patient", patient_id, expected_version, before.version)
            self._conn.execute(
                "UPDATE patients SET mrn=?, family_name=?, given_name=?, birth_date=?, sex=?,"
                " search_name=?, data=?, version = version + 1 WHERE id=?",
                (*self._columns(patient), patient_id),
            )
            old = before.patient.model_dump(mode="json")
            new = patient.model_dump(mode="json")
            changes = (
                [({k: old[k]}, {k: new[k]}) for k in new if old.get(k) != new[k]]
                if per_field
                else [(old, new)]
            )
            for old_part, new_part in changes:
                self._record(
                    user=user,
                    action="update",
                    entity="patient",
                    entity_id=patient_id,
                    patient_id=patient_id,
                    before=old_part,
                    after=new_part,
                )
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


class SqliteProcedures(_Base):
    # ---- reading -------------------------------------------------------------------------
    def _site_from_row(self, row: sqlite3.Row) -> Site:
        data: dict[str, Any] = {
            "muscle": row["muscle"],
            "side": row["side"],
            "state": row["state"],
            "findings": {
                "taut_band": bool(row["taut_band"]),
                "referred_pain": bool(row["referred_pain"]),
                "jump_sign": bool(row["jump_sign"]),
                "negative_aspiration": bool(row["negative_aspiration"]),
            },
        }
        for name in (
            "view",
            "x",
            "y",
            "preparation",
            "volume_ml",
            "twitch",
            "trigger_points",
            "depth_cm",
            "notes",
            "injected_at",
            "location",
        ):
            if row[name] is not None:
                data[name] = row[name]
        if row["dry_needling"]:
            data["dry_needling"] = True
        if row["needle_gauge"] is not None:
            data["needle"] = {"gauge": row["needle_gauge"], "length_in": row["needle_length_in"]}
        return Site.model_validate(data)

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
                    version=_version(row),
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

    def _preparations(self, procedure_id: int) -> list[dict[str, Any]]:
        preparations: list[dict[str, Any]] = []
        for prep in self._conn.execute(
            "SELECT id, code, label FROM preparations WHERE procedure_id = ? ORDER BY seq",
            (procedure_id,),
        ):
            components = []
            for row in self._conn.execute(
                "SELECT agent, concentration, volume_ml, lot, expires, ndc, container,"
                " container_ml FROM components"
                " WHERE preparation_id = ? ORDER BY seq",
                (prep["id"],),
            ):
                names = (
                    "agent",
                    "concentration",
                    "volume_ml",
                    "lot",
                    "expires",
                    "ndc",
                    "container",
                    "container_ml",
                )
                component = {k: row[k] for k in names if row[k] is not None}
                components.append(component)
            data: dict[str, Any] = {"id": prep["code"], "components": components}
            if prep["label"] is not None:
                data["label"] = prep["label"]
            preparations.append(data)
        return preparations

    def get(self, procedure_id: int) -> ProcedureRecord | None:
        row = self._conn.execute(
            "SELECT * FROM procedures WHERE id = ?", (procedure_id,)
        ).fetchone()
        if row is None:
            return None
        data: dict[str, Any] = json.loads(row["header"])
        data["performed_at"] = row["performed_at"]
        data["status"] = row["status"]
        data["payer_profile"] = row["payer_profile"]
        data["preparations"] = self._preparations(procedure_id)
        site_records = self.sites(procedure_id)
        data["sites"] = [record.site for record in site_records]
        drawing = read_drawing(self._conn, procedure_id)
        if drawing is not None:
            data["pain_drawing"] = drawing
        if row["signed_by"] is not None:
            data["signature"] = {
                "signed_by": row["signed_by"],
                "signed_at": row["signed_at"],
                "content_hash": row["content_hash"],
                "acknowledged_warnings": json.loads(row["acknowledgements"] or "[]"),
            }
        data["addenda"] = [
            json.loads(a["data"])
            for a in self._conn.execute(
                "SELECT data FROM addenda WHERE procedure_id = ? ORDER BY seq", (procedure_id,)
            )
        ]
        external = self._conn.execute(
            "SELECT data FROM external_records WHERE procedure_id = ?", (procedure_id,)
        ).fetchone()
        if external is not None:  # signed elsewhere, imported read-only (v0011)
            kept = json.loads(external[0])
            data["status"] = "external"
            data["external_signature"] = kept["external_signature"]
            data["addenda"] = kept.get("addenda", [])
        return ProcedureRecord(
            id=procedure_id,
            patient_id=int(row["patient_id"]),
            procedure=Procedure.model_validate(data),
            site_ids=tuple(record.id for record in site_records),
            version=_version(row),
            site_versions=tuple(record.version for record in site_records),
        )

    def signed_ids(self, after: int = 0) -> list[int]:
        """Ids of the signed procedures above `after`, ascending."""
        return [
            int(r[0])
            for r in self._conn.execute(
                "SELECT id FROM procedures WHERE status = 'signed' AND id > ? ORDER BY id",
                (after,),
            )
        ]

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
        if row is not None and _version(row) != expected:
            raise _stale("procedure", procedure_id, expected, _version(row))

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

    # ---- follow-ups and voids ---------------------------------------------------------------
    def add_follow_up(
        self, procedure_id: int, follow_up: FollowUp, user: str, at: str
    ) -> FollowUpRecord:
        with self._store.transaction():
            patient_id = self._patient_of(procedure_id)
            data = follow_up.model_dump(mode="json", exclude_defaults=True)
            data["scale"] = follow_up.scale
            cursor = self._conn.execute(
                "INSERT INTO follow_ups (procedure_id, data, recorded_at, recorded_by)"
                " VALUES (?,?,?,?)",
                (procedure_id, _dumps(data), at, user),
            )
            self._record(
                user=user,
                action="follow_up",
                entity="follow_up",
                entity_id=int(cursor.lastrowid or 0),
                patient_id=patient_id,
                procedure_id=procedure_id,
                after=data,
            )
        return FollowUpRecord(int(cursor.lastrowid or 0), procedure_id, follow_up, at, user)

    def follow_ups(self, procedure_id: int) -> list[FollowUpRecord]:
        """Oldest first; the last one counts."""
        return [
            FollowUpRecord(
                int(r["id"]),
                procedure_id,
                FollowUp.model_validate_json(r["data"]),
                str(r["recorded_at"]),
                str(r["recorded_by"]),
            )
            for r in self._conn.execute(
                "SELECT * FROM follow_ups WHERE procedure_id = ? ORDER BY id", (procedure_id,)
            )
        ]

    def void(self, procedure_id: int, reason: str, user: str, at: str) -> VoidRecord:
        with self._store.transaction():
            patient_id = self._patient_of(procedure_id)
            self._conn.execute(
                "INSERT INTO procedure_voids (procedure_id, reason, voided_by, voided_at)"
                " VALUES (?,?,?,?)",
                (procedure_id, reason, user, at),
            )
            self._record(
                user=user,
                action="void",
                entity="procedure",
                entity_id=procedure_id,
                patient_id=patient_id,
                procedure_id=procedure_id,
                after={"voided": True, "reason": reason},
            )
        return VoidRecord(procedure_id, reason, user, at)

    def void_of(self, procedure_id: int) -> VoidRecord | None:
        row = self._conn.execute(
            "SELECT * FROM procedure_voids WHERE procedure_id = ?", (procedure_id,)
        ).fetchone()
        if row is None:
            return None
        return VoidRecord(procedure_id, row["reason"], row["voided_by"], row["voided_at"])

    # ---- writing -------------------------------------------------------------------------
    def _header(self, procedure: Procedure) -> tuple[str, str, str, str]:
        data = procedure.model_dump(mode="json", exclude=_PROCEDURE_COLUMNS)
        performed = procedure.model_dump(mode="json", include={"performed_at"})["performed_at"]
        return performed, _utc_key(procedure.performed_at), procedure.payer_profile, _dumps(data)

    def _patient_of(self, procedure_id: int) -> int:
        row = self._conn.execute(
            "SELECT patient_id FROM procedures WHERE id = ?", (procedure_id,)
        ).fetchone()
        if row is None:
            raise KeyError(procedure_id)
        return int(row[0])

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

    def _site_values(self, site: Site) -> tuple[Any, ...]:
        d = site.model_dump(mode="json")
        f = d["findings"]
        needle = d["needle"] or {}
        return (
            d["muscle"],
            d["side"],
            d["state"],
            d["view"],
            d["x"],
            d["y"],
            d["preparation"],
            d["volume_ml"],
            d["twitch"],
            bool(f["taut_band"]),
            bool(f["referred_pain"]),
            bool(f["jump_sign"]),
            bool(f["negative_aspiration"]),
            d["trigger_points"],
            needle.get("gauge"),
            needle.get("length_in"),
            d["depth_cm"],
            d["notes"],
            d["injected_at"],
            bool(d["dry_needling"]),
            d["location"],
        )

    _SITE_COLUMNS = (
        "muscle, side, state, view, x, y, preparation, volume_ml, twitch, taut_band,"
        " referred_pain, jump_sign, negative_aspiration, trigger_points, needle_gauge,"
        " needle_length_in, depth_cm, notes, injected_at, dry_needling, location"
    )

    def _insert_site(self, procedure_id: int, site: Site) -> int:
        (seq,) = self._conn.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM sites WHERE procedure_id = ?", (procedure_id,)
        ).fetchone()
        cursor = self._conn.execute(
            f"INSERT INTO sites (procedure_id, seq, {self._SITE_COLUMNS})"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (procedure_id, seq, *self._site_values(site)),
        )
        return int(cursor.lastrowid or 0)

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
        with self._store.transaction():
            performed, utc, payer, header = self._header(procedure)
            status = (
                "in_progress" if procedure.status in ("signed", "external") else procedure.status
            )
            cursor = self._conn.execute(
                "INSERT INTO procedures (patient_id, performed_at, performed_at_utc, status,"
                " payer_profile, header) VALUES (?,?,?,?,?,?)",
                (patient_id, performed, utc, status, payer, header),
            )
            procedure_id = int(cursor.lastrowid or 0)
            self._insert_preparations(procedure_id, procedure.preparations)
            for site in procedure.sites:
                self._insert_site(procedure_id, site)
            if procedure.pain_drawing is not None:
                for stroke in procedure.pain_drawing.strokes:
                    insert_stroke(self._conn, procedure_id, stroke)
            history = [prior.model_dump(mode="json") for prior in reported_history]
            if history:
                self._conn.execute(
                    "INSERT INTO reported_history (procedure_id, data) VALUES (?, ?)",
                    (procedure_id, _dumps(history)),
                )
            unsigned = procedure.model_copy(
                update={
                    "status": status,
                    "signature": None,
                    "external_signature": None,
                    "addenda": (),
                }
            )
            after = unsigned.model_dump(mode="json")
            if history:
                after["reported_history"] = history
            self._record(
                user=user,
                action="create",
                entity="procedure",
                entity_id=procedure_id,
                patient_id=patient_id,
                procedure_id=procedure_id,
                after=after,
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

    def _keep_external(
        self, procedure_id: int, patient_id: int, procedure: Procedure, user: str
    ) -> None:
        """Freeze an imported record with the signature it carried, as text (v0011)."""
        assert procedure.external_signature is not None
        kept = {
            "external_signature": procedure.external_signature.model_dump(mode="json"),
            "addenda": [addendum.model_dump(mode="json") for addendum in procedure.addenda],
        }
        self._conn.execute(
            "INSERT INTO external_records (procedure_id, data) VALUES (?, ?)",
            (procedure_id, _dumps(kept)),
        )
        self._record(
            user=user,
            action="create",
            entity="external_record",
            entity_id=procedure_id,
            patient_id=patient_id,
            procedure_id=procedure_id,
            after=kept,
        )

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
        with self._store.transaction():
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
            exclude = {"sites", "preparations", "signature", "addenda", "pain_drawing"}
            self._record(
                user=user,
                action="update",
                entity="procedure",
                entity_id=procedure_id,
                patient_id=before.patient_id,
                procedure_id=procedure_id,
                before=before.procedure.model_dump(mode="json", exclude=exclude),
                after=procedure.model_dump(mode="json", exclude=exclude),
            )
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
        with self._store.transaction():
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
            self._record(
                user=user,
                action="update",
                entity="preparation",
                entity_id=procedure_id,
                patient_id=before.patient_id,
                procedure_id=procedure_id,
                before=[p.model_dump(mode="json") for p in before.procedure.preparations],
                after=[p.model_dump(mode="json") for p in preparations],
            )
            record = self.get(procedure_id)
        assert record is not None
        return record

    def add_site(self, procedure_id: int, site: Site, user: str) -> SiteRecord:
        with self._store.transaction():
            patient_id = self._patient_of(procedure_id)
            site_id = self._insert_site(procedure_id, site)
            self._record(
                user=user,
                action="create",
                entity="site",
                entity_id=site_id,
                patient_id=patient_id,
                procedure_id=procedure_id,
                after=site.model_dump(mode="json"),
            )
            record = self.get_site(site_id)
        assert record is not None
        return record

    def update_site(
        self, site_id: int, site: Site, user: str, expected_version: int | None = None
    ) -> SiteRecord:
        with self._store.transaction():
            before = self.get_site(site_id)
            if before is None:
                raise KeyError(site_id)
            if expected_version is not None and before.version != expected_version:
                raise _stale("site", site_id, expected_version, before.version)
            self._conn.execute(
                f"UPDATE sites SET ({self._SITE_COLUMNS}) ="
                " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?), version = version + 1 WHERE id = ?",
                (*self._site_values(site), site_id),
            )
            self._record(
                user=user,
                action="update",
                entity="site",
                entity_id=site_id,
                patient_id=self._patient_of(before.procedure_id),
                procedure_id=before.procedure_id,
                before=before.site.model_dump(mode="json"),
                after=site.model_dump(mode="json"),
            )
            record = self.get_site(site_id)
        assert record is not None
        return record

    def set_site_removed(self, site_id: int, removed: bool, user: str) -> SiteRecord:
        with self._store.transaction():
            before = self.get_site(site_id)
            if before is None:
                raise KeyError(site_id)
            self._conn.execute(
                "UPDATE sites SET removed = ?, version = version + 1 WHERE id = ?",
                (removed, site_id),
            )
            self._record(
                user=user,
                action="delete" if removed else "restore",
                entity="site",
                entity_id=site_id,
                patient_id=self._patient_of(before.procedure_id),
                procedure_id=before.procedure_id,
                before={"removed": before.removed},
                after={"removed": removed},
            )
            record = self.get_site(site_id)
        assert record is not None
        return record

    # ---- the charting loop (services.operations): one write and its audit row, no read-back.
    # The caller holds the rows it changes; `expected_version` guards against a change made
    # elsewhere meanwhile (then StaleRecord, and only then a read for the message).
    def append_site(self, procedure_id: int, patient_id: int, site: Site, user: str) -> SiteRecord:
        with self._store.transaction():
            row = self._conn.execute(
                f"INSERT INTO sites (procedure_id, seq, {self._SITE_COLUMNS}) VALUES (?,"
                " (SELECT coalesce(max(seq), 0) + 1 FROM sites WHERE procedure_id = ?),"
                " ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                # The new row's number: the others counted, plus itself (SQLite's subquery sees
                # the new row, PostgreSQL's reads the snapshot from before the statement).
                " RETURNING id, seq, version,"
                " (SELECT count(*) FROM sites AS s WHERE s.procedure_id = sites.procedure_id"
                " AND NOT s.removed AND s.id <> sites.id) + 1",
                (procedure_id, procedure_id, *self._site_values(site)),
            ).fetchone()
            site_id = int(row[0])
            self._record(
                user=user,
                action="create",
                entity="site",
                entity_id=site_id,
                patient_id=patient_id,
                procedure_id=procedure_id,
                after=site.model_dump(mode="json"),
            )
        return SiteRecord(site_id, procedure_id, int(row[1]), int(row[3]), False, site, int(row[2]))

    def _stale_site(self, site_id: int, expected: int) -> StaleRecord:
        row = self._conn.execute("SELECT version FROM sites WHERE id = ?", (site_id,)).fetchone()
        if row is None:
            raise KeyError(site_id)
        return _stale("site", site_id, expected, int(row[0]))

    def write_site(
        self,
        before: SiteRecord,
        site: Site,
        patient_id: int,
        user: str,
    ) -> SiteRecord:
        """Store `site` over `before` (as the caller last saw it, at `before.version`)."""
        with self._store.transaction():
            row = self._conn.execute(
                f"UPDATE sites SET ({self._SITE_COLUMNS}) ="
                " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?), version = version + 1"
                " WHERE id = ? AND version = ? RETURNING version",
                (*self._site_values(site), before.id, before.version),
            ).fetchone()
            if row is None:
                raise self._stale_site(before.id, before.version)
            self._record(
                user=user,
                action="update",
                entity="site",
                entity_id=before.id,
                patient_id=patient_id,
                procedure_id=before.procedure_id,
                before=before.site.model_dump(mode="json"),
                after=site.model_dump(mode="json"),
            )
        return SiteRecord(
            before.id, before.procedure_id, before.seq, before.number, False, site, int(row[0])
        )

    def mark_site_removed(
        self, before: SiteRecord, removed: bool, patient_id: int, user: str
    ) -> SiteRecord:
        """Remove (or restore) the site `before`; the row keeps its id and place, so a restore
        gives it back its number. Removed rows are never read on the charting path."""
        with self._store.transaction():
            row = self._conn.execute(
                "UPDATE sites SET removed = ?, version = version + 1"
                " WHERE id = ? AND version = ? RETURNING version",
                (removed, before.id, before.version),
            ).fetchone()
            if row is None:
                raise self._stale_site(before.id, before.version)
            self._record(
                user=user,
                action="delete" if removed else "restore",
                entity="site",
                entity_id=before.id,
                patient_id=patient_id,
                procedure_id=before.procedure_id,
                before={"removed": before.removed},
                after={"removed": removed},
            )
        return SiteRecord(
            before.id,
            before.procedure_id,
            before.seq,
            before.number,
            removed,
            before.site,
            int(row[0]),
        )

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
        with self._store.transaction():
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
                raise _stale("procedure", procedure_id, expected_version, int(current[0]))
            exclude = {"sites", "preparations", "signature", "addenda", "pain_drawing"}
            self._record(
                user=user,
                action="update",
                entity="procedure",
                entity_id=procedure_id,
                patient_id=patient_id,
                procedure_id=procedure_id,
                before=before.model_dump(mode="json", exclude=exclude),
                after=procedure.model_dump(mode="json", exclude=exclude),
            )
        return int(row[0])

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
        with self._store.transaction():
            patient_id = self._patient_of(procedure_id)
            s = signature.model_dump(mode="json")
            priors = (
                None
                if prior_procedures is None
                else _dumps([prior.model_dump(mode="json") for prior in prior_procedures])
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
                    (procedure_id, _dumps(signed_patient.model_dump(mode="json")), priors),
                )
            self._conn.execute(
                "UPDATE procedures SET status = 'signed', signed_by = ?, signed_at = ?,"
                " content_hash = ?, acknowledgements = ?, version = version + 1 WHERE id = ?",
                (
                    s["signed_by"],
                    s["signed_at"],
                    s["content_hash"],
                    _dumps(s["acknowledged_warnings"]),
                    procedure_id,
                ),
            )
            self._record(
                user=user,
                action="sign",
                entity="procedure",
                entity_id=procedure_id,
                patient_id=patient_id,
                procedure_id=procedure_id,
                after=s,
            )
            record = self.get(procedure_id)
        assert record is not None
        return record

    def add_addendum(self, procedure_id: int, addendum: Addendum, user: str) -> ProcedureRecord:
        with self._store.transaction():
            patient_id = self._patient_of(procedure_id)
            (seq,) = self._conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM addenda WHERE procedure_id = ?",
                (procedure_id,),
            ).fetchone()
            data = addendum.model_dump(mode="json", exclude_defaults=True)
            cursor = self._conn.execute(
                "INSERT INTO addenda (procedure_id, seq, author, at, data) VALUES (?,?,?,?,?)",
                (procedure_id, seq, addendum.author, data["at"], _dumps(data)),
            )
            self._record(
                user=user,
                action="addendum",
                entity="addendum",
                entity_id=int(cursor.lastrowid or 0),
                patient_id=patient_id,
                procedure_id=procedure_id,
                after=data,
            )
            record = self.get(procedure_id)
        assert record is not None
        return record


class SqliteSettings(_Base):
    def get(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, key: str, value: str, user: str) -> None:
        with self._store.transaction():
            before = self.get(key)
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
            self._record(
                user=user,
                action="settings",
                entity="setting",
                before={key: before},
                after={key: value},
            )


class SqliteAudit(_Base):
    def record(
        self,
        *,
        user: str,
        action: str,
        entity: str,
        entity_id: int | None = None,
        patient_id: int | None = None,
        procedure_id: int | None = None,
        before: Any = None,
        after: Any = None,
    ) -> AuditRow:
        with self._store.transaction():
            row = audit_log.record(
                self._conn,
                self._store.key,
                user=user,
                action=action,
                entity=entity,
                entity_id=entity_id,
                patient_id=patient_id,
                procedure_id=procedure_id,
                before=before,
                after=after,
            )
            if row.seq:  # 0: waiting in audit_pending for the key (not chained yet)
                self._store.anchor_after_commit(Anchor(row.seq, row.mac))
            return row

    def verify(self) -> AuditReport:
        """The chain, and the tail against the anchor kept beside the key (the clinic registry
        entry of this database path)."""
        try:
            entry = audit_log.registry_entry(self._store.key_dir, self._store.path)
        except ValueError as error:
            return AuditReport(False, 0, None, f"{error}; truncation cannot be ruled out")
        anchor = None if entry is None else entry[1]
        if not self._store.has_table("audit"):
            if anchor is None:
                return AuditReport(True, 0)
            return AuditReport(
                False,
                0,
                1,
                f"the database has no audit trail at all, but this computer recorded "
                f"{anchor.seq} rows (the database was emptied or replaced)",
                anchor.seq,
            )
        return audit_log.verify_audit_chain(self._conn, self._store.key, anchor)

    def rows(
        self, mrn: str | None = None, date_from: date | None = None, date_to: date | None = None
    ) -> list[AuditRow]:
        return audit_log.audit_rows(self._conn, mrn, date_from, date_to)

    def latest_at(self) -> datetime | None:
        return audit_log.latest_at(self._conn)


CLINIC_ID = "clinic_id"


def audit_log_user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


class SqliteStore:
    """One open database: connection, audit key, anchor, single-instance lock and the
    repositories over it."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        key_dir: Path,
        lock: InstanceLock | None = None,
        *,
        readonly: bool = False,
        check_registry: bool = True,
    ) -> None:
        self.conn = conn
        self.path = path
        self.key_dir = key_dir
        self.lock = lock
        self.readonly = readonly
        self.patients = SqlitePatients(self)
        self.procedures = SqliteProcedures(self)
        self.settings = SqliteSettings(self)
        self.audit = SqliteAudit(self)
        self.users = UserRepository(conn, self.audit)
        self.outbox = SqliteOutbox(self)
        self.pain_strokes = SqlitePainStrokes(self, self.audit.record)
        self.pki = SqlitePki(lambda: self.conn, self.audit.record)
        #: Whether this computer's clinic registry knew the database before it was opened: a
        #: registered path is never seeded with the demo clinic (it held a real one).
        self.registered = self._registry() is not None
        self._wal_inode: int | None = None
        #: The audit key; None while it is sealed and nobody has unlocked it (`unlock_audit`).
        self.key: bytes | None
        if readonly:
            self.clinic_id = self._read_clinic_id() or ""
            has_rows = self._has_audit_rows()
            if audit_log.is_sealed(conn):
                self.key = None
            else:
                self.key = (
                    audit_log.load_key(key_dir, self.clinic_id, create=False) if has_rows else b""
                )
            self._anchor_writable = False
            return
        self.clinic_id = self._ensure_clinic_id()
        self.key = self._plain_key()
        if check_registry:
            self._refuse_data_loss()
        self._anchor_writable = self._check_anchor()
        self._wal_inode = self._wal_stat()

    def _plain_key(self) -> bytes | None:
        """The key file of a clinic whose key is not sealed yet (created for an empty trail);
        None for a sealed one (locked until a sign-in)."""
        if audit_log.is_sealed(self.conn):
            return None
        return audit_log.load_key(
            self.key_dir, self.clinic_id, create=audit_log.tail(self.conn) is None
        )

    @property
    def audit_sealed(self) -> bool:
        return audit_log.is_sealed(self.conn)

    def recorded_key_id(self) -> str | None:
        """The audit key's id as recorded outside the database, else in it."""
        outside = audit_log.read_key_id(self.key_dir, self.clinic_id)
        if outside is not None:
            return outside
        try:
            row = self.conn.execute(
                "SELECT value FROM meta WHERE key = ?", (audit_log.KEY_ID_META,)
            ).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else str(row[0])

    def unlock_audit(self, key: bytes) -> int:
        """Use `key` (opened from a key slot at a sign-in) for the audit trail: refused when it
        is not the key recorded for this clinic (slots replaced); then the events that waited
        for it are chained. Returns how many were."""
        recorded = self.recorded_key_id()
        if recorded is not None and not hmac.compare_digest(recorded, audit_log.key_id(key)):
            raise AuditKeyProblem(
                "the audit key sealed in this database is not the one recorded for this clinic "
                f"({audit_log.key_id_path(self.key_dir, self.clinic_id)}): its key slots were "
                "replaced outside TPI Chart, so nothing new is recorded on top of them. Run "
                "`tpi-chart audit verify` and restore the latest backup."
            )
        self.key = key
        if self.readonly:
            return 0
        self.record_key_id(key)
        if not audit_log.pending_count(self.conn):
            return 0
        with self.transaction():
            chained = audit_log.chain_pending(self.conn, key)
            if chained:
                self.anchor_after_commit(Anchor(chained[-1].seq, chained[-1].mac))
        return len(chained)

    def record_key_id(self, key: bytes) -> None:
        """Record the key's id in the database and beside it (first unlock, or sealing)."""
        identifier = audit_log.key_id(key)
        if audit_log.read_key_id(self.key_dir, self.clinic_id) != identifier:
            try:
                audit_log.write_key_id(self.key_dir, self.clinic_id, identifier)
            except OSError as error:
                log.warning("the audit key id could not be recorded: %s", error)
        row = self.conn.execute(
            "SELECT value FROM meta WHERE key = ?", (audit_log.KEY_ID_META,)
        ).fetchone()
        if row is None or str(row[0]) != identifier:
            with self.transaction():
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                    "SET value = excluded.value",
                    (audit_log.KEY_ID_META, identifier),
                )

    def destroy_plain_key(self) -> bool:
        """Overwrite and remove the plain key file once the key is sealed (its slots are
        committed): from then on the key is in clear only in memory."""
        if not audit_log.is_sealed(self.conn):
            raise AuditKeyProblem("the audit key has no key slots yet; its file is kept")
        return audit_log.destroy_key_file(self.key_dir, self.clinic_id)

    def has_table(self, name: str) -> bool:
        try:
            row = self.conn.execute(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
        except sqlite3.Error:
            return False
        return row is not None

    def missing_triggers(self) -> list[str]:
        """The protection triggers the migrations created that the database no longer has
        (dropped outside TPI Chart: signed records and the audit trail could then be edited)."""
        expected: set[str] = set()
        for sql in MIGRATIONS[: audit_log_user_version(self.conn)]:
            expected |= set(re.findall(r"CREATE TRIGGER (\w+)", sql))
            expected -= set(re.findall(r"DROP TRIGGER (?:IF EXISTS )?(\w+)", sql))
        present = {
            str(row[0])
            for row in self.conn.execute("SELECT name FROM sqlite_schema WHERE type = 'trigger'")
        }
        return sorted(expected - present)

    def _read_clinic_id(self) -> str | None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else str(row[0])

    def _has_audit_rows(self) -> bool:
        try:
            return bool(self.conn.execute("SELECT EXISTS (SELECT 1 FROM audit)").fetchone()[0])
        except sqlite3.Error:
            return False

    def _registry(self) -> Anchor | None:
        try:
            entry = audit_log.registry_entry(self.key_dir, self.path)
        except ValueError:
            return None
        return None if entry is None else entry[1]

    def logical_size(self) -> int:
        """page_count × page_size: what the database holds, WAL included (the file on disk lags
        the WAL until a checkpoint)."""
        (size,) = self.conn.execute(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
        ).fetchone()
        return int(size)

    def registry_problems(self) -> list[str]:
        """What the clinic registry (kept outside the database, beside the key) says the
        database lost: another clinic in its place, a shorter file, a shorter audit trail."""
        entry = self._registry()
        if entry is None:
            return []
        problems: list[str] = []
        if entry.clinic_id and self.clinic_id and entry.clinic_id != self.clinic_id:
            problems.append(
                f"{self.path} holds another clinic ({self.clinic_id}) than the one this computer "
                f"recorded there ({entry.clinic_id}): the database was replaced or emptied"
            )
            return problems
        tail = audit_log.tail(self.conn) if self.has_table("audit") else None
        if tail is None or tail.seq < entry.seq:
            rows = 0 if tail is None else tail.seq
            problems.append(
                f"{self.path} has lost changes: its audit trail ends at row {rows} but this "
                f"computer recorded row {entry.seq} (the database was emptied, replaced by an "
                "older copy, or its -wal file was deleted)"
            )
        elif not audit_log.matches(self.conn, entry):
            problems.append(
                f"{self.path} is not the database this computer last saw: its audit row "
                f"{entry.seq} differs from the one recorded (it was replaced by another copy)"
            )
        elif entry.size is not None and self.logical_size() < entry.size:
            problems.append(
                f"{self.path} is shorter ({self.logical_size()} bytes) than this computer "
                f"recorded ({entry.size} bytes): it was truncated or replaced"
            )
        return problems

    def _refuse_data_loss(self) -> None:
        problems = self.registry_problems()
        if problems:
            raise DataLoss(
                f"{problems[0]}. It was not opened, so nothing is added on top of the loss. "
                "Restore the latest backup (`tpi-chart restore FILE`), or run `tpi-chart audit "
                "verify` for details. The database was not changed."
            )

    @property
    def wal_path(self) -> Path:
        return self.path.with_name(self.path.name + "-wal")

    def _wal_stat(self) -> int | None:
        try:
            return self.wal_path.stat().st_ino
        except OSError:
            return None

    def _require_wal(self) -> None:
        """Refuse to write when the -wal file this connection writes to was deleted or replaced
        by another program: SQLite would go on committing into the deleted file, and every
        "saved" would be lost when the app closes."""
        if self._wal_inode is None:
            self._wal_inode = self._wal_stat()
            return
        if self._wal_stat() != self._wal_inode:
            raise DataLoss(
                f"the database's write-ahead log {self.wal_path} was deleted or replaced by "
                "another program while TPI Chart had it open; this change was not saved, and "
                "changes saved since the file was removed may be lost. Keep this window open, "
                "make a backup from it, and call for help; nothing more is saved until then."
            )

    @property
    def anchor_path(self) -> Path:
        return audit_log.anchor_path(self.key_dir, self.clinic_id, self.path)

    def _check_anchor(self) -> bool:
        """Whether ordinary audit writes may move the anchor: it matches the database, or there is
        none yet (then the current tail is adopted). An anchor that does not match is evidence of a
        rollback or truncation and is left for `audit verify` to report."""
        try:
            anchor = audit_log.read_anchor(self.anchor_path)
        except ValueError:
            return False
        if anchor is not None:
            return audit_log.matches(self.conn, anchor)
        current = audit_log.tail(self.conn)
        if current is not None:
            self._write_anchor(current)
        return True

    def anchor_after_commit(self, anchor: Anchor) -> None:
        def write() -> None:
            self._require_wal()
            if self._anchor_writable:
                entry = self._anchor_entry(anchor)
                # Written now (a crash of the program keeps it), its fsync off the click path:
                # the COMMIT is the acknowledgement, the anchor a detection aid that may lag
                # (never lead) the database after a power cut.
                if entry is not None and self._store_anchor(entry, sync=False):
                    self._anchor_writer.submit(entry)

        if isinstance(self.conn, Connection):
            self.conn.after_commit("audit-anchor", write)
        else:
            write()

    @cached_property
    def _anchor_writer(self) -> AnchorWriter:
        return AnchorWriter(lambda _entry: self._sync_anchor())

    def _sync_anchor(self) -> None:
        try:
            audit_log.sync_file(self.anchor_path)
        except OSError as error:
            log.warning("the audit anchor could not be synced: %s", error)

    def flush_anchor(self) -> None:
        """Wait until the newest anchor handed to the background writer is on disk."""
        if "_anchor_writer" in self.__dict__:
            self._anchor_writer.flush()

    def _anchor_entry(self, anchor: Anchor) -> Anchor | None:
        try:
            return Anchor(anchor.seq, anchor.mac, self.logical_size(), self.clinic_id)
        except sqlite3.Error as error:
            log.warning("the audit anchor could not be written: %s", error)
            return None

    def _store_anchor(self, entry: Anchor, *, sync: bool) -> bool:
        try:
            audit_log.write_anchor(self.anchor_path, entry, self.path, sync=sync)
        except OSError as error:
            log.warning("the audit anchor could not be written: %s", error)
            return False
        return True

    def _write_anchor(self, anchor: Anchor) -> None:
        # The change is committed by now: failing here must not turn "saved" into an error. A
        # missing anchor update only lags, which verification tolerates.
        try:
            entry = Anchor(anchor.seq, anchor.mac, self.logical_size(), self.clinic_id)
            audit_log.write_anchor(self.anchor_path, entry, self.path)
        except (OSError, sqlite3.Error) as error:
            log.warning("the audit anchor could not be written: %s", error)

    def _ensure_clinic_id(self) -> str:
        # Read first: opening must not need the write lock (another program may hold it).
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
        if row is not None:
            return str(row[0])
        with self.transaction():
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
            if row is not None:
                return str(row[0])
            clinic_id = str(uuid.uuid4())
            self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (CLINIC_ID, clinic_id))
            return clinic_id

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One BEGIN IMMEDIATE … COMMIT (joined by nested calls); driver errors become
        StorageError with a plain message."""
        if self.readonly:
            raise ReadOnlyDatabase(
                f"the database {self.path} was opened read-only (a rescue copy: the file, its "
                "folder or the disk cannot be written); nothing can be saved to it"
            )
        if not self.conn.in_transaction:
            self._require_wal()
        try:
            with transaction(self.conn, self.path):
                yield
        except sqlite3.Error as error:
            raise translate(error, self.path) from error

    def is_empty(self) -> bool:
        (count,) = self.conn.execute("SELECT count(*) FROM patients").fetchone()
        return int(count) == 0

    def backup_to(self, target: Path) -> list[str]:
        """Copy through the online backup API; return the copy's integrity problems (empty: ok)."""
        try:
            backup_copy(self.conn, target)
            return check_file(target)
        except sqlite3.Error as error:
            raise translate(error, target) from error

    def snapshot(self) -> tuple[bytes, list[str]]:
        """A consistent copy of the database as bytes (online backup API into memory: nothing
        is written to disk, so an interrupted backup leaves no copy of the records behind) and
        the copy's integrity problems (empty: ok)."""
        with closing(sqlite3.connect(":memory:", isolation_level=None)) as memory:
            try:
                self.conn.backup(memory)
                problems = integrity_problems(memory)
                data = bytearray(memory.serialize())
                # Header bytes 18-19 still say WAL (copied from the live file): a stand-alone
                # copy is a rollback-journal database, readable without -wal/-shm files.
                data[18:20] = b"\x01\x01"
                return bytes(data), problems
            except sqlite3.Error as error:
                raise translate(error, self.path) from error

    def restore_from(self, source: Path, keep_aside: Path) -> dict[str, Any]:
        """Replace the database's content with `source` (checked first), keeping the current
        content at `keep_aside`. A restore legitimately rolls the audit trail back, so the anchor
        is moved to the restored tail; what it was and what it is now are returned for the
        `restore_db` audit row."""
        problems = check_file(source)
        if problems:
            raise StorageError(
                f"{source} failed its integrity check and was not restored: "
                + "; ".join(problems[:3])
            )
        _require_key(source, self.key_dir)
        self.flush_anchor()  # a pending older anchor must not land over the restored one
        try:
            previous: dict[str, Any] | None = _anchor_dict(audit_log.read_anchor(self.anchor_path))
        except ValueError as error:
            previous = {"damaged": str(error)}
        try:
            backup_copy(self.conn, keep_aside)
            src = open_database_readonly(source)
            try:
                src.backup(self.conn)
            finally:
                src.close()
            migrate(self.conn)
        except sqlite3.Error as error:
            raise translate(error, self.path) from error
        self.clinic_id = self._ensure_clinic_id()
        current = audit_log.tail(self.conn)
        if audit_log.is_sealed(self.conn):
            # The restored clinic's key opens at its next sign-in (or with the recovery slot);
            # the key in memory stays only when it is that clinic's key.
            restored_id = self.recorded_key_id()
            keep = self.key is not None and restored_id == audit_log.key_id(self.key)
            self.key = self.key if keep else None
        else:
            self.key = audit_log.load_key(self.key_dir, self.clinic_id, create=current is None)
        self._forget_registry()
        if current is not None:
            self._write_anchor(current)
        self._anchor_writable = True
        return {"anchor_before": previous, "anchor_restored": _anchor_dict(current)}

    def _forget_registry(self) -> None:
        """Drop every registry entry of this path (a restore re-registers what it restored)."""
        digest = self.anchor_path.name.rsplit("-", 1)[-1]
        for entry in self.key_dir.glob(f"*-{digest}"):
            entry.unlink(missing_ok=True)

    def close(self) -> None:
        try:
            self.flush_anchor()
            if "_anchor_writer" in self.__dict__:
                self._anchor_writer.stop()
            self.conn.close()
        finally:
            if self.lock is not None:
                self.lock.release()


def _anchor_dict(anchor: Anchor | None) -> dict[str, Any] | None:
    return None if anchor is None else anchor.as_dict()


def open_database_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)


def check_bytes(database: bytes) -> list[str]:
    """`integrity_check` and `foreign_key_check` of a database held in memory (a backup being
    verified): empty when it is sound."""
    with closing(sqlite3.connect(":memory:")) as memory:
        try:
            memory.deserialize(database)
            return integrity_problems(memory)
        except sqlite3.Error as error:
            return [str(error)]


def check_file(path: Path) -> list[str]:
    """Identity and integrity of a database file other than the open one (for backup/restore):
    empty when it is a TPI Chart database that passes `integrity_check` and `foreign_key_check`."""
    try:
        inspect_file(path)
    except StorageError as error:
        return [str(error)]
    conn = open_database_readonly(path)
    try:
        return integrity_problems(conn)
    except sqlite3.Error as error:
        return [str(error)]
    finally:
        conn.close()


def _peek_audit(path: Path) -> tuple[str | None, bool]:
    """(clinic id, has audit rows needing a key file) of an existing file, read-only; (None,
    False) when it cannot tell (a new, foreign or damaged file: opening reports those). A
    sealed key needs no file: it opens at a sign-in."""
    if not path.is_file() or path.stat().st_size == 0:
        return None, False
    try:
        conn = open_database_readonly(path)
    except sqlite3.Error:
        return None, False
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (CLINIC_ID,)).fetchone()
        has_rows = conn.execute("SELECT EXISTS (SELECT 1 FROM audit)").fetchone()[0]
        needs_file = bool(has_rows) and not audit_log.is_sealed(conn)
        return (None if row is None else str(row[0])), needs_file
    except sqlite3.Error:
        return None, False
    finally:
        conn.close()


def _require_key(path: Path, key_dir: Path) -> None:
    """Refuse, before anything is written, a database whose audit rows have no key here."""
    clinic_id, has_rows = _peek_audit(path)
    if not has_rows:
        return
    if clinic_id is None:
        raise AuditKeyProblem(
            f"{path} has audit rows but no clinic id, so its audit key cannot be found; the "
            "database was not opened. Restore it from a backup. The database was not changed."
        )
    key = audit_log.key_path(key_dir, clinic_id)
    if not key.exists():
        raise AuditKeyProblem(audit_log.missing_key_message(key))


def _refuse_lost_database(path: Path, key_dir: Path) -> None:
    """A registered database that is gone or empty is a loss, not a new clinic."""
    try:
        entry = audit_log.registry_entry(key_dir, path)
    except ValueError:
        return
    if entry is None:
        return
    size = path.stat().st_size if path.exists() else None
    if size:
        return
    what = "does not exist" if size is None else "is empty (0 bytes)"
    raise DataLoss(
        f"{path} {what}, but this computer recorded the clinic {entry[1].clinic_id} there with "
        f"{entry[1].seq} audit rows. It was not opened as a new clinic, so the loss stays "
        "visible. Restore the latest backup (`tpi-chart restore FILE`); if the clinic really "
        "moved, open the database where it is now with --db."
    )


def open_store_readonly(path: Path, key_dir: Path) -> SqliteStore:
    """Open the database without writing anything (`audit verify`, rescue of a read-only disk):
    `mode=ro`, or `immutable=1` when even the -shm cannot be created; no migration, no anchor
    or registry update. Every write is refused with `ReadOnlyDatabase`."""
    if not path.is_file():
        raise StorageError(f"{path}: no such database; check --db or TPI_CHART_DB")
    if path.stat().st_size > 0:
        inspect_file_readonly(path)
    conn = _connect_readonly(path)
    try:
        return SqliteStore(conn, path, key_dir, readonly=True)
    except BaseException:
        conn.close()
        raise


def _connect_readonly(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri()
    last: sqlite3.Error | None = None
    # Without a -wal file every committed change is in the main file: `immutable` reads it
    # without creating -wal/-shm files beside it. With one, `mode=ro` reads the WAL too.
    wal = path.with_name(path.name + "-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    queries = ("mode=ro", "mode=ro&immutable=1") if has_wal else ("mode=ro&immutable=1",)
    for query in queries:
        try:
            conn = sqlite3.connect(
                f"{uri}?{query}", uri=True, isolation_level=None, factory=Connection
            )
            conn.row_factory = sqlite3.Row
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            return conn
        except sqlite3.Error as error:
            last = error
    assert last is not None
    raise translate(last, path) from last


def inspect_file_readonly(path: Path) -> None:
    """Refuse a file that is not a TPI Chart database, without needing to write anything."""
    with path.open("rb") as handle:
        header = handle.read(16)
    if header != b"SQLite format 3\x00":
        raise StorageError(f"{path} is not a TPI Chart database (it is not an SQLite file)")


def is_read_only_place(path: Path) -> bool:
    """Whether the database file or its folder cannot be written (a read-only disk, medium or
    permission): the read commands then open it read-only."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def open_store(
    path: Path,
    key_dir: Path,
    *,
    exclusive: bool = False,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    for_restore: bool = False,
) -> SqliteStore:
    """Refuse a database whose audit key is missing, then open, check and migrate it (see
    `open_database`) with its audit key. With `exclusive` (the window), first take the
    single-instance lock (`AlreadyOpen` when another window has the database); it is released by
    `SqliteStore.close()`. Commands do not take it: SQLite serialises their writes with the
    window's, and a backup or an audit check must work while the app is open."""
    lock = InstanceLock.acquire(path) if exclusive else None
    try:
        if not for_restore:
            _refuse_lost_database(path, key_dir)
        _require_key(path, key_dir)
        conn = open_database(path, busy_timeout_ms)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    try:
        return SqliteStore(conn, path, key_dir, lock, check_registry=not for_restore)
    except BaseException:
        conn.close()
        if lock is not None:
            lock.release()
        raise
