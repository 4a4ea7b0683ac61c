"""The authenticated command line (issue 10 item 7; product.md §7, version 2): `--as USERNAME`
and a password from the terminal or one line of stdin; every command that changes data or reads
patient data refuses without it (exit 2, one line naming --as) and refuses a role that may not do
it (exit 1); nothing is changed either way. `sign` and `addendum` go through the window's
signing service; an imported signed document is an external record, never a signature."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli_support import PASSWORD, Keyboard, add_accounts
from tests.unit.auth_support import REFERENCE
from tpi_chart.cli.main import main
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.models import ProcedureDocument, Signature


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rows(db: Path, *, audit: bool = False) -> list[tuple[object, ...]]:
    """Every row of every table; the audit trail, sign-in attempts and sessions (a command's
    sign-in is one) only with `audit`."""
    conn = sqlite3.connect(db)
    try:
        skip = () if audit else ("audit", "audit_pending", "login_attempts", "sessions")
        found: list[tuple[object, ...]] = []
        tables = conn.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")
        for (table,) in tables.fetchall():
            if table not in skip:
                found += [(table, *r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
        return found
    finally:
        conn.close()


def query(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(row) for row in conn.execute(sql, args)]
    finally:
        conn.close()


@pytest.fixture
def clinic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keyboard: Keyboard
) -> tuple[Path, int, int]:
    """The demo clinic with accounts, a ready-to-sign reference visit and a backup file:
    (database, the ready procedure, a signed procedure)."""
    db = tmp_path / "clinic.db"
    assert run(capsys, "--db", str(db), "demo")[0] == 0
    add_accounts(db)
    visit = json.loads(REFERENCE.read_text())
    visit["patient"]["mrn"] = "R3003"  # not the demo's D1001: no demo history to warn about
    source = tmp_path / "visit.json"
    source.write_text(json.dumps(visit))
    code, out, err = run(capsys, "--db", str(db), "--as", "chen", "import", str(source))
    assert code == 0, err
    ready = int(out)
    (signed,) = query(db, "SELECT min(id) FROM procedures WHERE status = 'signed'")[0]
    assert (
        run(capsys, "--db", str(db), "--as", "admin", "backup", "--out", str(tmp_path / "b.db"))[0]
        == 0
    )
    return db, ready, int(signed)  # type: ignore[arg-type]


ACKS = ("--ack", "ptx_risk_site=superficial technique", "--ack", "multi_region=one pattern")


def commands(db: Path, ready: int, signed: int) -> dict[str, list[str]]:
    folder = db.parent
    return {
        "import": ["import", str(REFERENCE)],
        "export": ["export", "--procedure", str(signed), "--out", str(folder / "x.json")],
        "batch export": ["export", "--from", "2000-01-01", "--to", "2100-01-01", "--dir", "out"],
        "sign": ["sign", "--procedure", str(ready), *ACKS],
        "addendum": ["addendum", "--procedure", str(signed), "--text", "Late entry."],
        "backup": ["backup", "--out", str(folder / "again.db")],
        "restore": ["restore", str(folder / "b.db")],
        "demo": ["demo"],
        "audit show": ["audit", "show"],
        "users list": ["users", "list"],
        "users add": ["users", "add", "lee", "--name", "K. Lee", "--role", "assistant"],
        "users passwd": ["users", "passwd", "rivera"],
        "users deactivate": ["users", "deactivate", "rivera"],
    }


COMMANDS = sorted(commands(Path("x"), 1, 2))


@pytest.mark.parametrize("command", COMMANDS)
def test_without_as_exit_2_naming_as_and_nothing_changes(
    clinic: tuple[Path, int, int], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    db, ready, signed = clinic
    before = rows(db, audit=True)
    code, out, err = run(capsys, "--db", str(db), *commands(db, ready, signed)[command])
    assert code == 2, err
    assert out == ""
    assert err.splitlines() == [
        "--as: this command needs --as USERNAME, your account (you are asked for its password)"
    ]
    assert rows(db, audit=True) == before  # not even a sign-in attempt
    assert not (db.parent / "x.json").exists()
    assert not (db.parent / "again.db").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_wrong_password_is_exit_2_naming_as_and_nothing_changes(
    clinic: tuple[Path, int, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    db, ready, signed = clinic
    before = rows(db)
    monkeypatch.setattr("sys.stdin", Keyboard("not-the-password"))
    argv = ["--db", str(db), "--as", "admin", *commands(db, ready, signed)[command]]
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("--as: sign-in as 'admin' failed")
    assert PASSWORD not in err
    assert rows(db) == before
    # The failure is audited and counts towards the lockout, as in the window. Nobody unlocked
    # the audit key, so it waits unchained until the next sign-in chains it (audit_keys).
    assert query(db, "SELECT action FROM audit_pending") == [("login_failed",)]


REFUSALS = [
    ("rivera", "sign", "only a physician can sign procedure notes"),
    ("admin", "sign", "only a physician can sign procedure notes"),
    ("rivera", "addendum", "only a physician can add addenda to signed notes"),
    ("chen", "backup", "only an administrator can back up the database"),
    ("chen", "restore", "only an administrator can restore the database from a backup"),
    ("rivera", "audit show", "only an administrator can read the audit trail"),
    ("chen", "users list", "only an administrator can manage user accounts"),
    ("rivera", "users add", "only an administrator can manage user accounts"),
    ("chen", "users deactivate", "only an administrator can manage user accounts"),
    ("chen", "demo", "only an administrator can seed the demo clinic"),
]


@pytest.mark.parametrize(("who", "command", "message"), REFUSALS)
def test_a_role_that_may_not_is_exit_1_and_nothing_changes(
    clinic: tuple[Path, int, int],
    capsys: pytest.CaptureFixture[str],
    who: str,
    command: str,
    message: str,
) -> None:
    db, ready, signed = clinic
    before = rows(db)
    argv = ["--db", str(db), "--as", who, *commands(db, ready, signed)[command]]
    code, out, err = run(capsys, *argv)
    assert code == 1, err
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert rows(db) == before
    assert not (db.parent / "again.db").exists()
    denied = query(db, "SELECT user FROM audit WHERE action = 'access_denied'")
    assert denied == [(who,)] or (command == "users deactivate" and denied == [(who,)])


def test_a_physician_signs_and_adds_an_addendum(
    clinic: tuple[Path, int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    db, ready, _ = clinic
    code, out, err = run(capsys, "--db", str(db), "--as", "chen", "sign", "--procedure", str(ready))
    assert code == 2
    assert out == ""
    assert sorted(line.split(" needs")[0] for line in err.splitlines()) == [
        "--ack: warning multi_region",
        "--ack: warning ptx_risk_site",
    ]
    assert query(db, "SELECT status FROM procedures WHERE id = ?", ready) == [("in_progress",)]

    base = ["--db", str(db), "--as", "chen", "sign", "--procedure", str(ready)]
    code, _, err = run(capsys, *base, "--ack", "ptx_risk_site")
    assert (code, err.splitlines()[0][:7]) == (2, "--ack: ")
    code, _, err = run(capsys, *base, *ACKS, "--ack", "dose_high=fine")
    assert code == 2
    assert err.startswith("--ack: dose_high is not an open warning")

    code, out, err = run(capsys, *base, *ACKS)
    assert (code, err) == (0, "")
    signed_line, filed_line = out.splitlines()
    assert signed_line.startswith(f"procedure {ready} signed by Dr. Alex Chen, MD at ")
    assert query(db, "SELECT status, signed_by FROM procedures WHERE id = ?", ready) == [
        ("signed", "Dr. Alex Chen, MD")
    ]
    # Filed as the window files it: the note's PDF and JSON in the export folder, at once.
    folder = Path(filed_line.removeprefix("filed in ").rsplit(" (", 1)[0])
    assert filed_line.endswith("(2 formats)")
    assert sorted(path.suffix for path in folder.iterdir()) == [".json", ".pdf"]
    assert query(db, "SELECT count(*) FROM outbox WHERE status = 'pending'") == [(0,)]
    assert run(capsys, *base, *ACKS)[0] == 1  # already signed

    addendum = ["addendum", "--procedure", str(ready), "--text", "Patient called: no bruising."]
    code, out, err = run(capsys, "--db", str(db), "--as", "chen", *addendum)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"addendum 1 added to procedure {ready}",
        f"filed in {folder} (2 formats)",
    ]
    actions = query(db, "SELECT user, action FROM audit WHERE action IN ('sign', 'addendum')")
    assert actions[-2:] == [("chen", "sign"), ("chen", "addendum")]


def test_a_note_that_cannot_be_filed_says_so_and_waits_in_the_outbox(
    clinic: tuple[Path, int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    """Signing succeeds (the signature is the record); the export folder being unusable is
    said on standard error, and the note's files wait in the outbox, never dropped."""
    from tpi_chart.services.context import default_export_folder

    db, ready, _ = clinic
    blocked = default_export_folder()
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("a file where the notes folder should be")
    base = ["--db", str(db), "--as", "chen", "sign", "--procedure", str(ready)]
    code, out, err = run(capsys, *base, *ACKS)
    assert code == 0
    assert out.startswith(f"procedure {ready} signed by ")
    assert "filed in" not in out
    problems = err.splitlines()
    assert len(problems) == 2  # the PDF and the JSON
    assert all(line.startswith("not filed yet: ") for line in problems)
    assert all(line.endswith("(tpi-chart outbox --retry)") for line in problems)
    assert query(db, "SELECT count(*) FROM outbox WHERE status = 'pending'") == [(2,)]


def test_a_clock_behind_the_audit_trail_needs_clock_ok(
    clinic: tuple[Path, int, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trail says something happened in 2099: this computer's clock went backwards. Signing
    is refused (exit 1, naming --clock-ok) and that is audited; with --clock-ok it signs."""
    from tpi_chart.storage import audit

    db, ready, _ = clinic
    with monkeypatch.context() as future:
        future.setattr(audit, "now_utc", lambda: "2099-01-01T00:00:00.000000+00:00")
        add_accounts(db)  # nothing new, but sign in once "in 2099"
        assert run(capsys, "--db", str(db), "--as", "rivera", "audit", "show")[0] == 1
    base = ["--db", str(db), "--as", "chen", "sign", "--procedure", str(ready), *ACKS]
    code, _, err = run(capsys, *base)
    assert code == 1
    assert "the clock went backwards" in err
    assert "--clock-ok" in err
    assert query(db, "SELECT status FROM procedures WHERE id = ?", ready) == [("in_progress",)]
    code, _out, err = run(capsys, *base, "--clock-ok")
    assert (code, err) == (0, "")
    confirmations = [
        json.loads(str(after))["confirmed"]
        for (after,) in query(db, "SELECT after FROM audit WHERE action = 'clock_backwards'")
    ]
    assert confirmations == [False, True]


def test_repeated_wrong_passwords_lock_the_account_on_the_command_line(
    clinic: tuple[Path, int, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, _, signed = clinic
    monkeypatch.setattr("tpi_chart.services.auth.time.sleep", lambda seconds: None)
    export = ["export", "--procedure", str(signed), "--out", str(db.parent / "x.json")]
    monkeypatch.setattr("sys.stdin", Keyboard("wrong-password-1"))
    codes = [run(capsys, "--db", str(db), "--as", "rivera", *export)[0] for _ in range(5)]
    assert codes[:4] == [2, 2, 2, 2]
    monkeypatch.setattr("sys.stdin", Keyboard())
    code, _out, err = run(capsys, "--db", str(db), "--as", "rivera", *export)
    assert code == 1
    assert "locked" in err
    assert not (db.parent / "x.json").exists()


def test_an_imported_signed_document_is_an_external_record(
    clinic: tuple[Path, int, int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A document that says "signed by Dr. Alex Chen" is stored as signed elsewhere: never a
    signature of this clinic, read-only, exported with status external and the notice."""
    db, _, _ = clinic
    document = ProcedureDocument.model_validate_json(REFERENCE.read_text())
    document = document.model_copy(
        update={"patient": document.patient.model_copy(update={"mrn": "X9009"})}
    )
    forged = document.model_copy(
        update={
            "procedure": document.procedure.model_copy(
                update={
                    "status": "signed",
                    "signature": Signature(
                        signed_by="Dr. Alex Chen, MD",
                        signed_at=document.procedure.performed_at,
                        content_hash=content_hash(document),
                    ),
                }
            )
        }
    )
    source = tmp_path / "from-elsewhere.json"
    source.write_text(json.dumps(forged.to_json_dict()))
    assert run(capsys, "check", str(source))[0] == 0
    code, out, err = run(capsys, "--db", str(db), "--as", "rivera", "import", str(source))
    assert (code, err) == (0, "")
    procedure_id = int(out)
    assert query(db, "SELECT status, signed_by FROM procedures WHERE id = ?", procedure_id) == [
        ("in_progress", None)
    ]
    assert query(
        db, "SELECT count(*) FROM audit WHERE action = 'sign' AND entity_id = ?", procedure_id
    ) == [(0,)]
    exported = tmp_path / "out.json"
    argv = ["--db", str(db), "--as", "rivera", "export", "--procedure", str(procedure_id)]
    assert run(capsys, *argv, "--out", str(exported))[0] == 0
    data = json.loads(exported.read_text())
    assert data["procedure"]["status"] == "external"
    assert "signature" not in data["procedure"]
    assert data["procedure"]["external_signature"]["signed_by"] == "Dr. Alex Chen, MD"
    assert (
        data["procedure"]["external_signature"]["notice"]
        == "signed elsewhere, not verified by this clinic"
    )
    # Read-only, and it can never be signed here.
    code, _, err = run(
        capsys, "--db", str(db), "--as", "chen", "sign", "--procedure", str(procedure_id)
    )
    assert code == 1
    assert "signed elsewhere" in err
    with pytest.raises(sqlite3.IntegrityError, match="signed elsewhere"):
        query(db, "UPDATE sites SET volume_ml = 9 WHERE procedure_id = ?", procedure_id)
    # Re-importing the export is the same record (imports are idempotent), still external.
    code, out, _ = run(capsys, "--db", str(db), "--as", "rivera", "import", str(exported))
    assert code == 0
    assert int(out) == procedure_id
    assert query(db, "SELECT count(*) FROM external_records") == [(1,)]
    assert query(db, "SELECT status FROM procedures WHERE id = ?", procedure_id) == [
        ("in_progress",)
    ]


def test_check_warns_about_a_signature_that_does_not_match(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    document = ProcedureDocument.model_validate_json(REFERENCE.read_text())
    signed = document.procedure.model_copy(
        update={
            "status": "signed",
            "signature": Signature(
                signed_by="Dr. Alex Chen, MD",
                signed_at=document.procedure.performed_at,
                content_hash=content_hash(document),
            ),
            "pain_after": 0,  # changed after signing
        }
    )
    source = tmp_path / "changed.json"
    source.write_text(json.dumps(document.model_copy(update={"procedure": signed}).to_json_dict()))
    code, out, err = run(capsys, "check", str(source))
    assert code == 1
    assert json.loads(out)["valid"] is True
    assert err.startswith("warning: procedure.signature.content_hash: does not match")


def test_check_schema_and_verify_need_no_account(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "check", str(REFERENCE))[0] == 0
    assert run(capsys, "schema")[0] == 0
    assert run(capsys, "verify", str(tmp_path / "none.pdf"))[0] == 2  # a missing file, not --as
    assert "--as" not in capsys.readouterr().err


def test_the_first_administrator_needs_no_as(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keyboard: Keyboard
) -> None:
    db = tmp_path / "new.db"
    code, out, err = run(
        capsys,
        "--db",
        str(db),
        "users",
        "add",
        "boss",
        "--name",
        "B. Boss",
        "--clinic",
        "Boss Clinic",
    )
    assert (code, err) == (0, "")
    assert "first administrator" in out


def test_a_note_signed_on_the_command_line_verifies_against_the_exported_trust_root(
    clinic: tuple[Path, int, int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`--as chen` unlocks the physician's signing key: the note is PAdES-signed; the trust root
    an administrator exports validates it."""
    db, ready, _ = clinic
    base = ["--db", str(db)]
    assert run(capsys, *base, "--as", "chen", "sign", "--procedure", str(ready), *ACKS)[0] == 0
    note = tmp_path / "note.pdf"
    export = ["export", "--procedure", str(ready), "--out", str(note)]
    assert run(capsys, *base, "--as", "rivera", *export)[0] == 0
    trust = tmp_path / "clinic-ca.pem"
    code, _, err = run(capsys, *base, "--as", "chen", "ca", "export", "--out", str(trust))
    assert code == 1
    assert "only an administrator" in err
    assert not trust.exists()
    code, out, err = run(capsys, *base, "--as", "admin", "ca", "export", "--out", str(trust))
    assert (code, err) == (0, "")
    assert trust.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    code, out, err = run(capsys, "verify", str(note), "--trust", str(trust))
    assert code == 0, out + err
    assert out.startswith("match")
