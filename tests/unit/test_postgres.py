"""The clinic on a PostgreSQL server (issue 18): chosen by `--db`/TPI_CHART_DB, refused with a
sentence when the server cannot be reached, errors classified by SQLSTATE like SQLite's by
result code, stale saves refused between workstations, the schema's own identity and version."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.cli_support import Keyboard, add_accounts, sign_in, signed_services
from tests.unit.test_storage import reference
from tests.users import staff
from tpi_chart.cli.main import main
from tpi_chart.services.context import open_services
from tpi_chart.services.paths import resolve_database
from tpi_chart.storage.errors import (
    AuditKeyProblem,
    DatabaseLocked,
    DiskFull,
    DuplicateRecord,
    NotOurDatabase,
    SchemaTooNew,
    ServerUnreachable,
    SignedRecord,
    StaleRecord,
    StorageError,
    translate_sqlstate,
)
from tpi_chart.storage.postgres.migrations import SCHEMA_VERSION
from tpi_chart.storage.postgres.store import PostgresStore, open_postgres_store

NOWHERE = "postgresql://tpi@/clinic?host=/nonexistent-socket-folder"


def test_a_server_url_selects_the_server_and_a_path_keeps_the_file(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_database(pg_url) == pg_url
    assert resolve_database(tmp_path / "clinic.db") == tmp_path / "clinic.db"
    with open_services(pg_url, staff("ma.rivera")) as services:
        assert isinstance(services.store, PostgresStore)
        assert services.db_path is None
        assert services.location.startswith("server ")
    monkeypatch.setenv("TPI_CHART_DB", pg_url)
    assert resolve_database(None) == pg_url
    with open_services(None, staff("ma.rivera")) as services:
        assert isinstance(services.store, PostgresStore)
        services.patients.create(reference().patient)
        assert services.patients.search("lopez", 5)[0].patient.mrn == "D1001"
    # Nobody signed in, so the new clinic's audit key was never sealed in the database: the
    # next workstation cannot continue the trail, and says so instead of forking it.
    with pytest.raises(AuditKeyProblem, match="never sealed"):
        open_services(pg_url, staff("ma.rivera"))


def test_an_unreachable_server_is_a_sentence_and_nothing_is_changed(
    keyboard: Keyboard, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ServerUnreachable) as raised:
        open_services(NOWHERE, staff("ma.rivera"))
    assert str(raised.value).startswith(
        "The clinic database server at /nonexistent-socket-folder/clinic cannot be reached; "
        "nothing was changed."
    )
    code = main(["--db", NOWHERE, "--as", "chen", "users", "list"])
    _out, err = capsys.readouterr()
    assert code != 0
    assert "cannot be reached; nothing was changed" in err
    assert "Traceback" not in err


def test_a_server_clinic_is_neither_copied_as_a_file_nor_restored_over(
    pg_url: str, tmp_path: Path
) -> None:
    """Its backups are pg_dump archives (tests/unit/test_server_backup.py), restored into an
    empty database; never a plain file copy, never a restore over the open clinic."""
    with (
        open_services(pg_url, staff("admin")) as services,
        pytest.raises(
            StorageError, match=r"backed up with `tpi-chart backup --out FILE` \(pg_dump"
        ),
    ):
        services.backups.backup(tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()
    with pytest.raises(StorageError, match="restored into a new, empty database"):
        open_services(pg_url, staff("admin"), for_restore=True)


def test_sqlstates_map_to_the_same_errors_as_sqlite_result_codes() -> None:
    assert isinstance(translate_sqlstate("TPI01", "procedure is signed: x"), SignedRecord)
    assert type(translate_sqlstate("TPI01", "audit log is append-only")) is StorageError
    assert isinstance(translate_sqlstate("23505", "duplicate key"), DuplicateRecord)
    assert isinstance(translate_sqlstate("53100", "could not extend file"), DiskFull)
    assert isinstance(translate_sqlstate("55P03", "lock timeout"), DatabaseLocked)
    assert isinstance(translate_sqlstate("08006", "connection failure", "db1"), ServerUnreachable)
    assert isinstance(translate_sqlstate("57P01", "terminating", "db1"), ServerUnreachable)
    other = translate_sqlstate("42P01", 'relation "x" does not exist', "db1")
    assert type(other) is StorageError
    assert "db1" in str(other)


def test_the_frozen_rows_raise_our_own_sqlstate(pg_url: str) -> None:
    store = open_postgres_store(pg_url)
    try:
        patient = store.patients.add(reference().patient, "ma")
        with psycopg.connect(pg_url) as conn, pytest.raises(psycopg.Error) as raised:
            conn.execute("DELETE FROM audit")
        assert raised.value.sqlstate == "TPI01"
        assert "append-only" in str(raised.value)
        with pytest.raises(DuplicateRecord):
            store.patients.add(reference().patient, "ma")
        assert store.patients.get(patient.id) is not None
    finally:
        store.close()


def test_a_stale_save_from_another_workstation_is_refused(pg_url: str) -> None:
    front = open_postgres_store(pg_url)
    try:
        patient = front.patients.add(reference().patient, "ma")
        room = open_postgres_store(pg_url, key=front.key)
        try:
            seen = room.patients.get(patient.id)
            assert seen is not None
            front.patients.update(
                patient.id, patient.patient.model_copy(update={"phone": "555-0100"}), "ma", 1
            )
            with pytest.raises(StaleRecord) as raised:
                room.patients.update(
                    patient.id, seen.patient.model_copy(update={"weight_kg": 70.0}), "dr", 1
                )
            assert raised.value.current_version == 2
        finally:
            room.close()
        stored = front.patients.get(patient.id)
        assert stored is not None
        assert (stored.patient.phone, stored.patient.weight_kg) == ("555-0100", 64.0)
        assert stored.version == 2
    finally:
        front.close()


def test_another_applications_database_is_refused_unchanged(pg_url: str, pg_server: object) -> None:
    other = pg_url.replace("/tpi_test?", "/postgres?")
    with psycopg.connect(other, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS someone_elses (id int)")
    try:
        with pytest.raises(NotOurDatabase, match="another application's tables"):
            open_postgres_store(other)
        with psycopg.connect(other) as conn:
            row = conn.execute("SELECT to_regclass('schema_version')").fetchone()
            assert row == (None,)
    finally:
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("DROP TABLE someone_elses")


def test_a_schema_from_a_newer_version_is_refused(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO schema_version (version, sqlite_user_version) VALUES (%s, 99)",
            (SCHEMA_VERSION + 1,),
        )
    try:
        with pytest.raises(SchemaTooNew, match="newer version of TPI Chart"):
            open_postgres_store(pg_url)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("DELETE FROM schema_version WHERE version > %s", (SCHEMA_VERSION,))


def test_accounts_and_the_sealed_audit_key_live_on_the_server(pg_url: str) -> None:
    """The first administrator seals the new clinic's audit key into the database; another
    workstation (a second open) unlocks it with a sign-in, never with a file of its own."""
    add_accounts(pg_url)  # type: ignore[arg-type]
    with signed_services(pg_url, "rivera") as services:  # type: ignore[arg-type]
        assert services.store.audit_sealed
        patient = services.patients.create(reference().patient)
    with open_services(pg_url) as anonymous:
        assert anonymous.store.key is None  # locked until someone signs in here
        physician = sign_in(anonymous, "chen")
        assert physician.patients.get(patient.id).patient.mrn == "D1001"
        report = physician.store.audit.verify()
        assert report.ok, report.reason
        assert {row.user for row in physician.store.audit.rows()} >= {"admin", "rivera", "chen"}


def test_a_connection_lost_mid_session_refuses_the_save_and_the_next_one_reconnects(
    pg_url: str,
) -> None:
    store = open_postgres_store(pg_url)
    try:
        patient = store.patients.add(reference().patient, "ma")
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        changed = patient.patient.model_copy(update={"phone": "555-0199"})
        with pytest.raises(ServerUnreachable, match="cannot be reached; nothing was changed"):
            store.patients.update(patient.id, changed, "ma", 1)
        stored = store.patients.get(patient.id)
        assert stored is not None
        assert (stored.patient.phone, stored.version) == (None, 1)
        store.patients.update(patient.id, changed, "ma", 1)
        assert store.audit.verify().ok
    finally:
        store.close()
