"""Clinic settings: the `meta` table's keys, each change audited."""

from __future__ import annotations

from tpi_chart.storage.sqlite.audited import AuditedWrites


class SqliteSettings:
    def __init__(self, writes: AuditedWrites) -> None:
        self._writes = writes

    def get(self, key: str) -> str | None:
        row = self._writes.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set(self, key: str, value: str, user: str) -> None:
        with self._writes.audited(user, "settings", "setting", after={key: value}) as change:
            change.before = {key: self.get(key)}
            self._writes.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
