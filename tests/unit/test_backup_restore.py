"""Backups a clinic can restore anywhere (issue 11 §6, §8, §9): one encrypted file with the
database and the audit key; a restore on a fresh machine (its own data and key folders) brings
the clinic back with the audit chain and the signatures verifying; an interrupted backup leaves
nothing; an export that cannot be audited leaves no file; a read-only database can still be
exported, backed up and verified."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_support import PASSWORD, add_accounts, sign_in
from tests.users import staff
from tpi_chart.cli.main import main
from tpi_chart.services.context import open_services
from tpi_chart.services.errors import InvalidInput
from tpi_chart.services.paths import resolve_db_path
from tpi_chart.services.sealed_backup import MAGIC
from tpi_chart.storage.errors import DiskFull, ReadOnlyDatabase

PASSPHRASE = "correct horse battery staple"
SIGNED_IN = frozenset({"import", "export", "backup", "show", "verify"})


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    """The command; where it needs a sign-in, as the administrator (whose password is the
    first line of standard input, before `stdin`)."""
    args = list(argv)
    if SIGNED_IN & set(args):
        db = Path(args[args.index("--db") + 1]) if "--db" in args else resolve_db_path(None)
        with contextlib.suppress(ReadOnlyDatabase):  # made before the disk turned read-only
            add_accounts(db)
        args[2 if "--db" in args else 0 : 2 if "--db" in args else 0] = ["--as", "admin"]
        stdin = f"{PASSWORD}\n{stdin}"
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def machine(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the data and config folders at `root` (one computer); returns its database."""
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
    monkeypatch.delenv("TPI_CHART_KEY_DIR", raising=False)
    return root / "data" / "tpi-chart" / "tpi-chart.db"


def test_a_backup_restores_on_a_fresh_machine_with_chain_and_signatures_verifying(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = machine(tmp_path / "clinic-pc", monkeypatch)
    assert run(capsys, monkeypatch, "demo")[0] == 0
    backup = tmp_path / "usb" / "clinic.tpibackup"
    code, out, err = run(capsys, monkeypatch, "backup", "--out", str(backup), stdin=PASSPHRASE)
    assert code == 0, err
    assert "encrypted backup written" in out
    data = backup.read_bytes()
    assert data.startswith(MAGIC)
    assert b"Lopez" not in data
    assert b"SQLite format 3" not in data
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert first.exists()

    second = machine(tmp_path / "new-pc", monkeypatch)
    assert not second.exists()
    code, out, err = run(capsys, monkeypatch, "restore", str(backup), stdin="wrong passphrase")
    assert code == 2
    assert err.startswith("backup.passphrase:")
    code, out, err = run(capsys, monkeypatch, "restore", str(backup), stdin=PASSPHRASE)
    assert code == 0, err
    code, out, err = run(capsys, monkeypatch, "audit", "verify")
    assert code == 0, out + err
    assert "audit trail intact" in out
    assert "match their signatures" in out
    with open_services(second, staff("rivera")) as services:
        assert services.patients.by_mrn("D1001") is not None


def test_the_clinic_passphrase_is_kept_as_a_derived_key_for_unattended_backups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    machine(tmp_path / "pc", monkeypatch)
    assert run(capsys, monkeypatch, "demo")[0] == 0
    code, _, err = run(capsys, monkeypatch, "backup", "--set-passphrase", stdin="short")
    assert code == 2
    assert err.startswith("backup.passphrase:")
    assert run(capsys, monkeypatch, "backup", "--set-passphrase", stdin=PASSPHRASE)[0] == 0
    keys = list((tmp_path / "pc" / "config" / "tpi-chart" / "keys").glob("*.backup-key"))
    assert len(keys) == 1
    assert PASSPHRASE.encode() not in keys[0].read_bytes()
    assert stat.S_IMODE(keys[0].stat().st_mode) == 0o600
    out_file = tmp_path / "b.tpibackup"
    code, _, err = run(capsys, monkeypatch, "backup", "--out", str(out_file))  # no prompt
    assert code == 0, err
    assert out_file.read_bytes().startswith(MAGIC)


KILLED_BACKUP = """
import sys, time
from pathlib import Path
from tests.users import staff
from tpi_chart.services import sealed_backup
from tpi_chart.services.context import open_services

real = sealed_backup._write_all
def slow(fd, data):
    half = len(data) // 2
    import os
    os.write(fd, data[:half])
    print("writing", flush=True)
    time.sleep(60)
sealed_backup._write_all = slow
with open_services(Path(sys.argv[1]), staff("rivera")) as services:
    services.backups.backup_sealed(Path(sys.argv[2]), "correct horse battery staple")
"""


def test_a_backup_killed_midway_leaves_nothing_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "clinic.db"
    assert run(capsys, monkeypatch, "--db", str(db), "demo")[0] == 0
    folder = tmp_path / "backups"
    folder.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_BACKUP, str(db), str(folder / "b.tpibackup")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    time.sleep(0.1)
    assert list(folder.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_export_whose_audit_row_cannot_commit_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "clinic.db"
    assert run(capsys, monkeypatch, "--db", str(db), "demo")[0] == 0
    out = tmp_path / "exports" / "note.json"
    with open_services(db, staff("rivera")) as services:
        rows_before = len(services.store.audit.rows())

        def disk_full(**_: object) -> None:
            raise DiskFull("the disk is full; free some space and try again (nothing was saved)")

        monkeypatch.setattr(services.store.audit, "record", disk_full)
        with pytest.raises(DiskFull, match="nothing was saved"):
            services.documents.export_json(1, out)
        monkeypatch.undo()
        assert len(services.store.audit.rows()) == rows_before
    assert list(out.parent.iterdir()) == []


def _make_read_only(folder: Path, read_only: bool) -> None:
    """A read-only place: file modes, or for root (who ignores them) the immutable attribute,
    which refuses every write to the file and every new file in the folder even to root."""
    paths = [*folder.iterdir(), folder]
    if os.geteuid() == 0:
        flag = "+i" if read_only else "-i"
        subprocess.run(["chattr", flag, *map(str, paths)], check=True)
        return
    for path in paths:
        path.chmod((0o500 if path.is_dir() else 0o400) if read_only else 0o700)


def test_a_read_only_database_can_still_be_exported_backed_up_and_verified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "clinic.db"
    assert run(capsys, monkeypatch, "--db", str(db), "demo")[0] == 0
    add_accounts(db)
    with open_services(db) as anonymous:
        sign_in(anonymous, "admin").backups.set_passphrase(PASSPHRASE)
    before = db.read_bytes()
    _make_read_only(folder, True)
    try:
        reference = Path(__file__).parents[1] / "examples" / "reference-visit.json"
        code, _, err = run(capsys, monkeypatch, "--db", str(db), "import", str(reference))
        assert code == 1  # writes are refused as before
        assert "cannot be written" in err
        exported = tmp_path / "out" / "p1.json"
        code, out, err = run(
            capsys,
            monkeypatch,
            "--db",
            str(db),
            "export",
            "--procedure",
            "1",
            "--out",
            str(exported),
        )
        assert code == 0, err
        assert "read-only" in err
        assert exported.exists()
        code, out, err = run(
            capsys, monkeypatch, "--db", str(db), "backup", "--out", str(tmp_path / "b.bak")
        )
        assert code == 0, err
        assert "read-only" in err
        assert (tmp_path / "b.bak").read_bytes().startswith(MAGIC)
        code, out, err = run(capsys, monkeypatch, "--db", str(db), "audit", "verify")
        assert code == 0, out + err
        assert "read-only" in err
        code, out, err = run(capsys, monkeypatch, "--db", str(db), "audit", "show")
        assert code == 0, err
        assert "read-only" in err
    finally:
        _make_read_only(folder, False)
    assert db.read_bytes() == before


def test_a_wrong_passphrase_opens_nothing(tmp_path: Path) -> None:
    from tpi_chart.services.sealed_backup import BackupKey, seal, unseal

    sealed = seal({"database.sqlite": b"x"}, BackupKey.derive(PASSPHRASE, n=2**10), "c")
    assert unseal(sealed, PASSPHRASE) == {"database.sqlite": b"x"}
    with pytest.raises(InvalidInput, match=r"backup\.passphrase"):
        unseal(sealed, "another passphrase")
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(InvalidInput):
        unseal(bytes(tampered), PASSPHRASE)


def test_new_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "place"
    db = folder / "clinic.db"
    with open_services(db, staff("rivera")) as services:
        services.patients.search("x")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
