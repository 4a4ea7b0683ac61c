"""Fault matrix (reliability.md §5.5, R7) through `open_services` and the command line: a full
disk, a read-only database, another program holding the write lock. Each refusal says what
happened and what to do, without a traceback, and nothing stored before is lost.

The full disk is a real 2 MiB tmpfs and the read-only database a real read-only remount of it:
these tests need root and `mount` (the development and CI containers run as root). chmod cannot
make a file read-only for root, hence the mount. One more test feeds the engine's own
SQLITE_FULL (`PRAGMA max_page_count`) and SQLITE_READONLY (`mode=ro`) errors to the translation,
which needs neither."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.cli_support import Keyboard, add_accounts, unlocked
from tests.unit.auth_support import reference_document
from tests.users import staff
from tpi_chart.cli import auth as cli_auth
from tpi_chart.cli import main as cli
from tpi_chart.domain.models import Patient
from tpi_chart.services.context import Services, open_services
from tpi_chart.storage.errors import DatabaseLocked, DiskFull, ReadOnlyDatabase, translate
from tpi_chart.storage.sqlite.connection import integrity_problems

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))


def patient(n: int, padding: int = 0) -> Patient:
    return reference_document().patient.model_copy(
        update={"mrn": f"F{n:05d}", "family_name": "Ferreira" + "x" * padding}
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checked(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return integrity_problems(conn)
    finally:
        conn.close()


def _mount(*args: str) -> bool:
    try:
        result = subprocess.run(["mount", *args], capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


class Disk:
    """A real 2 MiB tmpfs for one database."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.folder = folder
        if not _mount("-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(folder)):
            pytest.fail("the fault-matrix tests need root and `mount -t tmpfs`")

    def read_only(self, on: bool) -> None:
        assert _mount("-o", "remount,ro" if on else "remount,rw", str(self.folder))

    def fill_rest(self) -> None:
        """Fill what space is left with a file, so that no write fits."""
        fd = os.open(self.folder / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (65536, 4096, 512, 1):
                with contextlib.suppress(OSError):
                    while os.write(fd, b"\0" * size):
                        pass
        finally:
            os.close(fd)

    def free(self) -> None:
        """Make room: drop the filler and grow the disk to 16 MiB."""
        (self.folder / "filler").unlink(missing_ok=True)
        assert _mount("-o", "remount,size=16m", str(self.folder))

    def close(self) -> None:
        _mount("-o", "remount,rw", str(self.folder))
        subprocess.run(["umount", "-l", str(self.folder)], check=False, timeout=30)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    small = Disk(tmp_path / "disk")
    try:
        yield small
    finally:
        small.close()


def fill_with_patients(services: Services, disk: Disk) -> int:
    """Save patients until the disk is full; the number stored."""
    for stored in range(10_000):
        try:
            services.patients.create(patient(stored, padding=480))
        except DiskFull as full:
            assert_full_message(str(full), services.db_path)
            return stored
    pytest.fail("the 2 MiB disk never filled up")


def assert_full_message(message: str, db: Path) -> None:
    assert "the disk is full" in message
    assert str(db) in message
    assert "free some space and try again" in message
    assert "nothing was saved" in message
    assert "Traceback" not in message


def test_disk_full_rolls_back_keeps_what_was_saved_and_a_retry_succeeds(disk: Disk) -> None:
    db = disk.folder / "clinic.db"
    with open_services(db, staff("rivera")) as services:
        stored = fill_with_patients(services, disk)
        assert stored > 0
        refused = patient(stored, padding=480)
        assert services.patients.by_mrn(refused.mrn) is None  # rolled back, no half row
        assert [r.action for r in services.store.audit.rows()].count("create") == stored

        disk.free()
        services.patients.create(refused)  # the draft the caller kept is saved now
        assert services.patients.by_mrn(refused.mrn) is not None
        assert services.store.audit.verify().ok
    assert checked(db) == []


def test_disk_full_on_the_command_line_is_a_plain_error(
    disk: Disk, examples_dir: Path, capsys: pytest.CaptureFixture[str], keyboard: Keyboard
) -> None:
    db = disk.folder / "clinic.db"
    add_accounts(db)
    with unlocked(open_services(db, staff("rivera"))) as services:
        stored = fill_with_patients(services, disk)
    disk.fill_rest()
    document = sorted(examples_dir.glob("*.json"))[0]

    code = cli.main(["--db", str(db), "--as", "rivera", "import", str(document)])

    err = capsys.readouterr().err
    assert code == 1
    assert_full_message(err, db)
    disk.free()
    with open_services(db, staff("rivera")) as services:
        assert len(services.patients.search("", 20_000)) == stored
        assert services.store.audit.verify().ok
    assert checked(db) == []


def test_a_read_only_database_is_refused_at_start_with_a_plain_message(
    disk: Disk, capsys: pytest.CaptureFixture[str]
) -> None:
    db = disk.folder / "clinic.db"
    with open_services(db, staff("rivera")) as services:
        services.patients.create(patient(1))
    disk.read_only(True)
    before = digest(db)

    with pytest.raises(ReadOnlyDatabase) as refused:
        open_services(db, staff("rivera"))
    message = str(refused.value)
    assert "attempt to write a readonly database" in message
    assert str(db) in message
    assert "Check the permissions of the file and its folder" in message

    # Read commands still work on a read-only database (a rescue), and say it is read-only.
    assert cli.main(["--db", str(db), "audit", "verify"]) == 0
    err = capsys.readouterr().err
    assert "is read-only" in err
    assert "Traceback" not in err
    assert digest(db) == before

    disk.read_only(False)
    with open_services(db, staff("rivera")) as services:
        assert services.patients.by_mrn("F00001") is not None


def test_the_engines_read_only_and_full_errors_translate_to_plain_messages(
    tmp_path: Path,
) -> None:
    # The errors as SQLite raises them (not made-up strings): a write on a mode=ro connection,
    # and an insert beyond PRAGMA max_page_count.
    db = tmp_path / "plain.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.close()
    ro = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as readonly:
        ro.execute("INSERT INTO t VALUES ('a')")
    ro.close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as full:
        conn.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
    conn.close()

    assert isinstance(translate(readonly.value, db), ReadOnlyDatabase)
    assert isinstance(translate(full.value, db), DiskFull)
    assert_full_message(str(translate(full.value, db)), db)


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO meta (key, value) VALUES ('holder', 'x')")
print("holding", flush=True)
sys.stdin.readline()
conn.execute(sys.argv[2])
print("done", flush=True)
"""


@contextlib.contextmanager
def write_lock_held(db: Path, finish: str = "ROLLBACK") -> Iterator[subprocess.Popen[str]]:
    """Another program (not TPI Chart: the single-instance lock keeps those out) inside
    BEGIN IMMEDIATE on the database until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), finish],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "holding"
        yield process
        process.stdin.write("\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "done"
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_a_write_lock_held_past_the_busy_timeout_is_a_clear_error_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    db = tmp_path / "clinic.db"
    with open_services(db, staff("rivera")) as services:
        services.patients.create(patient(1))
    with write_lock_held(db), open_services(db, staff("rivera"), busy_timeout_ms=300) as services:
        # Opening needs no write lock; the first save waits 300 ms, then says why it failed.
        started = time.monotonic()
        with pytest.raises(DatabaseLocked) as busy:
            services.patients.create(patient(2))
        waited = time.monotonic() - started
        message = str(busy.value)
        assert "another program is writing to it" in message
        assert str(db) in message
        assert "nothing was saved" in message
        assert "try again" in message
        assert 0.25 <= waited < 3.0
        assert services.patients.by_mrn("F00001") is not None

    with open_services(db, staff("rivera")) as services:
        services.patients.create(patient(2))  # the retry after the other program finished
        assert [p.patient.mrn for p in services.patients.search("", 10)] == ["F00001", "F00002"]
        assert services.store.audit.verify().ok
    assert checked(db) == []


def test_the_command_line_reports_a_held_write_lock(
    tmp_path: Path,
    examples_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    keyboard: Keyboard,
) -> None:
    db = tmp_path / "clinic.db"
    add_accounts(db)
    # The command line uses the default 5 s; a shorter wait keeps the test quick.
    monkeypatch.setattr(cli_auth, "open_services", partial(open_services, busy_timeout_ms=200))
    document = sorted(examples_dir.glob("*.json"))[0]
    with write_lock_held(db):
        code = cli.main(["--db", str(db), "--as", "rivera", "import", str(document)])
    err = capsys.readouterr().err
    assert code == 1
    assert "another program is writing to it" in err
    assert "nothing was saved" in err
    assert "Traceback" not in err
    with open_services(db, staff("rivera")) as services:
        assert services.patients.search("", 10) == []
        assert services.store.audit.verify().ok
