"""Ordered PostgreSQL schema migrations, versioned like the SQLite ones
(`tpi_chart.storage.sqlite.migrations`): MIGRATIONS[i] takes the schema from version i to i + 1, in
one transaction with its row in `schema_version`. Never edit a shipped step: add one.

Mapping to the SQLite schema (what `tpi-chart migrate` will rely on): PostgreSQL version 1 holds
what SQLite `user_version` 15 holds, column for column (plus `audit_head`).
"""

from __future__ import annotations

from tpi_chart.storage.postgres.migrations import (
    v0001_initial,
    v0002_sessions,
    v0003_patient_search,
)

MIGRATIONS: tuple[str, ...] = (
    v0001_initial.SQL,
    v0002_sessions.SQL,
    v0003_patient_search.SQL,
)
SCHEMA_VERSION = len(MIGRATIONS)

#: PostgreSQL schema version → the SQLite user_version with the same tables and columns.
SQLITE_EQUIVALENT: dict[int, int] = {1: 15, 2: 17, 3: 17}
