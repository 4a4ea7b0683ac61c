"""Reads by index for a clinic's tenth year (issue 15): a patient's every visit in a fixed number
of queries, whatever their number, and patient search through the trigram index of v0018.

Plain functions over a `sqlite3.Connection` (rows with `sqlite3.Row`), called by the
repositories; the rows become the same records the per-visit reads built.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any

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


def procedures(conn: sqlite3.Connection, key: str, value: int) -> list[ProcedureRecord]:
    """The procedures whose `key` ("id" or "patient_id") is `value`, each with its preparations,
    sites, pain drawing, signature, addenda and imported signature, in seven queries however
    many there are; ordered by date of service (then id)."""
    if key not in ("id", "patient_id"):
        raise ValueError(key)
    where = f"p.{key} = ?"
    rows = conn.execute(
        f"SELECT * FROM procedures p WHERE {where} ORDER BY p.performed_at_utc, p.id", (value,)
    ).fetchall()
    if not rows:
        return []
    components: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(
        "SELECT c.preparation_id, c.agent, c.concentration, c.volume_ml, c.lot, c.expires,"
        " c.ndc, c.container, c.container_ml FROM components c"
        " JOIN preparations r ON r.id = c.preparation_id JOIN procedures p ON p.id = r.procedure_id"
        f" WHERE {where} ORDER BY c.preparation_id, c.seq",
        (value,),
    ):
        components[int(row[0])].append({k: row[k] for k in _COMPONENT_FIELDS if row[k] is not None})
    preparations: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(
        "SELECT r.procedure_id, r.id, r.code, r.label FROM preparations r"
        f" JOIN procedures p ON p.id = r.procedure_id WHERE {where} ORDER BY r.procedure_id, r.seq",
        (value,),
    ):
        data: dict[str, Any] = {"id": row["code"], "components": components[int(row["id"])]}
        if row["label"] is not None:
            data["label"] = row["label"]
        preparations[int(row[0])].append(data)
    # Plain data, validated with its procedure in one call (not one model per site).
    sites: dict[int, list[tuple[int, int, dict[str, Any]]]] = defaultdict(list)
    for row in conn.execute(
        "SELECT s.* FROM sites s JOIN procedures p ON p.id = s.procedure_id"
        f" WHERE {where} AND NOT s.removed ORDER BY s.procedure_id, s.seq",
        (value,),
    ):
        sites[int(row["procedure_id"])].append((int(row["id"]), _version(row), _site_data(row)))
    drawings = _strokes(conn, where, value)
    addenda: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(
        "SELECT a.procedure_id, a.data FROM addenda a JOIN procedures p ON p.id = a.procedure_id"
        f" WHERE {where} ORDER BY a.procedure_id, a.seq",
        (value,),
    ):
        addenda[int(row[0])].append(json.loads(row[1]))
    external = {
        int(row[0]): json.loads(row[1])
        for row in conn.execute(
            "SELECT e.procedure_id, e.data FROM external_records e"
            f" JOIN procedures p ON p.id = e.procedure_id WHERE {where}",
            (value,),
        )
    }
    return [
        _record(row, preparations, sites, drawings, addenda, external.get(int(row["id"])))
        for row in rows
    ]


def _strokes(conn: sqlite3.Connection, where: str, value: int) -> dict[int, PainDrawing]:
    strokes: dict[int, list[Any]] = defaultdict(list)
    try:
        for row in conn.execute(
            "SELECT d.procedure_id, d.data FROM pain_strokes d"
            " JOIN procedures p ON p.id = d.procedure_id"
            f" WHERE {where} AND NOT d.removed ORDER BY d.procedure_id, d.seq",
            (value,),
        ):
            strokes[int(row[0])].append(json.loads(row[1]))
    except sqlite3.OperationalError as error:
        if not _no_table(error):  # a database from before v0016 opened read-only
            raise
    return {
        procedure_id: PainDrawing.model_validate({"strokes": items})
        for procedure_id, items in strokes.items()
    }


def _record(
    row: sqlite3.Row,
    preparations: dict[int, list[dict[str, Any]]],
    sites: dict[int, list[tuple[int, int, dict[str, Any]]]],
    drawings: dict[int, PainDrawing],
    addenda: dict[int, list[Any]],
    external: Any,
) -> ProcedureRecord:
    procedure_id = int(row["id"])
    data: dict[str, Any] = json.loads(row["header"])
    data["performed_at"] = row["performed_at"]
    data["status"] = row["status"]
    data["payer_profile"] = row["payer_profile"]
    data["preparations"] = preparations.get(procedure_id, [])
    own_sites = sites.get(procedure_id, [])
    data["sites"] = [site for _id, _version, site in own_sites]
    if procedure_id in drawings:
        data["pain_drawing"] = drawings[procedure_id]
    if row["signed_by"] is not None:
        data["signature"] = {
            "signed_by": row["signed_by"],
            "signed_at": row["signed_at"],
            "content_hash": row["content_hash"],
            "acknowledged_warnings": json.loads(row["acknowledgements"] or "[]"),
        }
    data["addenda"] = addenda.get(procedure_id, [])
    if external is not None:  # signed elsewhere, imported read-only (v0011)
        data["status"] = "external"
        data["external_signature"] = external["external_signature"]
        data["addenda"] = external.get("addenda", [])
    return ProcedureRecord(
        id=procedure_id,
        patient_id=int(row["patient_id"]),
        procedure=Procedure.model_validate(data),
        site_ids=tuple(site_id for site_id, _version, _site in own_sites),
        version=_version(row),
        site_versions=tuple(version for _id, version, _site in own_sites),
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
    rows = conn.execute(
        "SELECT id FROM procedures WHERE status = 'signed' AND id > ? ORDER BY id LIMIT ?",
        (after, -1 if limit is None else limit),
    )
    return [int(row[0]) for row in rows]
