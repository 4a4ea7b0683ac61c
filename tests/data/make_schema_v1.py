"""Regenerate tests/data/schema-v1.db: a database at schema version 1 (only migration 1 applied)
with one patient, one procedure, its preparation and two sites, written as raw rows.

Run once: `.venv/bin/python tests/data/make_schema_v1.py`. The committed file is frozen: do not
regenerate it after migration 1 ships (that is what makes the upgrade test real).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tpi_chart.storage.sqlite.connection import connect, migrate

TARGET = Path(__file__).with_name("schema-v1.db")

PATIENT = {
    "mrn": "V1001",
    "family_name": "Ødegård",
    "given_name": "Ingrid",
    "birth_date": "1961-02-03",
    "sex": "female",
    "weight_kg": 71.5,
    "allergies": ["latex"],
    "anticoagulated": False,
    "anticoagulant": None,
    "pregnant": None,
}


def main() -> None:
    TARGET.unlink(missing_ok=True)
    conn = connect(TARGET)
    migrate(conn, target=1)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO patients (id, mrn, family_name, given_name, birth_date, sex, search_name,"
        " data)"
        " VALUES (1, 'V1001', 'Ødegård', 'Ingrid', '1961-02-03', 'female',"
        " 'odegard ingrid odegard', ?)",
        (json.dumps(PATIENT, ensure_ascii=False),),
    )
    conn.execute(
        "INSERT INTO procedures (id, patient_id, performed_at, performed_at_utc, status,"
        " payer_profile, header) VALUES (1, 1, '2025-03-04T10:00:00+01:00',"
        " '2025-03-04T09:00:00.000000Z', 'in_progress', 'none', ?)",
        (json.dumps({"diagnoses": ["M79.18"], "pain_before": 6}),),
    )
    conn.execute("INSERT INTO preparations (id, procedure_id, seq, code) VALUES (1, 1, 1, 'A')")
    conn.execute(
        "INSERT INTO components (preparation_id, seq, agent, concentration, volume_ml, lot,"
        " expires) VALUES (1, 1, 'lidocaine', '1%', 5.0, 'OLD42', '2026-01-31')"
    )
    for seq, (muscle, side) in enumerate([("gluteus_medius", "left"), ("piriformis", "left")], 1):
        conn.execute(
            "INSERT INTO sites (procedure_id, seq, muscle, side, state, preparation, volume_ml)"
            " VALUES (1, ?, ?, ?, 'injected', 'A', 2.0)",
            (seq, muscle, side),
        )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    check = sqlite3.connect(TARGET)
    print(
        check.execute("PRAGMA user_version").fetchone(),
        check.execute("PRAGMA journal_mode").fetchone(),
    )
    check.close()


if __name__ == "__main__":
    main()
