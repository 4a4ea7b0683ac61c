"""What `tpi-chart doctor` reads of a clinic's database server: no patient data, only the
server's version and settings, the connection's protection and the schema version."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg

from tpi_chart.storage.postgres.schema import connect, current_version, host_of


@dataclass(frozen=True)
class ServerHealth:
    host: str
    #: server_version_num, e.g. 150008 for 15.8
    version_num: int
    version: str
    schema_version: int
    #: None over a Unix socket (a local connection, nothing on the network to protect)
    tls: bool | None
    tls_protocol: str | None
    #: sslmode verify-full: the server's certificate and name are checked (no impostor server)
    verifies_server: bool
    data_checksums: bool
    fsync: bool
    synchronous_commit: str
    role: str
    superuser: bool


def probe(url: str) -> ServerHealth:
    """Connect once (ServerUnreachable when it cannot) and read what doctor reports."""
    with connect(url) as conn:
        info = conn.info

        def setting(name: str) -> str:
            row = conn.execute("SELECT current_setting(%s)", (name,)).fetchone()
            return str(row[0]) if row else ""

        role_row = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        socket = str(info.host or "").startswith("/")
        ssl_row = conn.execute(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
        ssl_in_use = bool(ssl_row and ssl_row[0])
        protocol = str(ssl_row[1]) if ssl_row and ssl_row[0] else None
        sslmode = psycopg.conninfo.conninfo_to_dict(url).get("sslmode") or os.environ.get(
            "PGSSLMODE", ""
        )
        return ServerHealth(
            host=host_of(url),
            version_num=int(info.server_version),
            version=setting("server_version"),
            schema_version=current_version(conn),
            tls=None if socket and not ssl_in_use else ssl_in_use,
            tls_protocol=protocol,
            verifies_server=sslmode == "verify-full",
            data_checksums=setting("data_checksums") == "on",
            fsync=setting("fsync") == "on",
            synchronous_commit=setting("synchronous_commit"),
            role=str(role_row[0]) if role_row else "",
            superuser=bool(role_row[1]) if role_row else False,
        )
