"""Ordered schema migrations: MIGRATIONS[i] takes the schema from version i to version i + 1.

Each step is SQL text, run statement by statement inside one transaction together with the
`PRAGMA user_version` bump (see `tpi_chart.storage.sqlite.connection.migrate`). Never edit a
shipped step: add one.
"""

from __future__ import annotations

from tpi_chart.storage.sqlite.migrations import (
    v0001_initial,
    v0002_lot_recall,
    v0003_users,
    v0004_reported_history,
    v0005_signed_snapshot,
    v0006_signing_authority,
    v0007_row_versions,
    v0008_outcomes_voids,
    v0009_dry_needling_containers,
    v0010_site_location,
    v0011_external_records,
    v0013_outbox,
    v0014_indexes,
    v0016_pain_drawings,
    v0017_audit_pending,
    v0018_patient_search,
    v0019_sessions,
)

MIGRATIONS: tuple[str, ...] = (
    v0001_initial.SQL,
    v0002_lot_recall.SQL,
    v0003_users.SQL,
    v0004_reported_history.SQL,
    v0005_signed_snapshot.SQL,
    v0006_signing_authority.SQL,
    v0007_row_versions.SQL,
    v0008_outcomes_voids.SQL,
    v0009_dry_needling_containers.SQL,
    v0010_site_location.SQL,
    v0011_external_records.SQL,
    v0013_outbox.SQL,
    v0014_indexes.SQL,
    v0016_pain_drawings.SQL,
    v0017_audit_pending.SQL,
    v0018_patient_search.SQL,
    v0019_sessions.SQL,
)
SCHEMA_VERSION = len(MIGRATIONS)
