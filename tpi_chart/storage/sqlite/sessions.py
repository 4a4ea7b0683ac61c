"""Sessions: one row per sign-in at a workstation (migrations v0019_sessions; on a server,
postgres v0003_sessions). The same SQL on both engines.

Starting, touching and ending one's own session are not changes of the record: the sign-in is
audited as `login` by the account repository, the lock as `session_locked` by the auth service.
An administrator ending someone else's session is a change, audited under the administrator's
name.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from tpi_chart.storage.interfaces import SessionRecord
from tpi_chart.storage.sqlite.audited import AuditedWrites

_COLUMNS = (
    "id, username, workstation, started_at, last_seen_at, state, ended_at, ended_by, end_reason"
)


def _record(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(
        id=int(row["id"]),
        username=str(row["username"]),
        workstation=str(row["workstation"]),
        started_at=datetime.fromisoformat(row["started_at"]),
        last_seen_at=datetime.fromisoformat(row["last_seen_at"]),
        state=str(row["state"]),
        ended_at=datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
        ended_by=row["ended_by"],
        end_reason=row["end_reason"],
    )


class SqliteSessions:
    def __init__(self, writes: AuditedWrites) -> None:
        self._writes = writes

    def start(self, username: str, workstation: str, at: datetime) -> SessionRecord:
        with self._writes.unaudited("the session row of a sign-in audited as login"):
            cursor = self._writes.conn.execute(
                "INSERT INTO sessions (username, workstation, started_at, last_seen_at, state)"
                " VALUES (?, ?, ?, ?, 'active')",
                (username, workstation, at.isoformat(), at.isoformat()),
            )
            session_id = int(cursor.lastrowid or 0)
        found = self.get(session_id)
        assert found is not None
        return found

    def touch(self, session_id: int, at: datetime, state: str) -> None:
        """The session was seen (`state` active) or locked; refused once it has ended."""
        with self._writes.unaudited("a session's last-seen time, or its lock audited as such"):
            self._writes.conn.execute(
                "UPDATE sessions SET last_seen_at = ?, state = ? WHERE id = ?",
                (at.isoformat(), state, session_id),
            )

    def end(self, session_id: int, at: datetime, by: str, reason: str) -> SessionRecord | None:
        """End an open session; None when it had ended already (nothing changes). Ended by
        someone else than its own user: audited under `by`'s name."""
        current = self.get(session_id)
        if current is None or current.ended_at is not None:
            return None
        if by == current.username:
            with self._writes.unaudited("one's own sign-out; the sign-in was audited"):
                self._mark_ended(session_id, at, by, reason)
        else:
            with self._writes.audited(
                by,
                "session_ended",
                "session",
                entity_id=session_id,
                before={"username": current.username, "workstation": current.workstation},
                after={"reason": reason},
            ):
                self._mark_ended(session_id, at, by, reason)
        return self.get(session_id)

    def _mark_ended(self, session_id: int, at: datetime, by: str, reason: str) -> None:
        self._writes.conn.execute(
            "UPDATE sessions SET ended_at = ?, ended_by = ?, end_reason = ?"
            " WHERE id = ? AND ended_at IS NULL",
            (at.isoformat(), by, reason, session_id),
        )

    def get(self, session_id: int) -> SessionRecord | None:
        row = self._writes.conn.execute(
            f"SELECT {_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        return None if row is None else _record(row)

    def open_sessions(self) -> list[SessionRecord]:
        rows = self._writes.conn.execute(
            f"SELECT {_COLUMNS} FROM sessions WHERE ended_at IS NULL ORDER BY started_at, id"
        ).fetchall()
        return [_record(row) for row in rows]
