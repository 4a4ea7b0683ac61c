"""What `doctor` needs to know about a database file, read without changing it."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from tpi_chart.storage.sqlite.connection import inspect_file


@dataclass(frozen=True)
class DatabaseSummary:
    schema_version: int
    #: When (UTC, ISO 8601) and where the last backup that passed its check was written.
    last_backup_at: str | None
    last_backup_file: str | None


def summarize(path: Path) -> DatabaseSummary:
    """The schema version and the last good backup of the database at `path`. Refuses (the
    storage errors of `inspect_file`) a file that is not ours, is newer or is damaged."""
    _, version, has_tables = inspect_file(path, full_check=True)  # doctor checks in full
    at = file = None
    if has_tables:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as conn:
            # `BackupService.backup` audits a backup only after the copy passed its checks.
            row = conn.execute(
                "SELECT at, after FROM audit WHERE action = 'backup' ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        if row is not None:
            at = str(row[0])
            after = json.loads(row[1]) if row[1] else {}
            file = str(after.get("file")) if isinstance(after, dict) else None
    return DatabaseSummary(schema_version=version, last_backup_at=at, last_backup_file=file)
