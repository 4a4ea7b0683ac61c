"""Two workstations (two processes) edit the same patients on one PostgreSQL server at once
(issue 18): no save is lost, every conflict is refused as stale, and the audit chain, appended by
both under the clinic's head row lock, has not forked."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_storage import reference
from tpi_chart.storage.postgres.store import open_postgres_store

EDITS = 1000
PATIENTS = 5  # few, so that the two rooms keep colliding


@pytest.mark.slow
def test_two_rooms_editing_the_same_patients_lose_nothing(pg_url: str) -> None:
    key = secrets.token_bytes(32)
    store = open_postgres_store(pg_url, key=key)
    base = reference().patient
    for number in range(PATIENTS):
        store.patients.add(base.model_copy(update={"mrn": f"C{number}"}), "setup")
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    rooms = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.pg_worker", pg_url, key.hex(), str(seed), str(EDITS)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env=env,
        )
        for seed in (1, 2)
    ]
    results = []
    for room in rooms:
        out, _ = room.communicate(timeout=600)
        assert room.returncode == 0
        results.append(json.loads(out))
    try:
        saved = {record.id: 0 for record in store.patients.search("", 100)}
        for result in results:
            for patient_id, count in result["saved"].items():
                saved[int(patient_id)] += count
        stale = sum(result["stale"] for result in results)
        assert sum(saved.values()) + stale == 2 * EDITS  # every edit saved or refused
        assert stale > 0  # the rooms did collide
        for patient_id, count in saved.items():
            record = store.patients.get(patient_id)
            assert record is not None
            # 0 lost updates: every save is counted in the record and in its version.
            assert int(record.patient.member_id or 0) == count
            assert record.version == 1 + count
        report = store.audit.verify()
        assert report.ok, report.reason
        assert report.rows_checked == PATIENTS + sum(saved.values())
    finally:
        store.close()
