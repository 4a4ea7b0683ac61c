"""One TPI Chart window per database (reliability.md §0.2, R9): a second window on the same file,
from another process or from this one, is refused with a plain message; nothing is changed. The
command line keeps working while a window has the database open."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_support import Keyboard, add_accounts
from tests.unit.auth_support import reference_document
from tests.users import staff
from tpi_chart.cli import main as cli
from tpi_chart.services.context import open_services
from tpi_chart.storage.errors import AlreadyOpen
from tpi_chart.storage.sqlite.instance_lock import InstanceLock, lock_path

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
from pathlib import Path
from tpi_chart.services.context import open_services

services = open_services(Path(sys.argv[1]), exclusive=True)
print("open", flush=True)
sys.stdin.readline()
services.close()
print("closed", flush=True)
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    path = tmp_path / "clinic.db"
    with open_services(path, staff("rivera")) as services:
        services.patients.create(reference_document().patient)
    return path


@pytest.fixture
def holder(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process with the database open (as another window would have it)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ},
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "open"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_a_second_process_is_refused_with_a_plain_message(
    db: Path, holder: subprocess.Popen[str]
) -> None:
    before = digest(db)
    with pytest.raises(AlreadyOpen) as refused:
        open_services(db, staff("rivera"), exclusive=True)
    message = str(refused.value)
    assert "already open in another TPI Chart window" in message
    assert str(db) in message
    assert "Traceback" not in message
    assert digest(db) == before


def test_the_command_line_works_while_a_window_has_the_database_open(
    db: Path,
    holder: subprocess.Popen[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    keyboard: Keyboard,
) -> None:
    add_accounts(db)
    assert cli.main(["--db", str(db), "--as", "rivera", "audit", "verify"]) == 0
    backup = ["--db", str(db), "--as", "admin", "backup", "--out", str(tmp_path / "copy.db")]
    assert cli.main(backup) == 0
    assert (tmp_path / "copy.db").stat().st_size > 0
    assert "Traceback" not in capsys.readouterr().err


def test_the_lock_is_released_when_the_holder_closes(
    db: Path, holder: subprocess.Popen[str]
) -> None:
    assert holder.stdin is not None
    assert holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "closed"
    with open_services(db, staff("rivera"), exclusive=True) as services:
        assert services.patients.search("", 10)


def test_a_killed_holder_leaves_no_stale_lock(db: Path, holder: subprocess.Popen[str]) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert lock_path(db).exists()  # the file stays; the OS dropped the lock with the process
    with open_services(db, staff("rivera"), exclusive=True) as services:
        assert services.store.audit.verify().ok


def test_the_same_process_cannot_open_it_twice(db: Path) -> None:
    with open_services(db, staff("rivera"), exclusive=True) as first:
        with pytest.raises(AlreadyOpen, match="already open in another TPI Chart window"):
            open_services(db, staff("chen"), exclusive=True)
        # The refused open changed nothing for the first one.
        first.patients.create(reference_document().patient.model_copy(update={"mrn": "D2002"}))
    with open_services(db, staff("chen"), exclusive=True) as again:  # released on close
        assert len(again.patients.search("", 10)) == 2


def test_another_database_in_the_same_folder_is_not_affected(db: Path) -> None:
    with (
        open_services(db, staff("rivera"), exclusive=True),
        open_services(db.with_name("other.db"), staff("rivera"), exclusive=True) as other,
    ):
        assert other.store.is_empty()


def test_release_is_idempotent_and_relocking_works(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    lock = InstanceLock.acquire(path)
    assert lock.held
    with pytest.raises(AlreadyOpen):
        InstanceLock.acquire(path)
    lock.release()
    lock.release()
    assert not lock.held
    InstanceLock.acquire(path).release()
