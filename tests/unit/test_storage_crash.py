"""Crash consistency (reliability.md §5.3): a writer acknowledges each site only after COMMIT and
is killed with SIGKILL at random moments; every acknowledged site must be in the database, the
database must pass integrity_check, each site must have its audit row and the chain must verify."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.kill_writer import kill_rounds
from tests.users import staff
from tpi_chart.services.context import open_services

#: Kills per run. The long mode (reliability.md R1, docs/reliability.md), from the checkout:
#: TPI_CHART_KILL_ROUNDS=1000 TPI_CHART_KILL_FORK=1 .venv/bin/python -m pytest -p no:xdist -s \
#:     tests/unit/test_storage_crash.py
ROUNDS = int(os.environ.get("TPI_CHART_KILL_ROUNDS", "20"))
FORK = os.environ.get("TPI_CHART_KILL_FORK") == "1" and hasattr(os, "fork")


@pytest.mark.slow
def test_acknowledged_sites_survive_sigkill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "crash.db"
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    acknowledged = kill_rounds([str(db)], ROUNDS, FORK, seed=20261123).sites
    assert len(acknowledged) > ROUNDS
    with open_services(db, staff("checker")) as services:
        conn = services.store.conn  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = {row[0] for row in conn.execute("SELECT id FROM sites")}
        assert acknowledged <= stored
        audited = {
            row[0]
            for row in conn.execute(
                "SELECT entity_id FROM audit WHERE entity = 'site' AND action = 'create'"
            )
        }
        assert audited == stored  # no site without its audit row, no audit row without its site
        report = services.store.audit.verify()
        # The figures docs/reliability.md records (shown with `-s`).
        print(
            f"\nSIGKILL rounds {ROUNDS}: acknowledged sites {len(acknowledged)}, stored "
            f"{len(stored)}, acknowledged lost {len(acknowledged - stored)}, audit rows "
            f"{report.rows_checked} (chain ok: {report.ok})"
        )
        assert report.ok
