"""Crash consistency (reliability.md §5.3): a writer acknowledges each site only after COMMIT and
is killed with SIGKILL at random moments; every acknowledged site must be in the database, the
database must pass integrity_check, each site must have its audit row and the chain must verify."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.users import staff
from tpi_chart.domain.models import Patient, Procedure, Site
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services

WRITER = """
import sys
from pathlib import Path
from tests.unit.test_storage_crash import write_until_killed
write_until_killed(Path(sys.argv[1]), lambda line: print(line, flush=True))
"""


def write_until_killed(db: Path, emit: Callable[[str], None]) -> None:
    """The writer: "ready", then one "saved <site id>" line after each committed site, forever.
    Each writer charts its own patient's procedure: one procedure holding every site of a
    thousand rounds would make each save slower than the last (a save re-reads its procedure)."""
    services = open_services(
        db,
        User(username="crash-writer", display_name="crash-writer", roles=frozenset({"physician"})),
    )
    patient = services.patients.create(
        Patient(
            mrn=f"K{os.getpid()}-{time.time_ns()}",
            family_name="Kill",
            given_name="Test",
            birth_date="1970-01-01",
            sex="unknown",
        )
    )
    procedure_id = services.charting.create(
        patient.id, Procedure(performed_at=datetime(2026, 1, 1, tzinfo=UTC))
    ).id
    emit("ready")
    muscles = ["upper_trapezius", "levator_scapulae", "deltoid", "infraspinatus"]
    n = 0
    while True:
        stored = services.charting.add_site(
            procedure_id,
            Site(muscle=muscles[n % 4], side="left", volume_ml=1.0, notes="x" * (n % 50 + 1)),
        )
        emit(f"saved {stored.id}")
        n += 1


class Writer:
    """One writer process to kill: a new interpreter (default), or with
    `TPI_CHART_KILL_FORK=1` a fork of this one (Linux/macOS), which skips the interpreter's
    start-up (seconds on a busy machine) so that a thousand kills take minutes. Either way the
    process opens the database itself, writes, and dies by SIGKILL."""

    def __init__(self, db: Path, fork: bool) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.pid = 0
        if not fork:
            self.process = subprocess.Popen(
                [sys.executable, "-c", WRITER, str(db)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(os.environ),
                text=True,
            )
            assert self.process.stdout is not None
            self.stream = self.process.stdout
            return
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            os.close(read)
            try:
                write_until_killed(db, lambda line: os.write(write, f"{line}\n".encode()))
            except BaseException as error:
                os.write(write, f"error {error!r}\n".encode())
            finally:
                os._exit(3)
        os.close(write)
        self.pid = pid
        self.stream = os.fdopen(read, "r")

    def kill(self) -> tuple[str, bool]:
        """SIGKILL; what it printed after the last read, and whether SIGKILL is what ended it."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            rest, _ = self.process.communicate(timeout=10)
            return rest, self.process.returncode == -signal.SIGKILL
        os.kill(self.pid, signal.SIGKILL)
        rest = self.stream.read()
        self.stream.close()
        _, status = os.waitpid(self.pid, 0)
        return rest, os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

    def error(self) -> str:
        if self.process is not None and self.process.stderr is not None:
            return self.process.stderr.read()
        return ""


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
    rng = random.Random(20261123)
    acknowledged: set[int] = set()
    for _ in range(ROUNDS):
        writer = Writer(db, FORK)
        first = writer.stream.readline()
        assert first == "ready\n", writer.error() or first
        for _ in range(rng.randint(0, 40)):
            line = writer.stream.readline()
            if line.startswith("saved ") and line.endswith("\n"):
                acknowledged.add(int(line.split()[1]))
        time.sleep(rng.random() * 0.02)
        rest, killed = writer.kill()
        for line in rest.splitlines(keepends=True):
            if line.startswith("saved ") and line.endswith("\n"):
                acknowledged.add(int(line.split()[1]))
        assert killed, rest
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
