"""Ordered PostgreSQL schema migrations, versioned like the SQLite ones
(`tpi_chart.storage.sqlite.migrations`): MIGRATIONS[i] takes the schema from version i to i + 1, in
one transaction with its row in `schema_version`. Never edit a shipped step: add one.

Mapping to the SQLite schema (what `tpi-chart migrate` will rely on): PostgreSQL version 1 holds
what SQLite `user_version` 15 holds, column for column (plus `audit_head`); version 2 adds
what only a server has, the leases of several rooms (v0002_leases); version 3 the sessions of
SQLite's v0019 (user_version 17); version 4 the trigram indexes of patient search.
"""

from __future__ import annotations

from tpi_chart.storage.postgres.migrations import (
    v0001_initial,
    v0002_leases,
    v0003_sessions,
    v0004_patient_search,
)

MIGRATIONS: tuple[str, ...] = (
    v0001_initial.SQL,
    v0002_leases.SQL,
    v0003_sessions.SQL,
    v0004_patient_search.SQL,
)
SCHEMA_VERSION = len(MIGRATIONS)

#: PostgreSQL schema version → the SQLite user_version with the same tables and columns.
SQLITE_EQUIVALENT: dict[int, int] = {1: 15, 2: 15, 3: 17, 4: 17}  # 2: leases, the server's alone
