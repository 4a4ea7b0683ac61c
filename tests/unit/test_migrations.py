"""Opening and migrating: pragmas on every connection, upgrades from a real v1 file, refusals that
leave the file as it was."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from tpi_chart.storage.errors import CorruptDatabase, NotOurDatabase, SchemaTooNew
from tpi_chart.storage.sqlite.connection import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    connect,
    migrate,
    open_database,
    split_statements,
    transaction,
)
from tpi_chart.storage.sqlite.migrations import MIGRATIONS
from tpi_chart.storage.sqlite.store import open_store

SCHEMA_V1 = Path(__file__).parents[1] / "data" / "schema-v1.db"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_there_are_at_least_two_migrations() -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2


def test_every_pragma_is_set_on_a_new_connection(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    open_database(path).close()
    conn = connect(path)
    values = {
        name: conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in (
            "journal_mode",
            "synchronous",
            "foreign_keys",
            "trusted_schema",
            "secure_delete",
            "application_id",
            "user_version",
            "busy_timeout",
        )
    }
    conn.close()
    assert values == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "trusted_schema": 0,
        "secure_delete": 1,
        "application_id": APPLICATION_ID,
        "user_version": SCHEMA_VERSION,
        "busy_timeout": 5000,
    }


def test_fresh_database_has_all_tables_and_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = open_database(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    conn.close()
    assert {
        "patients",
        "procedures",
        "preparations",
        "components",
        "sites",
        "addenda",
        "audit",
        "meta",
    } <= tables
    assert not list(tmp_path.glob("*.bak"))


def test_upgrade_from_the_frozen_v1_file_keeps_the_data_and_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    shutil.copy(SCHEMA_V1, path)
    store = open_store(path, tmp_path / "keys")
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        patient = store.patients.by_mrn("V1001")
        assert patient is not None
        assert patient.patient.family_name == "Ødegård"
        record = store.procedures.get(1)
        assert record is not None
        assert [s.muscle for s in record.procedure.sites] == ["gluteus_medius", "piriformis"]
        assert record.procedure.pain_before == 6
        assert [(p.id, proc, agent) for p, proc, agent in store.patients.with_lot("old42")] == [
            (1, 1, "lidocaine")
        ]
        indexes = {
            r[0] for r in store.conn.execute("SELECT name FROM sqlite_schema WHERE type='index'")
        }
        assert "components_lot" in indexes
        tables = {
            r[0] for r in store.conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")
        }
        assert {"users", "login_attempts"} <= tables
        assert [r.patient.mrn for r in store.patients.search("odegard", 10)] == ["V1001"]
    finally:
        store.close()
    backups = list(tmp_path.glob("clinic.db.v1-*.bak"))
    assert len(backups) == 1
    copy = sqlite3.connect(backups[0])
    assert copy.execute("PRAGMA user_version").fetchone()[0] == 1
    assert copy.execute("SELECT mrn FROM patients").fetchall() == [("V1001",)]
    copy.close()


def test_a_failing_migration_step_rolls_back_its_ddl_and_the_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "db.sqlite")
    migrate(conn, target=1)
    broken = "CREATE TABLE half_done (x INTEGER);\nCREATE TABLE patients (x INTEGER);\n"

    def step() -> None:
        with transaction(conn):
            for statement in split_statements(broken):
                conn.execute(statement)
            conn.execute("PRAGMA user_version = 2")

    with pytest.raises(sqlite3.OperationalError):
        step()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert (
        conn.execute("SELECT count(*) FROM sqlite_schema WHERE name='half_done'").fetchone()[0] == 0
    )
    conn.close()


def test_newer_database_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    open_database(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = digest(path)
    with pytest.raises(SchemaTooNew, match="newer version of TPI Chart"):
        open_database(path)
    assert digest(path) == before


def test_a_file_that_is_not_sqlite_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"Dear diary, " * 500)
    before = digest(path)
    with pytest.raises(NotOurDatabase, match="not an SQLite file"):
        open_database(path)
    assert digest(path) == before


def test_another_applications_database_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 12345")
    conn.execute("CREATE TABLE stuff (x)")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(NotOurDatabase, match="another application"):
        open_database(path)
    assert digest(path) == before


def test_a_plain_sqlite_file_with_tables_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE stuff (x)")
    conn.commit()
    conn.close()
    with pytest.raises(NotOurDatabase):
        open_database(path)


def test_a_corrupted_page_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "clinic.db"
    shutil.copy(SCHEMA_V1, path)
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    # Scribble over the middle of every page after the first (schema page left readable).
    for start in range(page_size, len(data), page_size):
        data[start + 8 : start + 200] = b"\xa5" * 192
    path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(CorruptDatabase, match="damaged"):
        open_database(path)
    assert digest(path) == before
