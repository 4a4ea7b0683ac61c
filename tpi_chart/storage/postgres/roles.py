"""The owner role and the app role of a clinic database on a server (docs/deployment.md).

A signed note is frozen by triggers (`tpi_frozen()`, migrations/v0001_initial.py). A trigger can
be dropped or disabled by whoever owns its table; so the tables, triggers and functions belong
to an owner role that only the clinic's IT uses (`tpi-chart server init`), and the workstations
connect as an app role holding rows-only rights: SELECT, INSERT, UPDATE and DELETE (each still
passed through the triggers), never ALTER, DROP, TRUNCATE or CREATE. A person with the app
role's password and a SQL client cannot unfreeze a signed note.

A database whose one role owns everything (the set-up before this, or a test) still works: that
role creates and upgrades the schema at a workstation's start. A role that does not own the
schema is refused that, in words naming the command to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from tpi_chart.storage.errors import StorageError

#: What the app role may do to rows; each change still passes the frozen-row triggers.
APP_TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
#: Tables the app reads but never writes: the schema's own bookkeeping.
READ_ONLY_TABLES = ("schema_version",)


class SchemaNeedsOwner(StorageError):
    """The schema must be created or upgraded, and this role may not: its owner must."""


class BadAppRole(StorageError):
    """The app role named for `server init` cannot be given rows-only rights."""


@dataclass(frozen=True)
class InitReport:
    database: str
    owner: str
    app_role: str
    schema_version: int


def may_change_schema(conn: psycopg.Connection[Any], version: int) -> bool:
    """Whether the connected role may create (version 0) or upgrade the clinic's schema: it can
    create in the schema, or it is (a member of) the role that owns the existing tables."""
    if version == 0:
        row = conn.execute("SELECT has_schema_privilege(current_schema(), 'CREATE')").fetchone()
    else:
        row = conn.execute(
            "SELECT pg_has_role(current_user, tableowner, 'MEMBER') FROM pg_tables"
            " WHERE schemaname = current_schema() AND tablename = 'schema_version'"
        ).fetchone()
    return bool(row and row[0])


def needs_owner(host: str, version: int, target: int) -> SchemaNeedsOwner:
    where = (
        "is empty"
        if version == 0
        else f"has schema {version} and this version of TPI Chart needs {target}"
    )
    return SchemaNeedsOwner(
        f"the clinic database at {host} {where}, and only the role that owns its tables may "
        "change them, not the one this workstation signs in to the server with. Ask your IT "
        "contact to run `tpi-chart server init --owner-url postgresql://OWNER@HOST/DATABASE "
        "--app-role ROLE` with this version (docs/deployment.md). Nothing was changed."
    )


def grant_app_role(conn: psycopg.Connection[Any], app_role: str) -> None:
    """Rows-only rights for `app_role` on every table now and every one a later upgrade by this
    owner creates; run by the owner, in the caller's transaction."""
    row = conn.execute(
        "SELECT rolsuper, rolname = current_user, pg_has_role(rolname, current_user, 'MEMBER')"
        " FROM pg_roles WHERE rolname = %s",
        (app_role,),
    ).fetchone()
    if row is None:
        raise BadAppRole(
            f"--app-role: there is no role {app_role!r} on the server; create it first "
            "(CREATE ROLE … LOGIN PASSWORD …, docs/deployment.md). Nothing was changed."
        )
    superuser, is_owner, member_of_owner = row
    if superuser or is_owner or member_of_owner:
        raise BadAppRole(
            f"--app-role: {app_role!r} is a superuser or the owner of the tables (or a member "
            "of the owner), so it could drop the triggers that freeze signed notes; give the "
            "workstations a role of their own. Nothing was changed."
        )
    app = sql.Identifier(app_role)
    schema = sql.Identifier(str(_one(conn, "SELECT current_schema()")))
    database = sql.Identifier(str(_one(conn, "SELECT current_database()")))
    rights = sql.SQL(APP_TABLE_RIGHTS)
    for statement in (
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(schema),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, app),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, app),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(rights, schema, app),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, app),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT {} ON TABLES TO {}").format(
            schema, rights, app
        ),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(schema, app),
    ):
        conn.execute(statement)
    for table in READ_ONLY_TABLES:
        conn.execute(
            sql.SQL("REVOKE INSERT, UPDATE, DELETE ON {} FROM {}").format(
                sql.Identifier(table), app
            )
        )


def _one(conn: psycopg.Connection[Any], query: str) -> object:
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def describe(conn: psycopg.Connection[Any], app_role: str, version: int) -> InitReport:
    return InitReport(
        database=str(_one(conn, "SELECT current_database()")),
        owner=str(_one(conn, "SELECT current_user")),
        app_role=app_role,
        schema_version=version,
    )
