"""`tpi-chart users …`: the first administrator on a new database, then accounts only through an
administrator signed in with `--as`; passwords from stdin (never argv) and never in the database
file, its WAL, the audit rows or the output."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engines import database
from tpi_chart.cli import main as cli
from tpi_chart.services.context import open_services

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PW = "orchid-lantern-7-quarry"
NEW_PW = "basalt-heron-42-violet"


@pytest.fixture(autouse=True)
def _keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))


@pytest.fixture
def db(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The clinic: a file, or the server's database (its URL: typed as a path, as `--db` is)."""
    return database(engine, tmp_path, request)  # type: ignore[no-any-return]


@pytest.fixture
def file_db(tmp_path: Path) -> Path:
    return tmp_path / "clinic.db"


def users(
    db: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    who: list[str] = []
    if "--as" in args:  # the global option: before the command
        at = args.index("--as")
        who, args = list(args[at : at + 2]), args[:at] + args[at + 2 :]
    code = cli.main(["--db", str(db), *who, "users", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def with_admin(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    code, out, err = users(
        db,
        monkeypatch,
        capsys,
        *("add", "okafor", "--name", "R. Okafor"),
        *("--clinic", "Northside Pain Clinic", "--phone", "555-010-2000"),
        stdin=f"{ADMIN_PW}\n",
    )
    assert code == 0, err
    assert "first administrator" in out
    return db


def test_a_new_clinic_set_up_on_the_command_line_carries_its_own_name(
    with_admin: Path,
) -> None:
    """The name given with --clinic is the clinic's, in its settings and in the subject of its
    signing authority (made with the first administrator), as the window's first run does."""
    with open_services(with_admin) as services:
        assert services.settings.clinic_name() == "Northside Pain Clinic"
        assert services.settings.clinic_phone() != ""
        authority = services.store.pki.authority()
    assert authority is not None
    from cryptography import x509

    subject = x509.load_der_x509_certificate(authority).subject
    assert "Northside Pain Clinic" in subject.rfc4514_string()


def test_a_new_clinic_without_its_name_is_refused_and_nothing_is_created(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = users(
        db, monkeypatch, capsys, "add", "okafor", "--name", "R. Okafor", stdin=f"{ADMIN_PW}\n"
    )
    assert code != 0
    assert "--clinic: a new clinic needs its name" in err
    assert "Traceback" not in err
    with open_services(db) as services:
        assert services.auth.needs_first_run()
        assert services.settings.clinic_name() == ""


def test_a_bad_clinic_phone_is_refused_before_any_account_exists(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = users(
        db,
        monkeypatch,
        capsys,
        *("add", "okafor", "--name", "R. Okafor", "--clinic", "Northside", "--phone", "call me"),
        stdin=f"{ADMIN_PW}\n",
    )
    assert code != 0
    assert "phone" in err
    with open_services(db) as services:
        assert services.auth.needs_first_run()


def test_a_set_up_clinic_is_not_renamed_by_adding_an_account(
    with_admin: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = users(
        with_admin,
        monkeypatch,
        capsys,
        *("add", "lee", "--name", "K. Lee", "--role", "assistant", "--clinic", "Other"),
        *("--as", "okafor"),
        stdin=f"{ADMIN_PW}\n{NEW_PW}\n",
    )
    assert code != 0
    assert "set up already" in err
    with open_services(with_admin) as services:
        assert services.settings.clinic_name() == "Northside Pain Clinic"
        assert [user.username for user in services.store.users.all()] == ["okafor"]


def test_the_first_account_is_an_administrator(
    with_admin: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_services(with_admin) as services:
        admin = services.auth.login("okafor", ADMIN_PW)
    assert admin is not None
    assert admin.is_administrator


def test_an_administrator_adds_lists_resets_and_deactivates(
    with_admin: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = with_admin
    code, out, err = users(
        db,
        monkeypatch,
        capsys,
        *("add", "chen", "--name", "Dr. Alex Chen, MD", "--role", "physician"),
        *("--role", "assistant", "--as", "okafor"),
        stdin=f"{ADMIN_PW}\n{NEW_PW}\n",
    )
    assert code == 0, err
    assert "created Dr. Alex Chen, MD (chen)" in out

    code, out, _ = users(db, monkeypatch, capsys, "list", "--as", "okafor", stdin=f"{ADMIN_PW}\n")
    assert code == 0
    assert out.splitlines()[0].split() == ["USERNAME", "NAME", "ROLES", "ACTIVE"]
    assert any(
        line.startswith("chen ") and "Physician, Medical assistant" in line
        for line in out.splitlines()
    )

    code, _, err = users(
        db,
        monkeypatch,
        capsys,
        "passwd",
        "chen",
        "--as",
        "okafor",
        stdin=f"{ADMIN_PW}\nanother-long-pass-9\n",
    )
    assert code == 0, err
    code, out, err = users(
        db, monkeypatch, capsys, "deactivate", "chen", "--as", "okafor", stdin=f"{ADMIN_PW}\n"
    )
    assert code == 0, err

    with open_services(db) as services:
        assert services.auth.login("chen", "another-long-pass-9") is None  # deactivated
        chen = services.auth.get("chen")
        assert chen is not None
        assert not chen.active
        rows = [(r.user, r.action, r.entity) for r in services.store.audit.rows()]
    assert ("okafor", "create", "user") in rows
    assert ("okafor", "update", "user_password") in rows
    assert ("okafor", "update", "user") in rows  # the deactivation


def test_without_an_administrator_nothing_changes(
    with_admin: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = with_admin
    code, _, err = users(
        db,
        monkeypatch,
        capsys,
        "add",
        "chen",
        "--name",
        "Chen",
        "--role",
        "physician",
        stdin=f"{NEW_PW}\n",
    )
    assert code == 2
    assert err.startswith("--as: ")

    code, _, err = users(
        db,
        monkeypatch,
        capsys,
        *("add", "chen", "--name", "Chen", "--role", "physician", "--as", "okafor"),
        stdin=f"wrong-password-here\n{NEW_PW}\n",
    )
    assert code == 2
    assert err.startswith("--as: sign-in as 'okafor' failed")
    with open_services(db) as services:
        assert services.auth.get("chen") is None
        # Nobody unlocked the audit key: the failure waits to be chained by the next sign-in.
        pending = services.store.conn.execute(  # type: ignore[attr-defined]
            "SELECT action FROM audit_pending ORDER BY id DESC LIMIT 1"
        ).fetchone()
        assert tuple(pending) == ("login_failed",)


def test_a_non_administrator_is_refused(
    with_admin: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = with_admin
    code, _, err = users(
        db,
        monkeypatch,
        capsys,
        *("add", "rivera", "--name", "J. Rivera", "--role", "assistant", "--as", "okafor"),
        stdin=f"{ADMIN_PW}\n{NEW_PW}\n",
    )
    assert code == 0, err
    code, _, err = users(
        db, monkeypatch, capsys, "deactivate", "okafor", "--as", "rivera", stdin=f"{NEW_PW}\n"
    )
    assert code == 1
    assert "only an administrator can manage user accounts" in err
    assert "J. Rivera is signed in as medical assistant" in err


def test_bad_input_names_the_field_and_exits_2(
    with_admin: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = with_admin
    code, _, err = users(
        db,
        monkeypatch,
        capsys,
        *("add", "chen", "--name", "Chen", "--role", "surgeon", "--as", "okafor"),
        stdin=f"{ADMIN_PW}\n{NEW_PW}\n",
    )
    assert code == 2
    assert err == "users.role: must be one of physician, assistant, administrator (not 'surgeon')\n"

    code, _, err = users(
        db,
        monkeypatch,
        capsys,
        *("add", "chen", "--name", "Chen", "--role", "physician", "--as", "okafor"),
        stdin=f"{ADMIN_PW}\nshort\n",
    )
    assert code == 2
    assert err.startswith("password: must be at least 8 characters")

    code, _, err = users(
        db,
        monkeypatch,
        capsys,
        *("add", "Bad Name!", "--name", "Chen", "--role", "physician", "--as", "okafor"),
        stdin=f"{ADMIN_PW}\n{NEW_PW}\n",
    )
    assert code == 2
    assert err.startswith("user.username: ")

    code, _, err = users(
        db, monkeypatch, capsys, "passwd", "okafor", "--as", "okafor", stdin=f"{ADMIN_PW}\n"
    )
    assert code == 2
    assert err.startswith("users.password: none given")


def test_the_only_administrator_cannot_be_deactivated(
    with_admin: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = users(
        with_admin,
        monkeypatch,
        capsys,
        "deactivate",
        "okafor",
        "--as",
        "okafor",
        stdin=f"{ADMIN_PW}\n",
    )
    assert code == 1
    assert "only active administrator" in err


def test_passwords_appear_nowhere_but_as_hashes(
    file_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = file_db  # the database file and its WAL are searched
    code, out1, err1 = users(
        db,
        monkeypatch,
        capsys,
        *("add", "okafor", "--name", "R. Okafor", "--clinic", "Northside"),
        stdin=f"{ADMIN_PW}\n",
    )
    assert code == 0, err1
    # Keep a reader open so the WAL survives the command's close and can be searched too; the
    # command runs in a process of its own, as it would in use.
    keep = sqlite3.connect(db)
    keep.execute("SELECT count(*) FROM users").fetchone()
    try:
        result = subprocess.run(
            [
                *(sys.executable, "-m", "tpi_chart.app", "--db", str(db), "--as", "okafor"),
                *("users", "add", "chen", "--name", "Chen", "--role", "physician"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            input=f"{ADMIN_PW}\n{NEW_PW}\n",
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        out2, err2 = result.stdout, result.stderr
        wal = db.with_name(db.name + "-wal")
        assert wal.stat().st_size > 0
        contents = {path: path.read_bytes() for path in (db, wal)}  # while the WAL exists
        audit = "\n".join(
            f"{row[0]} {row[1]}" for row in keep.execute("SELECT before, after FROM audit")
        )
        assert "chen" in audit  # the WAL we search holds the new account
    finally:
        keep.close()
    for secret in (ADMIN_PW, NEW_PW):
        for path, data in contents.items():
            assert secret.encode() not in data, path
        assert secret not in audit
        assert secret not in out1 + err1 + out2 + err2
    with open_services(db) as services:
        assert services.auth.login("chen", NEW_PW) is not None  # stored, as a hash


def test_the_password_is_never_an_argument(file_db: Path) -> None:
    db = file_db  # nothing is created: the file does not exist afterwards
    # Through the real entry point, as a person would run it: stdin is a pipe, not a terminal.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tpi_chart.app",
            "--db",
            str(db),
            "users",
            "add",
            "okafor",
            "--name",
            "R. Okafor",
            "--password",
            ADMIN_PW,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        input=f"{ADMIN_PW}\n",
        timeout=120,
    )
    assert result.returncode == 2
    assert "unrecognized arguments: --password" in result.stderr
    assert not db.exists()  # refused before anything was opened
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tpi_chart.app",
            "--db",
            str(db),
            "users",
            "add",
            "okafor",
            "--name",
            "R. Okafor",
            "--clinic",
            "Northside",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        input=f"{ADMIN_PW}\n",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert ADMIN_PW not in result.stdout + result.stderr
