"""Reads by index for a clinic's tenth year (issue 15): a patient's every visit in a fixed number
of queries, whatever their number, and patient search through the trigram index of v0018.

Plain functions over a `sqlite3.Connection` (rows with `sqlite3.Row`), called by the
repositories; the rows become the same records the per-visit reads built.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any

from tpi_chart.domain.catalog import Catalog, load_catalog
from tpi_chart.domain.models import FollowUp, PainDrawing, Procedure, Site
from tpi_chart.storage.interfaces import FollowUpRecord, ProcedureRecord

#: Site columns that go into the model only when set.
_SITE_OPTIONAL = (
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
)
_COMPONENT_FIELDS = (
    "agent",
    "concentration",
    "volume_ml",
    "lot",
    "expires",
    "ndc",
    "container",
    "container_ml",
)


def site_from_row(row: sqlite3.Row) -> Site:
    return Site.model_validate(_site_data(row))


def _site_data(row: sqlite3.Row) -> dict[str, Any]:
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
    for name in _SITE_OPTIONAL:
        if row[name] is not None:
            data[name] = row[name]
    if row["dry_needling"]:
        data["dry_needling"] = True
    if row["needle_gauge"] is not None:
        data["needle"] = {"gauge": row["needle_gauge"], "length_in": row["needle_length_in"]}
    return data


def _version(row: sqlite3.Row) -> int:
    # A database opened read-only is not migrated: before schema v7 every row is version 1.
    columns: list[str] = row.keys()  # sqlite3.Row's `in` tests values, not column names
    return int(row["version"]) if "version" in columns else 1


def _no_table(error: sqlite3.OperationalError) -> bool:
    return str(error).startswith("no such table")


#: Records already built, by everything they were built from (`_Rows.key`): the procedure's row
#: and every child row, byte for byte. A hit is what validating the same rows again would give
#: (frozen models, validated against the same catalog), so nothing is trusted that was not
#: checked: a row changed in any way, by this app or by hand, is a new key and is validated
#: afresh. Opening a ten-year History again, or re-reading the visit being charted, skips the
#: validation that was half of that read. Bounded; cleared when another catalog comes in force.
_MEMO: OrderedDict[tuple[Any, ...], ProcedureRecord] = OrderedDict()
_MEMO_SIZE = 512
_memo_lock = threading.Lock()
_memo_catalog: list[Catalog] = []


@dataclass
class _Rows:
    """One procedure's stored rows, as read."""

    row: sqlite3.Row
    preparations: list[sqlite3.Row] = field(default_factory=list)
    components: list[sqlite3.Row] = field(default_factory=list)
    sites: list[sqlite3.Row] = field(default_factory=list)
    strokes: list[str] = field(default_factory=list)
    addenda: list[str] = field(default_factory=list)
    external: str | None = None

    def key(self) -> tuple[Any, ...]:
        return (
            tuple(self.row),
            tuple(map(tuple, self.preparations)),
            tuple(map(tuple, self.components)),
            tuple(map(tuple, self.sites)),
            tuple(self.strokes),
            tuple(self.addenda),
            self.external,
        )


def _remembered(key: tuple[Any, ...]) -> ProcedureRecord | None:
    with _memo_lock:
        catalog = load_catalog()
        if not _memo_catalog or _memo_catalog[0] is not catalog:
            _MEMO.clear()
            _memo_catalog[:] = [catalog]
        record = _MEMO.get(key)
        if record is not None:
            _MEMO.move_to_end(key)
        return record


def _remember(key: tuple[Any, ...], record: ProcedureRecord) -> None:
    with _memo_lock:
        _MEMO[key] = record
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)


def procedures(conn: sqlite3.Connection, key: str, value: int) -> list[ProcedureRecord]:
    """The procedures whose `key` ("id" or "patient_id") is `value`, each with its preparations,
    sites, pain drawing, signature, addenda and imported signature, in seven queries however
    many there are; ordered by date of service (then id)."""
    if key not in ("id", "patient_id"):
        raise ValueError(key)
    where = f"p.{key} = ?"
    read = {
        int(row["id"]): _Rows(row)
        for row in conn.execute(
            f"SELECT * FROM procedures p WHERE {where} ORDER BY p.performed_at_utc, p.id", (value,)
        )
    }
    if not read:
        return []
    for row in conn.execute(
        "SELECT r.procedure_id, c.preparation_id, c.agent, c.concentration, c.volume_ml, c.lot,"
        " c.expires, c.ndc, c.container, c.container_ml FROM components c"
        " JOIN preparations r ON r.id = c.preparation_id JOIN procedures p ON p.id = r.procedure_id"
        f" WHERE {where} ORDER BY c.preparation_id, c.seq",
        (value,),
    ):
        read[int(row[0])].components.append(row)
    for row in conn.execute(
        "SELECT r.procedure_id, r.id, r.code, r.label FROM preparations r"
        f" JOIN procedures p ON p.id = r.procedure_id WHERE {where} ORDER BY r.procedure_id, r.seq",
        (value,),
    ):
        read[int(row[0])].preparations.append(row)
    for row in conn.execute(
        "SELECT s.* FROM sites s JOIN procedures p ON p.id = s.procedure_id"
        f" WHERE {where} AND NOT s.removed ORDER BY s.procedure_id, s.seq",
        (value,),
    ):
        read[int(row["procedure_id"])].sites.append(row)
    for procedure_id, stroke in _strokes(conn, where, value):
        read[procedure_id].strokes.append(stroke)
    for row in conn.execute(
        "SELECT a.procedure_id, a.data FROM addenda a JOIN procedures p ON p.id = a.procedure_id"
        f" WHERE {where} ORDER BY a.procedure_id, a.seq",
        (value,),
    ):
        read[int(row[0])].addenda.append(row[1])
    for row in conn.execute(
        "SELECT e.procedure_id, e.data FROM external_records e"
        f" JOIN procedures p ON p.id = e.procedure_id WHERE {where}",
        (value,),
    ):
        read[int(row[0])].external = row[1]
    records = []
    for rows in read.values():
        memo_key = rows.key()
        record = _remembered(memo_key)
        if record is None:
            record = _record(rows)
            _remember(memo_key, record)
        records.append(record)
    return records


def _strokes(conn: sqlite3.Connection, where: str, value: int) -> list[tuple[int, str]]:
    try:
        return [
            (int(row[0]), row[1])
            for row in conn.execute(
                "SELECT d.procedure_id, d.data FROM pain_strokes d"
                " JOIN procedures p ON p.id = d.procedure_id"
                f" WHERE {where} AND NOT d.removed ORDER BY d.procedure_id, d.seq",
                (value,),
            )
        ]
    except sqlite3.OperationalError as error:
        if not _no_table(error):  # a database from before v0016 opened read-only
            raise
    return []


def _record(rows: _Rows) -> ProcedureRecord:
    row = rows.row
    procedure_id = int(row["id"])
    components: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for part in rows.components:
        components[int(part["preparation_id"])].append(
            {k: part[k] for k in _COMPONENT_FIELDS if part[k] is not None}
        )
    preparations = []
    for preparation in rows.preparations:
        prepared: dict[str, Any] = {
            "id": preparation["code"],
            "components": components[int(preparation["id"])],
        }
        if preparation["label"] is not None:
            prepared["label"] = preparation["label"]
        preparations.append(prepared)
    data: dict[str, Any] = json.loads(row["header"])
    data["performed_at"] = row["performed_at"]
    data["status"] = row["status"]
    data["payer_profile"] = row["payer_profile"]
    data["preparations"] = preparations
    # Plain data, validated with its procedure in one call (not one model per site).
    data["sites"] = [_site_data(site) for site in rows.sites]
    if rows.strokes:
        data["pain_drawing"] = PainDrawing.model_validate(
            {"strokes": [json.loads(stroke) for stroke in rows.strokes]}
        )
    if row["signed_by"] is not None:
        data["signature"] = {
            "signed_by": row["signed_by"],
            "signed_at": row["signed_at"],
            "content_hash": row["content_hash"],
            "acknowledged_warnings": json.loads(row["acknowledgements"] or "[]"),
        }
    data["addenda"] = [json.loads(addendum) for addendum in rows.addenda]
    if rows.external is not None:  # signed elsewhere, imported read-only (v0011)
        external = json.loads(rows.external)
        data["status"] = "external"
        data["external_signature"] = external["external_signature"]
        data["addenda"] = external.get("addenda", [])
    return ProcedureRecord(
        id=procedure_id,
        patient_id=int(row["patient_id"]),
        procedure=Procedure.model_validate(data),
        site_ids=tuple(int(site["id"]) for site in rows.sites),
        version=_version(row),
        site_versions=tuple(_version(site) for site in rows.sites),
    )


def follow_ups(conn: sqlite3.Connection, key: str, value: int) -> list[FollowUpRecord]:
    """The follow-up entries of the procedures whose `key` ("id" or "patient_id") is `value`,
    oldest first (for each visit the last one counts), in one query."""
    if key not in ("id", "patient_id"):
        raise ValueError(key)
    return [
        FollowUpRecord(
            int(r["id"]),
            int(r["procedure_id"]),
            FollowUp.model_validate_json(r["data"]),
            str(r["recorded_at"]),
            str(r["recorded_by"]),
        )
        for r in conn.execute(
            "SELECT f.* FROM follow_ups f JOIN procedures p ON p.id = f.procedure_id"
            f" WHERE p.{key} = ? ORDER BY f.id",
            (value,),
        )
    ]


def signed_ids(conn: sqlite3.Connection, after: int, limit: int | None) -> list[int]:
    """Ids of the signed procedures above `after`, ascending, at most `limit` (None: all): the
    start-up re-hashes a few and must not list a clinic's half million to do so."""
    # No LIMIT for all: SQLite's "LIMIT -1" is refused by PostgreSQL.
    sql = "SELECT id FROM procedures WHERE status = 'signed' AND id > ? ORDER BY id"
    rows = (
        conn.execute(sql, (after,))
        if limit is None
        else conn.execute(f"{sql} LIMIT ?", (after, limit))
    )
    return [int(row[0]) for row in rows]
