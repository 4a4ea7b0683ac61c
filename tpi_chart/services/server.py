"""Opening a clinic on a PostgreSQL server (issue 18; docs/deployment.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tpi_chart.services.errors import InvalidInput, StorageError
from tpi_chart.services.paths import is_server_url
from tpi_chart.storage.interfaces import Store

if TYPE_CHECKING:
    from tpi_chart.storage.postgres.roles import InitReport


def open_server_store(url: str, *, readonly: bool, for_restore: bool) -> Store:
    """The clinic at `url`. Not for a restore or a read-only rescue: both are the server's
    business (pg_dump, pg_restore). The start-up re-hash of signed notes keeps its place in a
    file beside a file clinic's key; the server clinic's is not built yet."""
    from tpi_chart.storage.postgres.store import open_postgres_store  # psycopg: on demand

    if readonly or for_restore:
        raise StorageError(
            "restoring or rescuing a clinic on a database server is done on the server "
            "(docs/deployment.md); nothing was changed"
        )
    return open_postgres_store(url)


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
