"""Opening a store (or the services) on either engine for the tests that run on both, and the
few things a test of raw SQL needs to know about each engine.

On both engines (the `engine` fixture, or a module-scoped one): test_storage, test_services,
test_operations, test_permissions_matrix, test_cli_chart, test_settings_service,
test_rules_v2_services, test_history_service, test_problems_outcomes, test_notes_service,
test_signing_service, test_pain_drawing, test_pades_signing, test_cli_users, test_sessions,
test_auth, test_cli_auth, test_interop, test_signing_time, test_password_steps,
test_lifecycle_stateful (fewer runs on the server: LIFECYCLE_PG_EXAMPLES), test_audited_writes
(its one-row-per-change check; its source checks read code, on no engine); the server's own:
test_postgres, test_postgres_concurrency, test_server_crash (the kill test), test_server_roles
(owner and app roles), test_server_search (the trigram index's plan), test_server_keys (no key
material on the workstation).

On SQLite only, because what they test is a file's:
- test_backup_restore, test_automatic_backups, test_cli_data: backups and restores of the
  database file (a server's are pg_dump's), the demo file, the file's bytes;
- test_instance_lock: one window per database file (a server takes several);
- test_audit_anchor: the anchor file beside a file clinic's key;
- test_storage_crash, test_power_loss: SQLite's journal under SIGKILL and lost fsyncs (the
  server's kill test is test_server_crash);
- test_migrations, test_signed_snapshot_migration: SQLite's user_version steps (the server's
  schema steps: test_postgres);
- test_storage_errors: SQLite's result codes (SQLSTATEs: test_fault_matrix, test_postgres);
- test_audit_cli, test_doctor, test_integrity: `audit verify`, `doctor` and the start-up re-hash
  read a file clinic (their server forms are not built);
- test_fast_paths, test_lookups: SQLite's query plans and statement counts;
- test_phi_leakage, test_audit_key_slots: the bytes of the files on the workstation's disk
  (the server's key slots: test_pades_signing, test_cli_users on postgres).
Within modules on both, a few assertions are a file's and say so: test_auth's password search
(the file and its WAL; every table's rows on a server), test_cli_auth's `restore` (a server's
goes only into an empty database, asking no account), test_password_steps' other-thread guard
(SQLite's connection's), test_lifecycle_stateful's PRAGMA checks."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tpi_chart.domain.users import User
from tpi_chart.services.access import NOBODY, SYSTEM_SETUP
from tpi_chart.services.context import Services, build_services, open_services
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
    from tpi_chart.storage.sqlite.store import open_store as open_sqlite_store

    return open_sqlite_store(tmp_path / "clinic.db", tmp_path / "keys")


def open_clinic(
    engine: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    user: User | None = None,
    *,
    demo: bool = False,
) -> Services:
    """The services on a new clinic of `engine`; with `demo`, holding the demo clinic (a file
    clinic is seeded by `open_services`; a server clinic never is, so it is seeded here)."""
    opened = open_services(database(engine, tmp_path, request), user, seed_demo_if_new=demo)
    if demo and engine == "postgres":
        from tpi_chart.services.demo import seed_demo

        seed_demo(opened.as_user(SYSTEM_SETUP))
    return opened


def reopen(services: Services, user: User | None = None) -> Services:
    """The same clinic opened again, as a second window or command would. On a server clinic
    whose audit key is not sealed yet (no administrator has signed in) the key is handed over
    from the open one: a real workstation would have to wait for that first sign-in."""
    if services.db_path is not None:
        return open_services(services.db_path, user)
    from tpi_chart.storage.postgres.store import PostgresStore, open_postgres_store

    store = services.store
    assert isinstance(store, PostgresStore)
    url = store.pg.pool.conninfo
    return build_services(open_postgres_store(url, key=store.key), user or NOBODY)


def refusal(store: Any) -> type[Exception]:
    """What a trigger's refusal of raw SQL raises: sqlite3's own error on SQLite; on the server
    store (whose connection translates every driver error) the StorageError of its SQLSTATE."""
    return sqlite3.IntegrityError if isinstance(store.conn, sqlite3.Connection) else StorageError


#: The triggers that make the audit table append-only, by engine.
_AUDIT_TRIGGERS = {"sqlite": ("audit_no_update", "audit_no_delete")}


@contextmanager
def _triggers_off(store: Any, sqlite_triggers: Sequence[str]) -> Iterator[None]:
    if isinstance(store.conn, sqlite3.Connection):
        for name in sqlite_triggers:
            store.conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        yield
        return
    with store.transaction():
        store.conn.execute("SET LOCAL session_replication_role = replica")
        yield


def tamper(
    store: Any,
    *statements: str | tuple[str, Sequence[Any]],
    sqlite_triggers: Sequence[str] = _AUDIT_TRIGGERS["sqlite"],
) -> None:
    """Run `statements` as someone with direct access to the database would, past the
    triggers (`sqlite_triggers` dropped on SQLite, the audit table's by default; every trigger
    skipped by a superuser's replica mode on PostgreSQL)."""
    with _triggers_off(store, sqlite_triggers):
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            store.conn.execute(sql, params)


def clinic_database(engine: str, folder: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where a module builds its prepared clinic: a file in `folder`, or the server's emptied
    test database (kept afterwards with `keep_clinic`)."""
    if engine == "postgres":
        return str(request.getfixturevalue("pg_server").fresh_database())
    return folder / "clinic.db"


def keep_clinic(engine: str, request: pytest.FixtureRequest, name: str) -> str | None:
    """Save the server's prepared clinic as `name` (None for a file: the folder is copied)."""
    if engine == "postgres":
        return str(request.getfixturevalue("pg_server").save_template(name))
    return None


def copy_clinic(template: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_server").clone(template))


@contextmanager
def _reader(db: Path | str) -> Iterator[Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]]:
    """One connection straight to the database, past the app, for several queries."""
    if isinstance(db, Path):
        conn = sqlite3.connect(db)
        try:
            yield lambda sql, params: [tuple(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(db) as server:
        yield lambda sql, params: [
            tuple(row) for row in server.execute(sql.replace("?", "%s"), params)
        ]


def query(db: Path | str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of `sql` (with `?` placeholders) read straight from the database."""
    with _reader(db) as read:
        return read(sql, params)


def table_rows(db: Path | str, skip: Sequence[str] = ()) -> list[tuple[object, ...]]:
    """Every row of every table but those in `skip`, by table."""
    tables_sql = (
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"
        if isinstance(db, Path)
        else "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    rows: list[tuple[object, ...]] = []
    with _reader(db) as read:
        for (table,) in read(tables_sql, ()):
            if table not in skip:
                rows += [(table, *row) for row in read(f"SELECT * FROM {table} ORDER BY 1", ())]
    return rows
