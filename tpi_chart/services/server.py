"""Opening a clinic on a PostgreSQL server (issue 18; docs/deployment.md)."""

from __future__ import annotations

from tpi_chart.services.errors import StorageError
from tpi_chart.storage.interfaces import Store


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


def server_clinic_exists(url: str) -> bool:
    """Whether the server database at `url` holds a clinic already (checked before a command
    that must never create one, such as verifying a note, opens it)."""
    from tpi_chart.storage.postgres.schema import connect, current_version

    with connect(url) as conn:
        return current_version(conn) > 0
