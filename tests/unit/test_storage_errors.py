"""Storage errors are classified by SQLite's result code, never by the words of the message."""

from __future__ import annotations

import sqlite3

import pytest

from tpi_chart.storage.errors import (
    CorruptDatabase,
    DatabaseLocked,
    DiskFull,
    DuplicateRecord,
    ReadOnlyDatabase,
    SignedRecord,
    StorageError,
    translate,
)


def _error(sql: str, setup: str = "") -> sqlite3.Error:
    conn = sqlite3.connect(":memory:")
    conn.executescript(setup)
    try:
        conn.executescript(sql)
    except sqlite3.Error as error:
        return error
    finally:
        conn.close()
    raise AssertionError("no error")


def test_a_not_null_failure_on_a_signed_column_is_not_called_signed() -> None:
    error = _error(
        "INSERT INTO t (id) VALUES (1);", "CREATE TABLE t (id INTEGER, signed_at TEXT NOT NULL);"
    )
    translated = translate(error)
    assert not isinstance(translated, SignedRecord)
    assert type(translated) is StorageError


def test_our_signed_trigger_is_a_signed_record() -> None:
    error = _error(
        "INSERT INTO t VALUES (1);",
        "CREATE TABLE t (id INTEGER); CREATE TRIGGER g BEFORE INSERT ON t BEGIN "
        "SELECT RAISE(ABORT, 'procedure is signed and cannot be changed'); END;",
    )
    assert isinstance(translate(error), SignedRecord)


def test_unique_is_a_duplicate() -> None:
    error = _error(
        "INSERT INTO t VALUES (1); INSERT INTO t VALUES (1);", "CREATE TABLE t (id UNIQUE);"
    )
    assert isinstance(translate(error), DuplicateRecord)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SQLITE_FULL", DiskFull),
        ("SQLITE_READONLY_DBMOVED", ReadOnlyDatabase),
        ("SQLITE_BUSY_SNAPSHOT", DatabaseLocked),
        ("SQLITE_CORRUPT_INDEX", CorruptDatabase),
        ("SQLITE_NOTADB", CorruptDatabase),
    ],
)
def test_result_codes_map_to_what_a_person_can_act_on(
    name: str, expected: type[StorageError]
) -> None:
    error = sqlite3.OperationalError("some words that say signed, locked or full")
    error.sqlite_errorname = name
    assert isinstance(translate(error, "/data/clinic.db"), expected)
