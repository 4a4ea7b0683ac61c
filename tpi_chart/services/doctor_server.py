"""`tpi-chart doctor` for a clinic on a PostgreSQL server: what a clinic's IT can act on —
reachable, version, schema, whether the connection is protected, whether an acknowledged save
survives a power cut, and which role the workstations use. Reads no patient data, so it needs
no sign-in, as the file checks do not."""

from __future__ import annotations

from tpi_chart.services.doctor import Check
from tpi_chart.services.errors import StorageError

#: The oldest server the tests and docs/deployment.md cover.
MIN_SERVER_VERSION = 150000
DEPLOYMENT = "docs/deployment.md"


def check_server(url: str) -> list[Check]:
    from tpi_chart.storage.postgres.health import probe  # psycopg: only for a server clinic
    from tpi_chart.storage.postgres.migrations import SCHEMA_VERSION

    try:
        health = probe(url)
    except StorageError as error:
        return [Check("Database server", "attention", str(error))]
    checks: list[Check] = []
    server = f"{health.host}: PostgreSQL {health.version}"
    if health.version_num < MIN_SERVER_VERSION:
        checks.append(
            Check("Database server", "attention", f"{server}; TPI Chart needs 15 or newer")
        )
    elif health.schema_version == 0:
        checks.append(
            Check("Database server", "info", f"{server}; empty (the first start creates it)")
        )
    elif health.schema_version > SCHEMA_VERSION:
        checks.append(
            Check(
                "Database server",
                "attention",
                f"{server}; clinic schema version {health.schema_version} was written by a "
                f"newer TPI Chart (this one knows {SCHEMA_VERSION}): update this workstation",
            )
        )
    else:
        upgrade = "" if health.schema_version == SCHEMA_VERSION else " (upgraded at next start)"
        checks.append(
            Check(
                "Database server",
                "ok",
                f"{server}; clinic schema version {health.schema_version}{upgrade}",
            )
        )
    checks.append(_connection_check(health.tls, health.tls_protocol, health.verifies_server))
    checks.extend(_durability_checks(health.fsync, health.synchronous_commit))
    checks.append(
        Check(
            "Data checksums",
            "ok" if health.data_checksums else "info",
            "on: damaged pages are reported instead of read"
            if health.data_checksums
            else "off: a damaged disk page would be read without warning "
            f"(pg_checksums --enable on the stopped server; {DEPLOYMENT})",
        )
    )
    if health.superuser:
        checks.append(
            Check(
                "Database role",
                "attention",
                f"the workstations connect as {health.role}, a superuser: anyone with its "
                f"password can change anything on the server; give the clinic a role of its "
                f"own ({DEPLOYMENT})",
            )
        )
    else:
        checks.append(Check("Database role", "ok", f"{health.role} (not a superuser)"))
    return checks


def _connection_check(tls: bool | None, protocol: str | None, verifies_server: bool) -> Check:
    if tls is None:
        return Check(
            "Connection", "ok", "a local socket on this computer: nothing crosses the network"
        )
    if not tls:
        return Check(
            "Connection",
            "attention",
            "not encrypted: patient records cross the network in clear. Connect with "
            f"sslmode=verify-full and the clinic's CA as sslrootcert ({DEPLOYMENT})",
        )
    if not verifies_server:
        return Check(
            "Connection",
            "attention",
            f"encrypted ({protocol}), but the server's certificate is not checked, so another "
            "machine could pose as the server: use sslmode=verify-full with sslrootcert",
        )
    return Check("Connection", "ok", f"encrypted ({protocol}); the server's certificate checked")


def _durability_checks(fsync: bool, synchronous_commit: str) -> list[Check]:
    off = [
        name
        for name, is_off in (
            ("fsync", not fsync),
            ("synchronous_commit", synchronous_commit == "off"),
        )
        if is_off
    ]
    if not off:
        return [Check("Server durability", "ok", "fsync and synchronous_commit on")]
    return [
        Check(
            "Server durability",
            "attention",
            f"{' and '.join(off)} off on the server: a save the window reported may be lost "
            f"at a power cut or crash; set them on (postgresql.conf, {DEPLOYMENT})",
        )
    ]
