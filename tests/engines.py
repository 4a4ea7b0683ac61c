"""Opening a store (or the services) on either engine for the tests that run on both, and the
few things a test of raw SQL needs to know about each engine."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tpi_chart.storage.errors import StorageError


def database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """Where the test's clinic lives: a file, or the URL of an emptied server database."""
    if engine == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return tmp_path / "clinic.db"


def open_store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    if engine == "postgres":
        from tpi_chart.storage.postgres.store import open_postgres_store

        return open_postgres_store(database(engine, tmp_path, request))
    from tpi_chart.storage.repositories import open_store as open_sqlite_store

    return open_sqlite_store(tmp_path / "clinic.db", tmp_path / "keys")


def refusal(store: Any) -> type[Exception]:
    """What a trigger's refusal of raw SQL raises: sqlite3's own error on SQLite; on the server
    store (whose connection translates every driver error) the StorageError of its SQLSTATE."""
    return sqlite3.IntegrityError if isinstance(store.conn, sqlite3.Connection) else StorageError


#: The triggers that make the audit table append-only, by engine.
_AUDIT_TRIGGERS = {"sqlite": ("audit_no_update", "audit_no_delete")}


@contextmanager
def _triggers_off(store: Any) -> Iterator[None]:
    if isinstance(store.conn, sqlite3.Connection):
        for name in _AUDIT_TRIGGERS["sqlite"]:
            store.conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        yield
        return
    with store.transaction():
        store.conn.execute("SET LOCAL session_replication_role = replica")
        yield


def tamper(store: Any, *statements: str | tuple[str, Sequence[Any]]) -> None:
    """Run `statements` as someone with direct access to the database would, past the
    append-only triggers (dropped on SQLite; skipped by a superuser's replica mode on
    PostgreSQL)."""
    with _triggers_off(store):
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            store.conn.execute(sql, params)
