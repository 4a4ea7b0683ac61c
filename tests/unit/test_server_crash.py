"""Crash consistency against the server (issue 18): a workstation's process charting on the
clinic's PostgreSQL server is killed with SIGKILL at random moments. The server rolls back the
transaction of a connection that died; what the process acknowledged (after COMMIT) must all be
there, no procedure may be there in part, every row must have its audit row, and the audit chain,
appended under the head row lock by every one of the killed writers, must verify. Afterwards the
clinic takes writes again (no dead writer's lock is left behind)."""

from __future__ import annotations

import os
import secrets

import pytest

from tests.kill_writer import kill_rounds
from tests.users import staff
from tpi_chart.domain.models import Site
from tpi_chart.services.context import build_services
from tpi_chart.storage.postgres.store import open_postgres_store

#: Kills per run (about 1 s each: a new interpreter connects, charts, is killed).
ROUNDS = int(os.environ.get("TPI_CHART_KILL_ROUNDS", "30"))
FORK = os.environ.get("TPI_CHART_KILL_FORK") == "1" and hasattr(os, "fork")


@pytest.mark.slow
def test_acknowledged_edits_on_the_server_survive_sigkill(pg_url: str) -> None:
    key = secrets.token_bytes(32)
    acknowledged = kill_rounds([pg_url, key.hex()], ROUNDS, FORK, seed=20261126)
    assert len(acknowledged.sites) > ROUNDS
    assert acknowledged.procedures  # whole procedures were acknowledged too
    store = open_postgres_store(pg_url, key=key)
    try:
        conn = store.conn
        sites = {
            int(row[0]): int(row[1]) for row in conn.execute("SELECT id, procedure_id FROM sites")
        }
        assert acknowledged.sites <= set(sites)
        for procedure_id, count in acknowledged.procedures.items():
            assert sum(1 for owner in sites.values() if owner == procedure_id) == count
        # No half-written procedure: each stored "whole n" procedure has its n sites.
        whole = set()
        for (procedure_id,) in conn.execute("SELECT id FROM procedures"):
            record = store.procedures.get(int(procedure_id))
            assert record is not None
            notes = record.procedure.notes or ""
            if notes.startswith("whole "):
                whole.add(int(procedure_id))
                assert len(record.site_ids) == int(notes.split()[1]), procedure_id

        def audited(entity: str) -> set[int]:
            return {
                int(row[0])
                for row in conn.execute(
                    "SELECT entity_id FROM audit WHERE entity = ? AND action = 'create'", (entity,)
                )
            }

        # No row without its audit row, no audit row without its row.
        assert audited("site") == {site for site, owner in sites.items() if owner not in whole}
        assert audited("procedure") == {
            int(row[0]) for row in conn.execute("SELECT id FROM procedures")
        }
        assert audited("patient") == {
            int(row[0]) for row in conn.execute("SELECT id FROM patients")
        }
        report = store.audit.verify()
        print(
            f"\nSIGKILL rounds on the server {ROUNDS}: acknowledged sites "
            f"{len(acknowledged.sites)}, whole procedures {len(acknowledged.procedures)}, audit "
            f"rows {report.rows_checked} (chain ok: {report.ok})"
        )
        assert report.ok, report.reason
        # The killed writers left no lock: a save goes through at once.
        services = build_services(store, staff("checker"))
        some_procedure = next(iter(acknowledged.procedures))
        services.charting.add_site(
            some_procedure, Site(muscle="deltoid", side="left", state="planned")
        )
        assert store.audit.verify().ok
    finally:
        store.close()
