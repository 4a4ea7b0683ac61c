"""Creating and upgrading the schema of a clinic database on a PostgreSQL server.

The counterpart of SQLite's `user_version` is the `schema_version` table: one row per applied
step. Several workstations may open a clinic at the same moment after an upgrade; the first
takes a transaction-level advisory lock and migrates, the others wait for it and find nothing
left to do.
"""

from __future__ import annotations

from typing import Any

import psycopg

from tpi_chart.storage.errors import (
    NotOurDatabase,
    SchemaTooNew,
    ServerUnreachable,
    translate_sqlstate,
    unreachable_message,
)
from tpi_chart.storage.postgres.migrations import MIGRATIONS, SCHEMA_VERSION, SQLITE_EQUIVALENT
from tpi_chart.storage.postgres.roles import (
    InitReport,
    describe,
    grant_app_role,
    may_change_schema,
    needs_owner,
)

#: pg_advisory_xact_lock key of schema changes ("TPIC", as SQLite's application_id).
_MIGRATION_LOCK = 0x54504943


def host_of(url: str) -> str:
    """What a message names the server by: host (or socket folder) and database, no password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the configured address"
    host = str(info.get("host") or "localhost")
    database = info.get("dbname")
    return f"{host}/{database}" if database else host


def connect(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        raise ServerUnreachable(unreachable_message(host_of(url))) from error


def current_version(conn: psycopg.Connection[Any]) -> int:
    """0 for an empty database; refuses one that holds another application's tables."""
    tables = conn.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
    ).fetchone()
    has_version = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not (has_version and has_version[0]):
        if tables and tables[0]:
            raise NotOurDatabase(
                "this PostgreSQL database holds another application's tables, not a TPI Chart "
                "clinic; give TPI Chart a database of its own. Nothing was changed."
            )
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(
    conn: psycopg.Connection[Any], target: int | None = None, *, app_role: str | None = None
) -> int:
    """Apply the missing steps up to `target`, all in one transaction with the advisory lock;
    with `app_role` (`server init`, run by the owner), give that role its rows-only rights in
    the same transaction. A role that may not change the schema is refused (roles.py)."""
    host = conn.info.host
    target = SCHEMA_VERSION if target is None else target
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            version = current_version(conn)
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"this clinic database was upgraded by a newer version of TPI Chart (schema "
                    f"{version}; this version understands up to {SCHEMA_VERSION}); install the "
                    "newer version on this workstation. Nothing was changed."
                )
            if version < target and not may_change_schema(conn, version):
                raise needs_owner(f"{host}/{conn.info.dbname}", version, target)
            if version == 0:
                conn.execute(
                    "CREATE TABLE schema_version (version integer PRIMARY KEY,"
                    " sqlite_user_version integer NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
            for step in range(version + 1, target + 1):
                conn.execute(MIGRATIONS[step - 1].encode())
                conn.execute(
                    "INSERT INTO schema_version (version, sqlite_user_version) VALUES (%s, %s)",
                    (step, SQLITE_EQUIVALENT[step]),
                )
            if app_role is not None:
                grant_app_role(conn, app_role)
            return max(version, target)
    except psycopg.Error as error:
        raise translate_sqlstate(error.sqlstate or "", str(error), host) from error


def migrate_url(url: str) -> int:
    with connect(url) as conn:
        return migrate(conn)


def init_clinic(owner_url: str, app_role: str) -> InitReport:
    """`tpi-chart server init`: create or upgrade the schema as its owner, and let `app_role`
    (the workstations' role) change rows only."""
    with connect(owner_url) as conn:
        version = migrate(conn, app_role=app_role)
        return describe(conn, app_role, version)
