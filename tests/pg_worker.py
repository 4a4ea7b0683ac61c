"""One workstation's share of the concurrency test (tests/unit/test_postgres_concurrency.py): a
process of its own editing patients on the shared server, each edit from the copy it read.

Run as `python -m tests.pg_worker URL KEY_HEX SEED EDITS`; prints one JSON line: the saves
that succeeded per patient id, and how many were refused as stale.
"""

from __future__ import annotations

import json
import random
import sys
import time

from tpi_chart.storage.errors import StaleRecord
from tpi_chart.storage.postgres.store import open_postgres_store


def main(url: str, key_hex: str, seed: int, edits: int) -> dict[str, object]:
    store = open_postgres_store(url, key=bytes.fromhex(key_hex), pool_size=2)
    rng = random.Random(seed)
    ids = [record.id for record in store.patients.search("", 1000)]
    saved: dict[int, int] = {}
    stale = 0
    started = time.perf_counter()
    try:
        for _ in range(edits):
            patient_id = rng.choice(ids)
            record = store.patients.get(patient_id)
            assert record is not None
            count = int(record.patient.member_id or 0) + 1
            changed = record.patient.model_copy(update={"member_id": str(count)})
            try:
                store.patients.update(patient_id, changed, f"room{seed}", record.version)
            except StaleRecord:
                stale += 1
                continue
            saved[patient_id] = saved.get(patient_id, 0) + 1
    finally:
        store.close()
    return {"saved": saved, "stale": stale, "seconds": time.perf_counter() - started}


if __name__ == "__main__":
    url, key_hex, seed, edits = sys.argv[1:5]
    print(json.dumps(main(url, key_hex, int(seed), int(edits))))
