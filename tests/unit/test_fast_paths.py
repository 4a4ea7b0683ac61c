"""Issue 15: what keeps the start, the batch export and the checks fast in a clinic's tenth year,
tested by behaviour (which statements run, which index a query uses), never by timing."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.slow_sqlite import slow_connections, wait_until_running
from tests.users import staff
from tpi_chart.services import doctor, integrity
from tpi_chart.services.context import open_services
from tpi_chart.services.errors import InvalidInput
from tpi_chart.storage.sqlite import connection as storage_db
from tpi_chart.storage.sqlite.store import SqliteStore


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    path = tmp_path / "clinic.db"
    with open_services(path, staff("rivera"), seed_demo_if_new=True):
        pass
    return path


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement run on any connection opened while the test runs."""
    seen: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    return seen


def quick_checks(seen: list[str]) -> int:
    return sum("quick_check" in statement.lower() for statement in seen)


def test_a_large_file_opens_without_reading_it_whole_and_doctor_reads_it(
    demo: Path, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_db, "QUICK_CHECK_AT_OPEN_MAX_BYTES", 0)
    with open_services(demo, staff("rivera")) as services:
        assert services.patients.by_mrn("D1001") is not None
    assert quick_checks(statements) == 0

    (database, _backup) = doctor.check_database(demo)
    assert database.status == "ok"
    assert quick_checks(statements) == 1


def test_a_small_file_is_still_checked_whole_at_open(demo: Path, statements: list[str]) -> None:
    with open_services(demo, staff("rivera")):
        pass
    assert quick_checks(statements) == 1


def damage_every_page_but_the_first(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for start in range(page_size, len(data), page_size):
        data[start + 8 : start + 200] = b"\xa5" * 192
    path.write_bytes(bytes(data))


def test_doctor_reports_a_damaged_file_the_open_would_not_read_whole(
    demo: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "damaged.db"
    shutil.copy(demo, copy)
    damage_every_page_but_the_first(copy)
    assert storage_db.QuickCheck(copy).run()
    (database,) = doctor.check_database(copy)
    assert database.status == "attention"
    assert "is damaged" in database.detail


def test_a_file_cut_short_is_refused_by_its_header_without_a_whole_file_check(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_db, "QUICK_CHECK_AT_OPEN_MAX_BYTES", 0)
    data = demo.read_bytes()
    demo.write_bytes(data[: len(data) - 4096])
    with pytest.raises(storage_db.CorruptDatabase, match="cut short"):
        open_services(demo, staff("rivera"))
    assert len(demo.read_bytes()) == len(data) - 4096  # left as it was


def test_the_background_check_is_due_weekly_for_a_large_file(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_services(demo, staff("rivera")) as services:
        store = services.store
        assert isinstance(store, SqliteStore)
        assert not integrity.full_check_due(store)  # small: the open checked it whole
        monkeypatch.setattr(integrity, "QUICK_CHECK_AT_OPEN_MAX_BYTES", 0)
        assert integrity.full_check_due(store)  # never checked
        now = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
        assert integrity.FullCheck(store).run(now) == []
        assert not integrity.full_check_due(store, now + timedelta(days=6))
        assert integrity.full_check_due(store, now + timedelta(days=7))


def test_a_damaged_large_file_is_not_marked_checked(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(integrity, "QUICK_CHECK_AT_OPEN_MAX_BYTES", 0)
    with open_services(demo, staff("rivera")) as services:
        store = services.store
        assert isinstance(store, SqliteStore)
        monkeypatch.setattr(storage_db.QuickCheck, "run", lambda _check: ["page 7: bad"])
        assert integrity.FullCheck(store).run() == ["page 7: bad"]
        assert integrity.full_check_due(store)


def brute_force_signed_between(services: Any, start: date, end: date) -> list[int]:
    """What signed_between returned before the index: every patient's list, filtered."""
    found = []
    for patient in services.patients.search("", 1_000_000):
        for summary in services.charting.list_for_patient(patient.id):
            if summary.status == "signed" and start <= summary.performed_at.date() <= end:
                found.append((summary.performed_at, summary.id))
    return [procedure_id for _, procedure_id in sorted(found)]


def test_signed_between_uses_the_date_of_service_index_and_finds_what_a_scan_finds(
    demo: Path,
) -> None:
    with open_services(demo, staff("rivera")) as services:
        everything = services.notes.signed_between(date(1900, 1, 1), date(2200, 1, 1))
        assert everything  # the demo clinic has signed notes
        assert everything == brute_force_signed_between(
            services, date(1900, 1, 1), date(2200, 1, 1)
        )
        conn = services.store.conn  # type: ignore[attr-defined]
        for procedure_id in everything:
            (day,) = conn.execute(
                "SELECT substr(performed_at, 1, 10) FROM procedures WHERE id = ?", (procedure_id,)
            ).fetchone()
            one_day = date.fromisoformat(day)
            assert procedure_id in services.notes.signed_between(one_day, one_day)
            assert services.notes.signed_between(one_day, one_day) == (
                brute_force_signed_between(services, one_day, one_day)
            )
        ran: list[str] = []
        conn.set_trace_callback(ran.append)
        services.notes.signed_between(date(2026, 1, 1), date(2026, 1, 31))
        conn.set_trace_callback(None)
        (query,) = [statement for statement in ran if "substr(p.performed_at" in statement]
        plan = " ".join(str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
        assert "procedures_signed_service_date" in plan
        assert "SCAN p" not in plan


def test_every_command_name_leads_to_the_module_that_registers_it() -> None:
    import argparse

    from tpi_chart.cli import registry

    for load in registry.LOADERS:
        parser = argparse.ArgumentParser()
        subparsers = parser.add_subparsers(dest="command")
        load().register(subparsers)
        for name in subparsers.choices:
            assert registry.COMMANDS[name] is load, name
    assert set(registry.COMMANDS.values()) == set(registry.LOADERS)


#: What `check` (a document and the catalog: no database, no keys, no PDF) must not import.
NOT_FOR_CHECK = (
    "reportlab",
    "PySide6",
    "cryptography",
    "argon2",
    "pyhanko",
    "tpi_chart.services.context",
    "tpi_chart.storage.sqlite",
)

LOADED = f"""
import sys
from tpi_chart.app import main
code = main(sys.argv[1:])
print(code, sorted(
    name.rsplit(".", 1)[1] for name in sys.modules if name.startswith("tpi_chart.cli.commands_")
), [name for name in {NOT_FOR_CHECK!r} if name in sys.modules])
"""


def test_a_command_loads_only_its_own_module(tmp_path: Path) -> None:
    import subprocess
    import sys

    reference = Path(__file__).resolve().parents[1] / "examples" / "reference-visit.json"
    env = {**os.environ, "TPI_CHART_KEY_DIR": str(tmp_path / "keys")}
    done = subprocess.run(
        [sys.executable, "-c", LOADED, "check", str(reference)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    *_, last = done.stdout.strip().splitlines()
    assert last == "0 ['commands_check'] []", done.stderr[-2000:]

    done = subprocess.run(
        [sys.executable, "-c", LOADED, "--help"], capture_output=True, text=True, env=env
    )
    for name in ("check", "export", "verify", "doctor", "audit", "report"):
        assert name in done.stdout  # the full help still lists every command


def test_the_anchor_is_written_at_once_and_its_fsync_runs_off_the_click_path(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tpi_chart.domain.models import Patient
    from tpi_chart.storage import audit as audit_log
    from tpi_chart.storage.sqlite import audit_trail

    synced_in: list[str] = []
    sync_file = audit_log.sync_file

    def recording(path: Path) -> None:
        synced_in.append(threading.current_thread().name)
        sync_file(path)

    monkeypatch.setattr(audit_log, "sync_file", recording)
    with open_services(demo, staff("rivera")) as services:
        services.patients.create(
            Patient(
                mrn="F15",
                family_name="Fast",
                given_name="Ada",
                birth_date=date(1980, 1, 2),
                sex="female",
            )
        )
        store = services.store
        assert isinstance(store, SqliteStore)
        tail = audit_trail.tail(store.conn)
        assert tail is not None
        # On disk as soon as the save returns (a crash of the program keeps it)…
        assert json.loads(store.anchor_path.read_text())["seq"] == tail.seq
    # …and made durable by the writer thread, not by the thread that saved.
    assert synced_in
    assert threading.main_thread().name not in synced_in


def test_the_days_between_whole_file_checks_are_the_clinics_setting(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_services(demo, staff("okafor")) as services:
        store = services.store
        assert isinstance(store, SqliteStore)
        monkeypatch.setattr(integrity, "QUICK_CHECK_AT_OPEN_MAX_BYTES", 0)
        now = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
        assert integrity.FullCheck(store).run(now) == []
        services.settings.update(full_check_days=30)
        assert not integrity.full_check_due(store, now + timedelta(days=29))
        assert integrity.full_check_due(store, now + timedelta(days=30))
        with pytest.raises(
            InvalidInput, match=r"settings\.full_check_days: must be between 1 and 90"
        ):
            services.settings.update(full_check_days=0)
        assert services.settings.full_check_days() == 30


def test_the_open_rehashes_signed_notes_in_batches_and_wraps_around(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The open lists a batch of signed notes after where the last start stopped, never all of
    them (a tenth-year clinic has 450,000), and comes back to the first after the last."""
    monkeypatch.setattr(integrity, "OPEN_BATCH", 1)
    with open_services(demo, staff("rivera")) as services:
        store = services.store
        assert isinstance(store, SqliteStore)
        signed = store.procedures.signed_ids()
        assert len(signed) >= 2
        assert store.procedures.signed_ids(0, 1) == signed[:1]
        cursor = store.anchor_path.with_suffix(".signed-checked")
        start = signed.index(json.loads(cursor.read_text(encoding="utf-8"))["after"])  # the open's
        seen = []
        for _ in range(len(signed) + 1):
            assert integrity.check_signed_at_open(store, services.charting, budget_s=60) == []
            seen.append(json.loads(cursor.read_text(encoding="utf-8"))["after"])
        assert seen == [signed[(start + 1 + turn) % len(signed)] for turn in range(len(signed) + 1)]


def test_an_interrupted_whole_file_check_is_not_a_finding_and_stays_due(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window stops the weekly check when someone uses it: SQLite stops at once, and that is
    neither reported as damage nor remembered as a clean check."""
    monkeypatch.setattr(integrity, "QUICK_CHECK_AT_OPEN_MAX_BYTES", 0)
    with open_services(demo, staff("rivera")) as services:
        store = services.store
        assert isinstance(store, SqliteStore)
        slow = slow_connections(monkeypatch)
        check = integrity.FullCheck(store)
        results: list[list[str] | None] = []
        worker = threading.Thread(target=lambda: results.append(check.run()))
        worker.start()
        wait_until_running(check)
        began = time.monotonic()
        check.interrupt()
        worker.join(5)
        assert results == [None]
        assert time.monotonic() - began < 1  # stopped at once, not after the whole slow run
        assert check.interrupted
        assert integrity.full_check_due(store)  # nothing remembered
        slow.set()
        again = integrity.FullCheck(store)
        assert again.run() == []  # a whole run: sound, remembered
        assert not integrity.full_check_due(store)


def test_an_interrupt_before_the_checks_first_step_still_stops_it(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window can interrupt after the check has its connection and before SQLite has begun
    the statement. SQLite drops an interrupt that finds no statement running, so this one must
    still stop the check (CI once caught it running on, slowly, for the whole file)."""
    check = storage_db.QuickCheck(demo)
    connect = sqlite3.connect

    class InterruptedJustBeforeTheStatement(sqlite3.Connection):
        def execute(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
            check.interrupt()
            return super().execute(*args, **kwargs)

    monkeypatch.setattr(
        sqlite3,
        "connect",
        lambda *args, **kwargs: connect(*args, factory=InterruptedJustBeforeTheStatement, **kwargs),
    )
    assert check.run() is None
    assert check.interrupted
    monkeypatch.undo()
    assert storage_db.QuickCheck(demo).run() == []


def test_a_check_interrupted_before_it_runs_does_not_run(demo: Path) -> None:
    check = storage_db.QuickCheck(demo)
    check.interrupt()
    assert check.run() is None
    assert storage_db.QuickCheck(demo).run() == []


def test_a_damaged_file_is_still_reported_by_the_interruptible_check(demo: Path) -> None:
    damaged = demo.with_name("damaged.db")
    data = bytearray(demo.read_bytes())
    data[4096 * 3 : 4096 * 3 + 64] = b"\xff" * 64  # an interior page's header
    damaged.write_bytes(bytes(data))
    assert storage_db.QuickCheck(damaged).run()  # a finding, not None
