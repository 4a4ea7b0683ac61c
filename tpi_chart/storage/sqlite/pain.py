"""The pain drawing's strokes (schema: `migrations/v0016_pain_drawings.py`), one row per stroke.

Each change is audited in its own transaction, like a site's. A removed stroke keeps its row
(`removed = 1`) so an undo brings back the same stroke; the procedure's drawing is its
non-removed strokes in drawing order.
"""

from __future__ import annotations

import json
import sqlite3

from tpi_chart.domain.models import PainDrawing, PainStroke
from tpi_chart.storage.interfaces import StrokeRecord
from tpi_chart.storage.sqlite.audited import AuditedWrites, dumps, patient_of


def _no_table(error: sqlite3.OperationalError) -> bool:
    return "no such table: pain_strokes" in str(error)


def read_drawing(conn: sqlite3.Connection, procedure_id: int) -> PainDrawing | None:
    """The procedure's drawing as stored (None: no strokes, or a database from before v0016
    opened read-only, which has no stroke table)."""
    try:
        rows = conn.execute(
            "SELECT data FROM pain_strokes WHERE procedure_id = ? AND NOT removed ORDER BY seq",
            (procedure_id,),
        ).fetchall()
    except sqlite3.OperationalError as error:
        if _no_table(error):
            return None
        raise
    if not rows:
        return None
    return PainDrawing.model_validate({"strokes": [json.loads(row[0]) for row in rows]})


def insert_stroke(conn: sqlite3.Connection, procedure_id: int, stroke: PainStroke) -> int:
    (seq,) = conn.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM pain_strokes WHERE procedure_id = ?",
        (procedure_id,),
    ).fetchone()
    cursor = conn.execute(
        "INSERT INTO pain_strokes (procedure_id, seq, data) VALUES (?, ?, ?)",
        (procedure_id, seq, dumps(stroke.model_dump(mode="json"))),
    )
    return int(cursor.lastrowid or 0)


class SqlitePainStrokes:
    def __init__(self, writes: AuditedWrites) -> None:
        self._writes = writes

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._writes.conn

    def _patient_of(self, procedure_id: int) -> int:
        return patient_of(self._conn, procedure_id)

    @staticmethod
    def _record(row: sqlite3.Row) -> StrokeRecord:
        return StrokeRecord(
            id=int(row["id"]),
            procedure_id=int(row["procedure_id"]),
            seq=int(row["seq"]),
            removed=bool(row["removed"]),
            stroke=PainStroke.model_validate(json.loads(row["data"])),
        )

    def strokes(self, procedure_id: int, include_removed: bool = False) -> list[StrokeRecord]:
        where = "" if include_removed else " AND NOT removed"
        try:
            rows = self._conn.execute(
                f"SELECT * FROM pain_strokes WHERE procedure_id = ?{where} ORDER BY seq",
                (procedure_id,),
            ).fetchall()
        except sqlite3.OperationalError as error:
            if _no_table(error):  # an older database opened read-only (not migrated)
                return []
            raise
        return [self._record(row) for row in rows]

    def get_stroke(self, stroke_id: int) -> StrokeRecord | None:
        row = self._conn.execute("SELECT * FROM pain_strokes WHERE id = ?", (stroke_id,)).fetchone()
        return None if row is None else self._record(row)

    def add_stroke(self, procedure_id: int, stroke: PainStroke, user: str) -> StrokeRecord:
        with self._writes.audited(
            user,
            "create",
            "pain_stroke",
            procedure_id=procedure_id,
            after=stroke.model_dump(mode="json"),
        ) as change:
            change.patient_id = self._patient_of(procedure_id)
            change.entity_id = stroke_id = insert_stroke(self._conn, procedure_id, stroke)
            record = self.get_stroke(stroke_id)
        assert record is not None
        return record

    def set_stroke_removed(self, stroke_id: int, removed: bool, user: str) -> StrokeRecord:
        action = "delete" if removed else "restore"
        with self._writes.audited(
            user, action, "pain_stroke", entity_id=stroke_id, after={"removed": removed}
        ) as change:
            before = self.get_stroke(stroke_id)
            if before is None:
                raise KeyError(stroke_id)
            self._conn.execute(
                "UPDATE pain_strokes SET removed = ? WHERE id = ?", (removed, stroke_id)
            )
            change.patient_id = self._patient_of(before.procedure_id)
            change.procedure_id = before.procedure_id
            change.before = {"removed": before.removed}
            record = self.get_stroke(stroke_id)
        assert record is not None
        return record
