"""Audit anchors (reliability.md §5.6): the tail's seq and mac kept beside the key detect what the
hash chain alone cannot: rows removed from the end, and the database replaced by an older copy.
A restore through the service re-anchors and says so in its `restore_db` row. A database whose
audit key is missing is refused, not given a fresh key."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.unit.auth_support import reference_document
from tests.users import staff
from tpi_chart.cli import main as cli
from tpi_chart.domain.models import Patient
from tpi_chart.services.context import Services, open_services
from tpi_chart.storage import audit as audit_log
from tpi_chart.storage.errors import AuditKeyProblem, DataLoss


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(folder))
    return folder


def patient(n: int) -> Patient:
    return reference_document().patient.model_copy(update={"mrn": f"A{n:04d}"})


def add_patients(services: Services, *numbers: int) -> None:
    for n in numbers:
        services.patients.create(patient(n))


@pytest.fixture
def db(tmp_path: Path, keys: Path) -> Path:
    path = tmp_path / "clinic.db"
    with open_services(path, staff("rivera")) as services:
        add_patients(services, 1, 2, 3, 4, 5, 6)
    return path


def verify(db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["--db", str(db), "audit", "verify"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def tail_seq(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT max(seq) FROM audit").fetchone()[0])
    finally:
        conn.close()


def anchor_file(keys: Path) -> Path:
    (found,) = keys.glob("*.anchor")
    return found


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_normal_use_is_intact_and_the_anchor_follows_the_tail(
    db: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(db, capsys)
    assert code == 0, out
    assert out == f"audit trail intact: {tail_seq(db)} rows\n"
    anchor = anchor_file(keys)
    assert stat.S_IMODE(anchor.stat().st_mode) == 0o600
    data = json.loads(anchor.read_text())
    assert data["seq"] == tail_seq(db)
    assert data["database"] == str(db)
    assert not list(keys.glob(".*.tmp"))  # written through a temporary file, renamed


def test_removing_the_last_three_rows_is_named_as_truncation(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    last = tail_seq(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("DELETE FROM audit WHERE seq > ?", (last - 3,))
    conn.close()

    code, out = verify(db, capsys)
    assert code == 1
    assert f"BROKEN at row {last - 2}" in out
    assert f"rows {last - 2}..{last} were removed from the end" in out


def test_an_older_copy_put_in_place_of_the_database_is_detected(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "yesterday.db"
    with open_services(db, staff("rivera")) as services:
        services.backups.backup(old)
        add_patients(services, 7, 8)
    shutil.copyfile(old, db)

    code, out = verify(db, capsys)
    assert code == 1
    assert "replaced by an older copy" in out


def test_an_older_copy_in_place_is_refused_at_open_and_the_evidence_stays(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "yesterday.db"
    with open_services(db, staff("rivera")) as services:
        services.backups.backup(old)
        add_patients(services, 7, 8)
    shutil.copyfile(old, db)
    with pytest.raises(DataLoss, match="lost changes"):
        open_services(db, staff("rivera"))  # the clinic cannot chart on the old copy unawares

    code, out = verify(db, capsys)
    assert code == 1
    assert "replaced by an older copy" in out


def test_a_restore_through_the_service_reanchors_and_audits_it(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "yesterday.db"
    with open_services(db, staff("rivera")) as services:
        copied_tail = services.store.audit.rows()[-1]
        services.backups.backup(old)  # its own `backup` row comes after the copy
        add_patients(services, 7, 8)
        before_restore = services.store.audit.rows()[-1]
        services.backups.restore(old)
        row = services.store.audit.rows()[-1]
        assert services.store.audit.verify().ok
    assert row.action == "restore_db"
    after = audit_log.decode(row.after)
    assert after["anchor_before"] == {"seq": before_restore.seq, "mac": before_restore.mac}
    assert after["anchor_restored"] == {"seq": copied_tail.seq, "mac": copied_tail.mac}
    assert row.seq == copied_tail.seq + 1

    code, out = verify(db, capsys)
    assert code == 0, out
    assert "intact" in out


def test_an_anchor_that_lags_is_not_a_break(db: Path, keys: Path) -> None:
    # A crash between COMMIT and the anchor write leaves the anchor one row behind.
    conn = sqlite3.connect(db)
    seq, mac = conn.execute(
        "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1 OFFSET 1"
    ).fetchone()
    conn.close()
    audit_log.write_anchor(anchor_file(keys), audit_log.Anchor(seq, mac), db)
    with open_services(db, staff("rivera")) as services:
        assert services.store.audit.verify().ok
        add_patients(services, 7)  # and the anchor moves on again
        tail = services.store.audit.rows()[-1]
    assert json.loads(anchor_file(keys).read_text())["seq"] == tail.seq


def test_a_damaged_anchor_is_reported(
    db: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor_file(keys).write_text("{not json")
    code, out = verify(db, capsys)
    assert code == 1
    assert "cannot be read" in out


def test_a_copy_opened_elsewhere_keeps_its_own_anchor(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "training.db"
    with open_services(db, staff("rivera")) as services:
        services.backups.backup(copy)
    with open_services(copy, staff("trainee")) as services:
        add_patients(services, 40, 41)
    assert verify(db, capsys)[0] == 0
    assert verify(copy, capsys)[0] == 0


def test_a_missing_key_with_audit_rows_is_refused_and_nothing_changes(
    db: Path, keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (key,) = keys.glob("*.key")
    key.unlink()
    before = digest(db)
    with pytest.raises(AuditKeyProblem) as refused:
        open_services(db, staff("rivera"))
    message = str(refused.value)
    assert str(key) in message
    assert "could not be verified or extended" in message
    assert "Restore the key file from your backup" in message
    assert not key.exists()  # no fresh key was made

    code, out = verify(db, capsys)
    assert code == 1
    assert "could not be verified or extended" in out
    assert "Traceback" not in out
    assert not key.exists()
    assert digest(db) == before


def test_a_new_database_still_gets_a_key(tmp_path: Path, keys: Path) -> None:
    with open_services(tmp_path / "new.db", staff("rivera")) as services:
        assert audit_log.key_path(keys, services.store.clinic_id).stat().st_size == 32
