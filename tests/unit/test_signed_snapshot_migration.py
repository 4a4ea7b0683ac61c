"""Schema v5: a signed procedure keeps its patient (and earlier sessions) as they were at signing.
Procedures signed before v5 get the patient as stored when the database is upgraded."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tpi_chart.storage.sqlite.connection import connect, migrate
from tpi_chart.storage.sqlite.migrations import SCHEMA_VERSION

SCHEMA_V1 = Path(__file__).parents[1] / "data" / "schema-v1.db"


def test_upgrade_keeps_the_patient_of_each_signed_procedure(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(SCHEMA_V1, path)
    conn = connect(path)
    try:
        assert migrate(conn, target=4) == 4
        conn.execute(
            "UPDATE procedures SET status = 'signed', signed_by = 'Dr. Old', signed_at = ?,"
            " content_hash = ?, acknowledgements = '[]' WHERE id = 1",
            ("2025-01-02T10:00:00-07:00", "0" * 64),
        )
        (patient,) = conn.execute("SELECT data FROM patients WHERE id = 1").fetchone()

        assert migrate(conn) == SCHEMA_VERSION

        rows = conn.execute("SELECT procedure_id, patient, prior_procedures FROM signed_snapshots")
        assert [tuple(row) for row in rows] == [(1, patient, None)]
        for statement in (
            "UPDATE signed_snapshots SET patient = '{}' WHERE procedure_id = 1",
            "DELETE FROM signed_snapshots WHERE procedure_id = 1",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="signed"):
                conn.execute(statement)
    finally:
        conn.close()
