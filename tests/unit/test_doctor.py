"""`tpi-chart doctor`: every check with its result, exit 1 when something needs attention, and
the checks' findings on real folders, databases and mount tables."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.users import staff
from tpi_chart import __version__
from tpi_chart.app import main as app_main
from tpi_chart.services import doctor
from tpi_chart.services.context import open_services
from tpi_chart.storage.sqlite.migrations import SCHEMA_VERSION

NAMES = [
    "TPI Chart",
    "Python",
    "Qt",
    "System libraries",
    "Display",
    "Data folder",
    "Config folder",
    "Audit key folder",
    "Database",
    "Disk encryption",
    "Clinic folder",
    "Free disk space",
]


def test_doctor_prints_every_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = app_main(["--db", str(tmp_path / "none-yet.db"), "doctor"])
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    names = [line[11:].split(":", 1)[0] for line in lines if line[:10].strip()]
    # In this order; "Qt platform plugin" joins when a Qt application already runs.
    assert [name for name in names if name in NAMES] == NAMES
    assert lines[0] == (
        f"info       TPI Chart: {__version__} (Python package at "
        f"{Path(doctor.__file__).resolve().parents[1]}), database schema version {SCHEMA_VERSION}"
    )
    attention = [line for line in lines if line.startswith("ATTENTION")]
    assert code == (1 if attention else 0)
    if attention:
        assert lines[-1] == "Something needs attention (ATTENTION above)."


def test_exit_is_0_when_nothing_needs_attention_and_1_otherwise(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fine = [doctor.Check("A", "ok", "fine"), doctor.Check("B", "info", "noted")]
    from tpi_chart.cli import commands_doctor

    monkeypatch.setattr(commands_doctor, "run_checks", lambda *_a, **_k: fine)
    assert app_main(["doctor"]) == 0
    assert capsys.readouterr().out == "ok         A: fine\ninfo       B: noted\n"
    bad = [*fine, doctor.Check("C", "attention", "fix me")]
    monkeypatch.setattr(commands_doctor, "run_checks", lambda *_a, **_k: bad)
    assert app_main(["doctor"]) == 1
    assert "ATTENTION  C: fix me" in capsys.readouterr().out


def test_a_check_that_crashes_is_reported_not_raised(tmp_path: Path) -> None:
    def broken() -> list[doctor.Check]:
        raise RuntimeError("boom")

    checks = doctor.run_checks(tmp_path / "x.db", extra=[broken])
    assert doctor.Check("check", "attention", "a check failed to run: RuntimeError('boom')") in (
        checks
    )


def test_folder_readable_by_others_needs_attention(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o755)
    check = doctor._describe_folder("Data folder", folder, private=True)
    assert check.status == "attention"
    assert check.detail == (
        f"{folder} (mode 755): other accounts on this computer can open it; run: chmod 700 {folder}"
    )
    folder.chmod(0o700)
    assert doctor._describe_folder("Data folder", folder, private=True).status == "ok"


def test_database_and_last_good_backup(tmp_path: Path) -> None:
    db = tmp_path / "clinic.db"
    with open_services(db, staff("admin")):
        pass
    database, backup = doctor.check_database(db)
    assert database == doctor.Check(
        "Database", "ok", f"{db}: schema version {SCHEMA_VERSION}, quick check ok"
    )
    assert backup.status == "attention"
    assert backup.detail.startswith("no backup of this database yet")

    with open_services(db, staff("admin")) as services:
        services.backups.backup(tmp_path / "copy.db")
    _, backup = doctor.check_database(db)
    assert backup.status == "ok"
    assert backup.detail.endswith(f"0 day(s) ago, to {tmp_path / 'copy.db'}")


def test_old_backup_needs_attention() -> None:
    at = (datetime.now(UTC) - timedelta(days=doctor.BACKUP_MAX_AGE_DAYS + 3)).isoformat()
    check = doctor._backup_check(at, "/backups/x.db")
    assert check.status == "attention"
    assert f"{doctor.BACKUP_MAX_AGE_DAYS + 3} day(s) ago" in check.detail


def test_damaged_database_needs_attention(tmp_path: Path) -> None:
    db = tmp_path / "clinic.db"
    db.write_bytes(b"not a database at all" * 100)
    (check,) = doctor.check_database(db)
    assert check.status == "attention"
    assert "not a TPI Chart database" in check.detail


def test_clinic_folder_problems_need_attention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TPI_CHART_CLINIC_DIR", str(tmp_path))
    assert doctor.check_clinic_folder().detail == f"{tmp_path}: no changes"
    (tmp_path / "payers").mkdir()
    (tmp_path / "payers" / "x.json").write_text(json.dumps({"id": "x"}), encoding="utf-8")
    check = doctor.check_clinic_folder()
    assert check.status == "attention"
    assert "payers/x.json: name: is required" in check.detail


def test_disk_encryption_reads_the_mount_and_device_mapper(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda1 / ext4 rw 0 0\n/dev/mapper/home /home ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n"
    )
    assert doctor._mount_source(Path("/home/ana/x"), mounts) == "/dev/mapper/home"
    assert doctor._mount_source(Path("/srv/x"), mounts) == "/dev/vda1"
    sys_block = tmp_path / "sys"
    (sys_block / "dm-0" / "dm").mkdir(parents=True)
    (sys_block / "dm-0" / "dm" / "uuid").write_text("LVM-abc\n")
    (sys_block / "dm-0" / "slaves" / "dm-1").mkdir(parents=True)
    (sys_block / "dm-1" / "dm").mkdir(parents=True)
    (sys_block / "dm-1" / "dm" / "uuid").write_text("CRYPT-LUKS2-1234\n")
    device = tmp_path / "dev-link"
    os.symlink(tmp_path / "dm-0", device)
    assert doctor._dm_is_crypt(device, sys_block) is True  # LVM on top of LUKS
    (sys_block / "dm-1" / "dm" / "uuid").write_text("LVM-plain\n")
    assert doctor._dm_is_crypt(device, sys_block) is False


def test_low_disk_space_needs_attention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda _p: usage(10, 9, 200 * 1024**2))
    check = doctor.check_free_space(tmp_path / "x.db")
    assert check.status == "attention"
    assert check.detail.startswith(f"0.2 GB free on the disk of {tmp_path}: below 1 GB")


def test_an_unreachable_server_clinic_is_reported_in_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Given a PostgreSQL URL, doctor checks the server, not a file named after the URL; audit
    verify checks a server clinic (tests/unit/test_migrate.py) and says in words when the
    server cannot be reached."""
    url = "postgresql://clinic@127.0.0.1:1/none"
    assert app_main(["--db", url, "doctor"]) == 1
    out = capsys.readouterr().out
    assert "ATTENTION  Database server: The clinic database server at 127.0.0.1/none" in out
    assert "no such database" not in out
    assert "Traceback" not in out
    assert app_main(["--db", url, "audit", "verify"]) != 0
    err = capsys.readouterr().err
    assert "The clinic database server at 127.0.0.1/none cannot be reached" in err
    assert "Traceback" not in err


def _server_checks(url: str) -> dict[str, doctor.Check]:
    checks = doctor.run_checks(url)
    assert not any(check.name == "Free space" for check in checks)  # a file's check
    return {check.name: check for check in checks}


def test_an_empty_server_database_is_reported_as_not_set_up_yet(pg_server: Any) -> None:
    pg_server._admin("DROP DATABASE IF EXISTS doctor_empty")
    pg_server._admin("CREATE DATABASE doctor_empty")
    server = _server_checks(pg_server.url("doctor_empty"))["Database server"]
    assert (server.status, server.detail.endswith("empty (the first start creates it)")) == (
        "info",
        True,
    )


def test_a_server_clinic_is_checked_for_what_its_it_can_act_on(pg_url: str) -> None:
    """The test cluster is what a clinic must not run: fsync off, a superuser role. Doctor says
    so; over its local socket the connection itself is fine."""
    from tpi_chart.storage.postgres.migrations import SCHEMA_VERSION as SERVER_SCHEMA
    from tpi_chart.storage.postgres.store import open_postgres_store

    open_postgres_store(pg_url).close()
    checks = _server_checks(pg_url)
    server = checks["Database server"]
    assert server.status == "ok"
    assert f"clinic schema version {SERVER_SCHEMA}" in server.detail
    assert "PostgreSQL 1" in server.detail
    assert checks["Connection"].status == "ok"
    assert "local socket" in checks["Connection"].detail
    assert checks["Server durability"].status == "attention"
    assert "fsync" in checks["Server durability"].detail
    assert checks["Database role"].status == "attention"
    assert "superuser" in checks["Database role"].detail


def test_an_unencrypted_or_unverified_network_connection_needs_attention() -> None:
    from tpi_chart.services.doctor_server import _connection_check

    assert _connection_check(False, None, False).status == "attention"
    assert "in clear" in _connection_check(False, None, False).detail
    unverified = _connection_check(True, "TLSv1.3", False)
    assert unverified.status == "attention"
    assert "pose as the server" in unverified.detail
    assert _connection_check(True, "TLSv1.3", True).status == "ok"
