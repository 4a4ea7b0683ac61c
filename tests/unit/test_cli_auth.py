"""The authenticated command line (issue 10 item 7; product.md §7, version 2): `--as USERNAME`
and a password from the terminal or one line of stdin; every command that changes data or reads
patient data refuses without it (exit 2, one line naming --as) and refuses a role that may not do
it (exit 1); nothing is changed either way. `sign` and `addendum` go through the window's
signing service; an imported signed document is an external record, never a signature."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests import engines
from tests.cli_support import PASSWORD, Keyboard, add_accounts, typed_keyboard
from tests.engines import clinic_database, copy_clinic, database, keep_clinic, table_rows
from tests.unit.auth_support import REFERENCE
from tpi_chart.cli.main import main
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.models import ProcedureDocument, Signature

Clinic = tuple[Path | str, int, int]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rows(db: Path | str, *, audit: bool = False) -> list[tuple[object, ...]]:
    """Every row of every table; the audit trail, sign-in attempts and sessions (a command's
    sign-in is one) only with `audit`. On a server the audit head row (the chain's tail, moved
    by every audit row) goes with the audit trail."""
    skip = () if audit else ("audit", "audit_pending", "audit_head", "login_attempts", "sessions")
    return table_rows(db, skip)


def query(db: Path | str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    return engines.query(db, sql, args)


def raw_refusal(db: Path | str) -> type[Exception]:
    """What a trigger's refusal of a statement run straight on the database raises."""
    if isinstance(db, Path):
        return sqlite3.IntegrityError
    import psycopg

    return psycopg.Error


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def template(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> tuple[Path, str | None, int, int]:
    """The demo clinic with accounts, a ready-to-sign reference visit and a backup file, built
    once per engine: (its folder, the saved server clinic, the ready procedure, a signed one)."""
    folder = tmp_path_factory.mktemp("cli-auth")
    db = clinic_database(engine, folder, request)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPI_CHART_KEY_DIR", str(folder / "keys"))
        # (Built before the autouse fixture that keeps each test out of the real home folder.)
        patch.setenv("HOME", str(folder / "home"))
        patch.setenv("XDG_DATA_HOME", str(folder / "data"))
        patch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        typed_keyboard(patch)
        # A server clinic takes the demo once it has an administrator (test_the_demo_…).
        admin = ["--as", "admin"] if engine == "postgres" else []
        if admin:
            add_accounts(db)  # type: ignore[arg-type]
        assert main(["--db", str(db), *admin, "demo"]) == 0
        add_accounts(db)  # type: ignore[arg-type]
        visit = json.loads(REFERENCE.read_text())
        visit["patient"]["mrn"] = "R3003"  # not the demo's D1001: no demo history to warn about
        source = folder / "visit.json"
        source.write_text(json.dumps(visit))
        assert main(["--db", str(db), "--as", "chen", "import", str(source)]) == 0
        (ready,) = query(
            db,
            "SELECT p.id FROM procedures p JOIN patients t ON t.id = p.patient_id "
            "WHERE t.mrn = 'R3003'",
        )[0]
        (signed,) = query(db, "SELECT min(id) FROM procedures WHERE status = 'signed'")[0]
        backup = ["--db", str(db), "--as", "admin", "backup", "--out", str(folder / "b.db")]
        assert main(backup) == 0
    return folder, keep_clinic(engine, request, "cli_auth"), int(ready), int(signed)


@pytest.fixture
def clinic(
    template: tuple[Path, str | None, int, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    keyboard: Keyboard,
) -> Clinic:
    """A copy of the prepared clinic: (database, the ready procedure, a signed procedure). Its
    folder (the backup file, the keys) is `tmp_path`."""
    source, saved, ready, signed = template
    shutil.copytree(source, tmp_path, dirs_exist_ok=True)
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    db = tmp_path / "clinic.db" if saved is None else copy_clinic(saved, request)
    return db, ready, signed


ACKS = ("--ack", "ptx_risk_site=superficial technique", "--ack", "multi_region=one pattern")


def commands(folder: Path, ready: int, signed: int) -> dict[str, list[str]]:
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


def restored_over(db: Path | str, command: str, code: int, err: str) -> bool:
    """`restore` on a server goes only into a new, empty database, where nobody can sign in
    yet, so it asks for no account but the backup's passphrase (the line typed for --as here):
    over this clinic it is refused, a wrong passphrase too, with nothing restored. True when
    that is what happened."""
    if command != "restore" or isinstance(db, Path):
        return False
    refusals = {
        1: "a backup is restored only into a new, empty database",
        2: "backup.passphrase: does not open",
    }
    assert code in refusals, err
    assert refusals[code] in err
    return True


@pytest.mark.parametrize("command", COMMANDS)
def test_without_as_exit_2_naming_as_and_nothing_changes(
    clinic: Clinic, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    db, ready, signed = clinic
    before = rows(db, audit=True)
    code, out, err = run(capsys, "--db", str(db), *commands(tmp_path, ready, signed)[command])
    if restored_over(db, command, code, err):
        assert rows(db, audit=True) == before
        return
    assert code == 2, err
    assert out == ""
    assert err.splitlines() == [
        "--as: this command needs --as USERNAME, your account (you are asked for its password)"
    ]
    assert rows(db, audit=True) == before  # not even a sign-in attempt
    assert not (tmp_path / "x.json").exists()
    assert not (tmp_path / "again.db").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_wrong_password_is_exit_2_naming_as_and_nothing_changes(
    clinic: Clinic,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    db, ready, signed = clinic
    before = rows(db)
    monkeypatch.setattr("sys.stdin", Keyboard("not-the-password"))
    argv = ["--db", str(db), "--as", "admin", *commands(tmp_path, ready, signed)[command]]
    code, out, err = run(capsys, *argv)
    if restored_over(db, command, code, err):
        assert rows(db) == before
        return
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
    clinic: Clinic,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    who: str,
    command: str,
    message: str,
) -> None:
    db, ready, signed = clinic
    before = rows(db)
    argv = ["--db", str(db), "--as", who, *commands(tmp_path, ready, signed)[command]]
    code, out, err = run(capsys, *argv)
    if restored_over(db, command, code, err):
        assert rows(db) == before
        return
    assert code == 1, err
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert rows(db) == before
    assert not (tmp_path / "again.db").exists()
    denied = query(db, 'SELECT "user" FROM audit WHERE action = ?', "access_denied")
    assert denied == [(who,)] or (command == "users deactivate" and denied == [(who,)])


def test_a_physician_signs_and_adds_an_addendum(
    clinic: Clinic, capsys: pytest.CaptureFixture[str]
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
    actions = query(
        db,
        'SELECT "user", action FROM audit WHERE action IN (?, ?) ORDER BY seq',
        "sign",
        "addendum",
    )
    assert actions[-2:] == [("chen", "sign"), ("chen", "addendum")]


def test_a_note_that_cannot_be_filed_says_so_and_waits_in_the_outbox(
    clinic: Clinic, capsys: pytest.CaptureFixture[str]
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
    clinic: Clinic,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The trail says something happened in 2099: this computer's clock went backwards. Signing
    is refused (exit 1, naming --clock-ok) and that is audited; with --clock-ok it signs."""
    from tpi_chart.storage import audit

    db, ready, _ = clinic
    with monkeypatch.context() as future:
        future.setattr(audit, "now_utc", lambda: "2099-01-01T00:00:00.000000+00:00")
        add_accounts(db)  # type: ignore[arg-type]  # no one new: a sign-in "in 2099"
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
        for (after,) in query(
            db, "SELECT after FROM audit WHERE action = 'clock_backwards' ORDER BY seq"
        )
    ]
    assert confirmations == [False, True]


def test_repeated_wrong_passwords_lock_the_account_on_the_command_line(
    clinic: Clinic,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, _, signed = clinic
    monkeypatch.setattr("tpi_chart.services.auth.time.sleep", lambda seconds: None)
    export = ["export", "--procedure", str(signed), "--out", str(tmp_path / "x.json")]
    monkeypatch.setattr("sys.stdin", Keyboard("wrong-password-1"))
    codes = [run(capsys, "--db", str(db), "--as", "rivera", *export)[0] for _ in range(5)]
    assert codes[:4] == [2, 2, 2, 2]
    monkeypatch.setattr("sys.stdin", Keyboard())
    code, _out, err = run(capsys, "--db", str(db), "--as", "rivera", *export)
    assert code == 1
    assert "locked" in err
    assert not (tmp_path / "x.json").exists()


def test_an_imported_signed_document_is_an_external_record(
    clinic: Clinic, capsys: pytest.CaptureFixture[str], tmp_path: Path
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
    with pytest.raises(raw_refusal(db), match="signed elsewhere"):
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
    engine: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    keyboard: Keyboard,
    request: pytest.FixtureRequest,
) -> None:
    db = database(engine, tmp_path, request)
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
    clinic: Clinic, capsys: pytest.CaptureFixture[str], tmp_path: Path
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


def test_the_demo_on_a_server_needs_its_first_administrator(
    engine: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    keyboard: Keyboard,
    request: pytest.FixtureRequest,
) -> None:
    """A new file takes the demo before any account. A new server clinic does not: its audit
    key is sealed in it at the first administrator's sign-in, and demo rows written before
    that left a clinic nobody could open again."""
    db = database(engine, tmp_path, request)
    code, out, err = run(capsys, "--db", str(db), "demo")
    if engine == "sqlite":
        assert (code, err) == (0, "")
        assert out == f"demo clinic seeded into {db}\n"
        return
    assert (code, out) == (1, "")
    assert "has no administrator yet" in err
    assert "Nothing was changed" in err
    assert query(db, "SELECT count(*) FROM patients") == [(0,)]
    add_accounts(db)  # the clinic still opens
    code, out, err = run(capsys, "--db", str(db), "--as", "admin", "demo")
    assert (code, err) == (0, "")
    assert out.startswith("demo clinic seeded into server ")
    assert query(db, "SELECT count(*) FROM patients WHERE mrn = 'D1001'") == [(1,)]
