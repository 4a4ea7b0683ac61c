"""Backups of a clinic on a PostgreSQL server (issue 18 §5): `tpi-chart backup` runs pg_dump and
seals the archive exactly as a file clinic's backup is sealed, then reads it back, decrypts it and
checks it with `pg_restore --list`; `tpi-chart restore` brings it back into an empty database only,
records the restore and verifies the audit chain; a damaged or altered backup is refused. No
password reaches a program's command line. `tpi-chart audit verify --db postgresql://…` reports
on a server clinic as on a file, and changes nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.cli_support import PASSWORD, Keyboard, add_accounts
from tests.engines import query, table_rows
from tests.pg_server import PgServer
from tpi_chart.cli.main import main
from tpi_chart.services import sealed_backup
from tpi_chart.services.backup import AutomaticBackups
from tpi_chart.services.context import open_services
from tpi_chart.storage.errors import StorageError
from tpi_chart.storage.postgres import dump

#: What a clinic's records are, whatever happened since (sign-ins, backups, the restore itself).
RECORDS = ("patients", "procedures", "sites", "components", "users", "key_grants", "signed_notes")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def clinic(pg_url: str, keyboard: Keyboard, capsys: pytest.CaptureFixture[str]) -> str:
    """The demo clinic on the server, with accounts and a backup passphrase (the password)."""
    add_accounts(pg_url)  # type: ignore[arg-type]
    assert run(capsys, "--db", pg_url, "--as", "admin", "demo")[0] == 0
    code, _, err = run(capsys, "--db", pg_url, "--as", "admin", "backup", "--set-passphrase")
    assert code == 0, err
    return pg_url


@pytest.fixture
def empty_database(pg_server: PgServer) -> Iterator[str]:
    """A new, empty database on the same server (`createdb`), dropped afterwards."""
    name = "restored_clinic"
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    yield pg_server.url(name)
    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _records(url: str) -> list[list[tuple[Any, ...]]]:
    return [query(url, f"SELECT * FROM {table} ORDER BY 1") for table in RECORDS]


def _tables(url: str) -> int:
    return int(query(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0])


def test_a_backup_is_sealed_verified_and_restores_into_an_empty_database_with_its_chain(
    clinic: str,
    empty_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backup = tmp_path / "northside.tpibackup"

    code, out, err = run(capsys, "--db", clinic, "--as", "admin", "backup", "--out", str(backup))

    assert (code, err) == (0, "")
    assert out == (
        f"encrypted backup written to {backup} (pg_dump archive read back, decrypted and "
        "checked with pg_restore --list)\n"
    )
    assert backup.stat().st_mode & 0o777 == 0o600
    data = backup.read_bytes()
    assert data.startswith(sealed_backup.MAGIC)
    assert b"Lopez" not in data  # encrypted, not only compressed
    assert b"PGDMP" not in data
    members = sealed_backup.unseal(data, PASSWORD, "backup")
    assert list(members) == [sealed_backup.SERVER_DUMP_MEMBER]
    assert "TABLE DATA public audit" in dump.check_dump(members["database.pgdump"], "backup")
    assert query(clinic, "SELECT action FROM audit ORDER BY seq DESC LIMIT 1") == [("backup",)]

    code, out, err = run(capsys, "--db", empty_database, "restore", str(backup))

    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[0] == f"restored {backup} into the server database; checking it:"
    assert lines[1].startswith("audit trail intact: ")
    assert lines[2] == "signed procedures: 3 match their signatures"
    assert _records(empty_database) == _records(clinic)
    restored = query(empty_database, 'SELECT "user", action FROM audit ORDER BY seq DESC LIMIT 1')
    assert restored == [("tpi-chart.setup", "restore_db")]
    code, out, _ = run(capsys, "--db", empty_database, "--as", "admin", "audit", "verify")
    assert code == 0
    assert out.startswith("audit trail intact: ")
    # Restoring again over the restored clinic is refused: never over a clinic.
    before = table_rows(empty_database)
    code, out, err = run(capsys, "--db", empty_database, "restore", str(backup))
    assert (code, out) == (1, "")
    assert "is not empty (it holds" in err
    assert "restored only into a new, empty database" in err
    assert table_rows(empty_database) == before


def test_a_damaged_or_altered_backup_is_refused_and_restores_nothing(
    clinic: str,
    empty_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backup = tmp_path / "b.tpibackup"
    assert run(capsys, "--db", clinic, "--as", "admin", "backup", "--out", str(backup))[0] == 0
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0x01
    altered = tmp_path / "altered.tpibackup"
    altered.write_bytes(bytes(data))

    code, out, err = run(capsys, "--db", empty_database, "restore", str(altered))

    assert (code, out) == (2, "")
    assert err.startswith(f"backup.passphrase: does not open {altered}")
    assert "damaged or altered" in err
    assert _tables(empty_database) == 0


def test_a_file_clinics_backup_and_a_server_clinics_backup_are_not_confused(
    clinic: str,
    empty_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server_backup = tmp_path / "server.tpibackup"
    assert (
        run(capsys, "--db", clinic, "--as", "admin", "backup", "--out", str(server_backup))[0] == 0
    )
    file_db = tmp_path / "room.db"
    add_accounts(file_db)
    file_backup = tmp_path / "room.tpibackup"
    assert (
        run(capsys, "--db", str(file_db), "--as", "admin", "backup", "--out", str(file_backup))[0]
        == 0
    )

    code, _, err = run(capsys, "--db", empty_database, "restore", str(file_backup))
    assert code == 2
    assert "is a backup of a clinic kept in a file, not on a server" in err
    assert _tables(empty_database) == 0

    code, _, err = run(capsys, "--db", str(file_db), "--as", "admin", "restore", str(server_backup))
    assert code == 2
    assert "is a backup of a clinic on a database server" in err


def test_no_password_reaches_the_command_line_of_pg_dump(
    clinic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password in the connection string goes to a private PGPASSFILE for the run, which is
    gone afterwards; the command line names only the database."""
    url = clinic.replace("postgresql://tpi@", "postgresql://tpi:s3cret-Pa%3Ass%5Cword@")
    seen: list[tuple[list[str], Path, str]] = []
    real_run = subprocess.run

    def spy(command: list[str], **options: Any) -> Any:
        passfile = Path(options["env"]["PGPASSFILE"])
        assert passfile.stat().st_mode & 0o777 == 0o600
        seen.append((command, passfile, passfile.read_text()))
        return real_run(command, **options)

    monkeypatch.setattr(subprocess, "run", spy)
    archive = dump.dump(url)

    assert archive.startswith(dump.DUMP_MAGIC)
    ((command, passfile, written),) = seen
    assert command[1:] == ["--format=custom", "--no-password", "--dbname=dbname=tpi_test"]
    assert not any("s3cret" in part for part in command)
    assert written == "*:*:*:*:s3cret-Pa\\:ss\\\\word\n"
    assert not passfile.exists()
    assert not passfile.parent.exists()


def test_without_pg_dump_the_backup_says_what_to_install_and_writes_nothing(
    clinic: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    monkeypatch.setattr(dump, "SERVER_BIN_GLOB", str(tmp_path / "nowhere" / "*" / "bin"))
    backup = tmp_path / "b.tpibackup"

    code, out, err = run(capsys, "--db", clinic, "--as", "admin", "backup", "--out", str(backup))

    assert (code, out) == (1, "")
    assert "pg_dump is not installed on this computer" in err
    assert "apt-get install postgresql-client" in err
    assert not backup.exists()
    with pytest.raises(StorageError, match="pg_restore is not installed"):
        dump.find_program("pg_restore")


def test_pg_dump_is_found_in_the_newest_server_folder_when_not_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version in ("9", "15", "13"):
        program = tmp_path / version / "bin" / "pg_dump"
        program.parent.mkdir(parents=True)
        program.write_text("#!/bin/sh\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(dump, "SERVER_BIN_GLOB", str(tmp_path / "*" / "bin"))
    assert dump.find_program("pg_dump") == tmp_path / "15" / "bin" / "pg_dump"


def test_the_window_leaves_a_server_clinics_backups_to_the_servers_schedule(
    clinic: str, tmp_path: Path
) -> None:
    with open_services(clinic) as services:
        automatic = AutomaticBackups(services.backups, tmp_path / "backups")
        assert automatic.run() is None
        state = automatic.state()
    assert state.on_server
    assert state.age_text(datetime.now(UTC)) == "Backups: made on the clinic server's schedule"
    assert not state.needs_warning(datetime.now(UTC))
    assert not list(tmp_path.glob("backups/*"))


def test_audit_verify_checks_a_server_clinic_read_only_and_reports_a_break(
    clinic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = table_rows(clinic)
    code, out, err = run(capsys, "--db", clinic, "--as", "admin", "audit", "verify")
    assert (code, err) == (0, "")
    (rows,) = query(clinic, "SELECT count(*) FROM audit")[0]
    assert out.splitlines() == [
        f"audit trail intact: {rows} rows",
        "signed procedures: 3 match their signatures",
    ]
    code, out, _ = run(capsys, "--db", clinic, "audit", "verify")
    assert code == 1
    assert out.startswith(f"audit trail links intact: {rows} rows; each row's MAC was NOT checked")
    assert table_rows(clinic) == before  # not even the sign-in was recorded

    with psycopg.connect(clinic, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("UPDATE audit SET \"user\" = 'someone' WHERE seq = 5")
        conn.execute("ALTER TABLE sites DISABLE TRIGGER sites_signed_no_update")
    try:
        code, out, _ = run(capsys, "--db", clinic, "--as", "admin", "audit", "verify")
    finally:
        # The schema outlives the test (each test empties the session's database, no more).
        with psycopg.connect(clinic, autocommit=True) as conn:
            conn.execute("ALTER TABLE sites ENABLE TRIGGER sites_signed_no_update")
    assert code == 1
    assert out.splitlines()[:2] == [
        "audit trail BROKEN at row 5: row content was changed after it was written (edited or "
        "forged row)",
        "BROKEN: protection trigger sites_signed_no_update is missing (dropped outside TPI Chart)",
    ]
