"""A database the window cannot open (reliability.md §5.5, R4, R7): `launch` shows one plain
message (what happened, what to do; no traceback), exits with 1 and leaves the file byte for byte
as it was. The message box is captured, never shown."""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.services.context import open_services
from tpi_chart.storage.sqlite.migrations import SCHEMA_VERSION
from tpi_chart.ui import launch

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    path = tmp_path / "clinic.db"
    with open_services(path, staff("rivera"), seed_demo_if_new=True):
        pass
    return path


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    messages: list[tuple[str, str]] = []
    behind: list[str] = []

    def fail(title: str, message: str) -> int:
        messages.append((title, message))
        # The message is all there is on screen: not over a sign-in that can no longer work.
        behind.extend(type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible())
        return 1

    monkeypatch.setattr(launch, "_fail", fail)
    yield messages
    assert not launch._windows  # no window was opened
    assert behind == []


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(db: Path) -> int:
    return launch.launch(argparse.Namespace(db=str(db), as_user=None, command=None))


def garbage_in_a_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[3 * page + 8 : 3 * page + 400] = bytes((i * 37 + 11) % 256 for i in range(392))
    path.write_bytes(bytes(data))


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def zeroed_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = bytes(100)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (garbage_in_a_page, "is damaged and was not opened"),
        (truncated, "is damaged and was not opened"),
        (zeroed_header, "is not a TPI Chart database"),
    ],
)
def test_a_damaged_file_is_reported_and_left_as_it_is(
    qtbot: QtBot,
    db: Path,
    shown: list[tuple[str, str]],
    damage: Callable[[Path], None],
    expected: str,
) -> None:
    damage(db)
    before = digest(db)

    assert run(db) == 1

    ((title, message),) = shown
    assert title == "The database cannot be opened"
    assert expected in message
    assert str(db) in message
    assert "Traceback" not in message
    if expected.startswith("is damaged"):
        assert "Restore the latest backup with `tpi-chart restore FILE`" in message
    else:
        assert "choose another file" in message
    assert digest(db) == before


def test_a_file_from_a_newer_version_is_reported_and_left_as_it_is(
    qtbot: QtBot, db: Path, shown: list[tuple[str, str]]
) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = digest(db)

    assert run(db) == 1

    ((title, message),) = shown
    assert title == "The database cannot be opened"
    assert "written by a newer version of TPI Chart" in message
    assert "install the newer version" in message
    assert "Traceback" not in message
    assert digest(db) == before


def test_a_database_open_elsewhere_is_reported(
    qtbot: QtBot, db: Path, shown: list[tuple[str, str]]
) -> None:
    with open_services(db, staff("rivera"), exclusive=True):
        assert run(db) == 1
    ((title, message),) = shown
    assert title == "The database cannot be opened"
    assert "already open in another TPI Chart window" in message
    assert str(db) in message


def test_a_missing_audit_key_is_reported_and_no_new_key_is_made(
    qtbot: QtBot, db: Path, tmp_path: Path, shown: list[tuple[str, str]]
) -> None:
    (key,) = (tmp_path / "keys").glob("*.key")
    key.unlink()
    before = digest(db)

    assert run(db) == 1

    ((title, message),) = shown
    assert title == "The database cannot be opened"
    assert "could not be verified or extended" in message
    assert "Restore the key file from your backup" in message
    assert not key.exists()
    assert digest(db) == before
