"""`tpi-chart audit verify` detects hand edits, deletions and forged rows; `audit show` prints a
readable, filterable table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli_support import Keyboard, add_accounts, fast_hashing
from tests.unit.auth_support import reference_document
from tpi_chart.cli import main as cli
from tpi_chart.cli.commands_audit import summarise
from tpi_chart.services.paths import key_dir
from tpi_chart.storage.sqlite.store import open_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "chart.db"
    store = open_store(path, key_dir())
    document = reference_document()
    patient = store.patients.add(document.patient, "rivera")
    other = store.patients.add(
        document.patient.model_copy(update={"mrn": "D2002", "family_name": "Nguyen"}), "rivera"
    )
    store.procedures.add(patient.id, document.procedure, "rivera")
    store.procedures.add(other.id, document.procedure, "chen")
    store.settings.set("idle_minutes", "10", "admin")
    store.close()
    return path


def run(db: Path, *args: str) -> int:
    return cli.main(["--db", str(db), "audit", *args])


def show(db: Path, *args: str, who: str = "admin") -> int:
    """`audit show` as `who` (the accounts are added first, and audited like the rest)."""
    add_accounts(db)
    return cli.main(["--db", str(db), "--as", who, "audit", "show", *args])


def audit_count(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])
    finally:
        conn.close()


def tamper(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()


def test_an_untouched_trail_is_intact(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "verify") == 0
    assert capsys.readouterr().out == "audit trail intact: 5 rows\n"


def test_the_triggers_refuse_edits_through_plain_sql(db: Path) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(db, "UPDATE audit SET user = 'mallory' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(db, "DELETE FROM audit WHERE seq = 2")


def test_an_edited_row_is_named(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tamper(db, "DROP TRIGGER audit_no_update", "UPDATE audit SET user = 'mallory' WHERE seq = 3")
    assert run(db, "verify") == 1
    assert capsys.readouterr().out == (
        "audit trail BROKEN at row 3: row content was changed after it was written "
        "(edited or forged row)\n"
        "BROKEN: protection trigger audit_no_update is missing (dropped outside TPI Chart)\n"
    )


def test_a_deleted_middle_row_is_detected(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tamper(db, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq = 2")
    assert run(db, "verify") == 1
    assert capsys.readouterr().out.startswith(
        "audit trail BROKEN at row 3: row(s) 2..2 are missing"
    )


def test_renumbered_rows_after_a_deletion_are_detected(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tamper(
        db,
        "DROP TRIGGER audit_no_delete",
        "DROP TRIGGER audit_no_update",
        "DELETE FROM audit WHERE seq = 2",
        "UPDATE audit SET seq = seq - 1 WHERE seq > 2",
    )
    assert run(db, "verify") == 1
    assert capsys.readouterr().out.startswith("audit trail BROKEN at row 2:")


def test_show_prints_a_table_filtered_by_patient(
    db: Path, capsys: pytest.CaptureFixture[str], keyboard: Keyboard
) -> None:
    assert show(db) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TIME", "(UTC)", "USER", "ACTION", "ENTITY", "MRN", "CHANGES"]
    # Every row, including the accounts and this sign-in.
    assert lines[-1] == f"({audit_count(db)} rows)"
    assert "settings" in lines[5]
    assert "idle_minutes —→10" in lines[5]
    assert lines[-2].split()[2:4] == ["admin", "login"]

    assert show(db, "--mrn", "D2002") == 0
    rows = capsys.readouterr().out.splitlines()[1:-1]
    assert len(rows) == 2
    assert all(" D2002 " in row for row in rows)
    assert rows[1].split()[2:4] == ["chen", "create"]


def test_show_filters_by_date(
    db: Path, capsys: pytest.CaptureFixture[str], keyboard: Keyboard
) -> None:
    assert show(db, "--from", "2000-01-01", "--to", "2000-12-31") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "(0 rows)"
    assert show(db, "--from", "2000-01-01") == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"({audit_count(db)} rows)"


def test_bad_dates_are_bad_input(
    db: Path, capsys: pytest.CaptureFixture[str], keyboard: Keyboard
) -> None:
    with pytest.raises(SystemExit) as caught:
        show(db, "--from", "20-11-2026")
    assert caught.value.code == 2
    assert "'20-11-2026' is not a date; write it as YYYY-MM-DD" in capsys.readouterr().err
    assert show(db, "--from", "2026-12-01", "--to", "2026-11-01") == 2


def test_show_needs_an_administrator_signed_in(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trail names patients: without --as, with a wrong password, or as anyone but an
    administrator it prints nothing (exit 2, exit 2, exit 1), and the refusal is audited."""
    fast_hashing(monkeypatch)
    add_accounts(db)
    assert cli.main(["--db", str(db), "audit", "show"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("--as:")
    assert len(err.splitlines()) == 1
    monkeypatch.setattr("sys.stdin", Keyboard("wrong password"))
    assert cli.main(["--db", str(db), "--as", "admin", "audit", "show"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("--as: sign-in as 'admin' failed")
    monkeypatch.setattr("sys.stdin", Keyboard())
    for who in ("chen", "rivera"):
        assert cli.main(["--db", str(db), "--as", who, "audit", "show"]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert "only an administrator can read the audit trail" in err
    conn = sqlite3.connect(db)
    denied = conn.execute(
        "SELECT user FROM audit WHERE action = 'access_denied' ORDER BY seq"
    ).fetchall()
    conn.close()
    assert denied == [("chen",), ("rivera",)]


def test_a_missing_database_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path / "nope.db", "verify") == 1
    assert "no such database" in capsys.readouterr().err


def test_summaries_show_changes_and_never_a_password() -> None:
    assert summarise(
        {"volume_ml": 1.5, "twitch": "none"}, {"volume_ml": 1.0, "twitch": "none"}
    ) == ("volume_ml 1.5→1.0")
    assert summarise(None, {"username": "chen", "password": "changed"}) == (
        "password changed; username=chen"
    )
