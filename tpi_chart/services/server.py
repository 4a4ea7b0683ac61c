"""Opening a clinic on a PostgreSQL server (issue 18; docs/deployment.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tpi_chart.services.errors import InvalidInput, StorageError
from tpi_chart.services.paths import is_server_url
from tpi_chart.storage.interfaces import Store

if TYPE_CHECKING:
    from tpi_chart.storage.postgres.roles import InitReport
    from tpi_chart.storage.postgres.store import PostgresStore


def open_server_store(url: str, *, readonly: bool, for_restore: bool) -> Store:
    """The clinic at `url`. Not for a restore or a read-only rescue through the window's
    opening: a server clinic is restored into an empty database (`tpi-chart restore --db URL`,
    services/server_backup.py), and its checks open it with `open_for_checking`. The start-up
    re-hash of signed notes keeps its place in a file beside a file clinic's key; the server
    clinic's is not built yet."""
    from tpi_chart.storage.postgres.store import open_postgres_store  # psycopg: on demand

    if readonly or for_restore:
        raise StorageError(
            "a clinic on a database server is restored into a new, empty database "
            "(`tpi-chart restore FILE --db postgresql://…`; docs/deployment.md), not over the "
            "open one; nothing was changed"
        )
    return open_postgres_store(url)


def server_clinic_exists(url: str) -> bool:
    """Whether the server database at `url` holds a clinic already (checked before a command
    that must never create one, such as verifying a note, opens it)."""
    from tpi_chart.storage.postgres.schema import connect, current_version

    with connect(url) as conn:
        return current_version(conn) > 0


def open_for_checking(url: str) -> PostgresStore:
    """The clinic at `url`, read-only (`audit verify`: it changes nothing it checks; the server
    refuses every write of this connection too)."""
    from tpi_chart.storage.postgres.store import open_postgres_store

    return open_postgres_store(url, readonly=True)


def open_server(url: str, key: bytes | None = None) -> PostgresStore:
    """The clinic at `url` as a workstation opens it (just moved or restored there); `key`: its
    audit key when already at hand (a move from a file)."""
    from tpi_chart.storage.postgres.store import open_postgres_store

    return open_postgres_store(url, key=key)


def server_url(store: Store) -> str:
    """The connection string of a server clinic's store (for pg_dump)."""
    from tpi_chart.storage.postgres.store import PostgresStore

    if not isinstance(store, PostgresStore):
        raise StorageError("this clinic is kept in a file, not on a database server")
    return str(store.pg.pool.conninfo)


def init_server(owner_url: str, app_role: str) -> InitReport:
    """`tpi-chart server init` (the clinic's IT): create or upgrade the clinic's schema as the
    role that owns it, and give the workstations' role rows-only rights, so that a person with
    that role's password cannot drop the triggers that freeze signed notes."""
    problems = []
    if not is_server_url(owner_url):
        problems.append(
            "--owner-url: give the clinic database as postgresql://OWNER@HOST/DATABASE (the "
            "password in ~/.pgpass or PGPASSFILE, never in the address)"
        )
    if not app_role.strip():
        problems.append("--app-role: name the role the workstations connect as")
    if problems:
        raise InvalidInput(problems)
    from tpi_chart.storage.postgres.schema import init_clinic  # psycopg: on demand

    return init_clinic(owner_url, app_role.strip())
