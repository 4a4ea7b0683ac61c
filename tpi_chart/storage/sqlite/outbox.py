"""The outbox table (schema: `migrations/v0013_outbox.py`): what still has to reach the export
folder. Not clinical data: the files it sends are audited as exports by the service."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from tpi_chart.storage.interfaces import OutboxItem
from tpi_chart.storage.sqlite.audited import AuditedWrites

#: Why the outbox's writes carry no audit row of their own.
_NOT_A_CHANGE = "delivery bookkeeping: the files it sends are audited as exports by the service"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=int(row["id"]),
        procedure_id=int(row["procedure_id"]),
        event=str(row["event"]),
        format=str(row["format"]),
        status=str(row["status"]),
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
        queued_at=datetime.fromisoformat(row["queued_at"]),
        sent_at=datetime.fromisoformat(row["sent_at"]) if row["sent_at"] else None,
        files=tuple(json.loads(row["files"])) if row["files"] else (),
    )


_COLUMNS = (
    "id, procedure_id, event, format, status, attempts, last_error, queued_at, sent_at, files"
)


class SqliteOutbox:
    def __init__(self, writes: AuditedWrites) -> None:
        self._writes = writes

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._writes.conn

    def enqueue(self, procedure_id: int, event: str, formats: tuple[str, ...]) -> None:
        """One pending row per format; an event already queued is left as it is."""
        with self._writes.unaudited(_NOT_A_CHANGE):
            for fmt in formats:
                self._conn.execute(
                    "INSERT INTO outbox (procedure_id, event, format, status, queued_at)"
                    " VALUES (?, ?, ?, 'pending', ?)"
                    " ON CONFLICT (procedure_id, event, format) DO NOTHING",
                    (procedure_id, event, fmt, _now()),
                )

    def pending(self) -> list[OutboxItem]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE status = 'pending' ORDER BY id"
        ).fetchall()
        return [_item(row) for row in rows]

    def for_procedure(self, procedure_id: int) -> list[OutboxItem]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE procedure_id = ? ORDER BY id", (procedure_id,)
        ).fetchall()
        return [_item(row) for row in rows]

    def mark_sent(self, item_id: int, files: tuple[str, ...]) -> None:
        with self._writes.unaudited(_NOT_A_CHANGE):
            self._conn.execute(
                "UPDATE outbox SET status = 'sent', attempts = attempts + 1, last_error = NULL,"
                " sent_at = ?, files = ? WHERE id = ?",
                (_now(), json.dumps(list(files)), item_id),
            )

    def mark_failed(self, item_id: int, error: str) -> None:
        with self._writes.unaudited(_NOT_A_CHANGE):
            self._conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:1000], item_id),
            )

    def pending_count(self) -> int:
        (count,) = self._conn.execute(
            "SELECT count(*) FROM outbox WHERE status = 'pending'"
        ).fetchone()
        return int(count)
