"""User accounts and login attempts (schema: `migrations/v0003_users.py`).

Stores only Argon2id PHC strings, never a password; the hash never leaves this module except to
the auth service's verifier (`password_hash`). Every account change is audited in the same
transaction as the change itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tpi_chart.domain.users import ROLES, Role, User, normalise_username
from tpi_chart.storage.errors import DuplicateRecord, StorageError, translate
from tpi_chart.storage.sqlite.audited import AuditedWrites


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _roles_text(roles: frozenset[Role]) -> str:
    return ",".join(role for role in ROLES if role in roles)


def _taken(user: User) -> DuplicateRecord:
    return DuplicateRecord(f"the username {user.username!r} is already taken")


def _user(row: sqlite3.Row) -> User:
    roles = frozenset(part for part in str(row["roles"]).split(",") if part)
    return User.model_validate(
        {
            "username": row["username"],
            "display_name": row["display_name"],
            "roles": roles,
            "active": bool(row["active"]),
        }
    )


def _public(user: User) -> dict[str, Any]:
    """What the audit trail records of an account (never the hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": _roles_text(user.roles),
        "active": user.active,
    }


class SqliteUsers:
    """Accounts and login attempts on one connection."""

    def __init__(self, writes: AuditedWrites) -> None:
        self._writes = writes

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._writes.conn

    # -- reading -----------------------------------------------------------------------------

    def get(self, username: str) -> User | None:
        row = self._conn.execute(
            "SELECT username, display_name, roles, active FROM users WHERE username = ?",
            (normalise_username(username),),
        ).fetchone()
        return None if row is None else _user(row)

    def all(self) -> list[User]:
        rows = self._conn.execute(
            "SELECT username, display_name, roles, active FROM users ORDER BY username"
        ).fetchall()
        return [_user(row) for row in rows]

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM users").fetchone()[0])

    def active_administrators(self) -> int:
        rows = self._conn.execute("SELECT roles FROM users WHERE active").fetchall()
        return sum(1 for row in rows if "administrator" in str(row[0]).split(","))

    def password_hash(self, username: str) -> str | None:
        row = self._conn.execute(
            "SELECT password_hash FROM users WHERE username = ?", (normalise_username(username),)
        ).fetchone()
        return None if row is None else str(row[0])

    # -- changing ------------------------------------------------------------------------------

    def create(self, user: User, password_hash: str, *, by: str, at: datetime) -> User:
        try:
            with self._writes.audited(by, "create", "user", after=_public(user)) as change:
                cursor = self._conn.execute(
                    "INSERT INTO users (username, display_name, roles, active, password_hash, "
                    "password_changed_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user.username,
                        user.display_name,
                        _roles_text(user.roles),
                        user.active,
                        password_hash,
                        _utc(at),
                        _utc(at),
                        by,
                    ),
                )
                change.entity_id = cursor.lastrowid
        except sqlite3.IntegrityError as error:
            if "unique" in str(error).lower():
                raise _taken(user) from error
            raise translate(error) from error
        except DuplicateRecord as error:
            # The server store's connection has translated the unique violation (SQLSTATE 23505)
            # already; its text names the index, not the account.
            raise _taken(user) from error
        except sqlite3.Error as error:
            raise translate(error) from error
        return user

    def update(self, user: User, *, by: str) -> User:
        """Change display name, roles or active flag (never the username or the password)."""
        try:
            with self._writes.audited(by, "update", "user", after=_public(user)) as change:
                user_id, before = self._require(user.username)
                self._conn.execute(
                    "UPDATE users SET display_name = ?, roles = ?, active = ? WHERE id = ?",
                    (user.display_name, _roles_text(user.roles), user.active, user_id),
                )
                change.entity_id, change.before = user_id, _public(before)
        except sqlite3.Error as error:
            raise translate(error) from error
        return user

    def set_password_hash(
        self, username: str, password_hash: str, *, by: str, at: datetime, audit: bool = True
    ) -> None:
        """Store a new hash. `audit=False` only for a silent parameter upgrade of the same password.
        The audit row says that the password changed, never what it is or its hash."""
        try:
            with self._writes.audited(
                by,
                "update",
                "user_password",
                after={"username": normalise_username(username), "password": "changed"},
            ) as change:
                user_id, _ = self._require(username)
                self._conn.execute(
                    "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                    (password_hash, _utc(at), user_id),
                )
                change.entity_id = user_id
                if not audit:  # the same password rehashed with today's parameters
                    change.nothing_changed()
        except sqlite3.Error as error:
            raise translate(error) from error

    def _require(self, username: str) -> tuple[int, User]:
        row = self._conn.execute(
            "SELECT id, username, display_name, roles, active FROM users WHERE username = ?",
            (normalise_username(username),),
        ).fetchone()
        if row is None:
            raise StorageError(f"there is no account {normalise_username(username)!r}")
        return int(row["id"]), _user(row)

    # -- login attempts ------------------------------------------------------------------------

    def record_login(
        self,
        username: str,
        *,
        success: bool,
        at: datetime,
        detail: Mapping[str, Any],
        counts: bool = True,
        monotonic: float | None = None,
        boot: str | None = None,
    ) -> None:
        """Record one attempt and its audit row (`login` or `login_failed`) in one transaction.

        `detail` says why (wrong password, unknown account, locked out…); never a password.
        `counts=False` audits without counting (an attempt refused while locked out must not
        extend the lockout). `monotonic` and `boot`: the machine's monotonic clock and boot id at
        the attempt, when known (elapsed time that survives a change of the wall clock)."""
        name = normalise_username(username)[:80] or "(empty)"
        try:
            with self._writes.audited(
                name,
                "login" if success else "login_failed",
                "session",
                after={"username": name, **detail},
            ) as change:
                if counts:
                    self._conn.execute(
                        "INSERT INTO login_attempts (username, at, success, monotonic, boot)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (name, _utc(at), success, monotonic, boot),
                    )
                row = self._conn.execute(
                    "SELECT id FROM users WHERE username = ?", (name,)
                ).fetchone()
                change.entity_id = None if row is None else int(row[0])
        except sqlite3.Error as error:
            raise translate(error) from error

    def failures_since_success(
        self, username: str, limit: int = 50
    ) -> list[tuple[datetime, float | None, str | None]]:
        """The latest failed attempts after the last success (at most `limit`), oldest first:
        (wall-clock time, monotonic reading, boot id). Not filtered by the wall clock, which
        may have been moved."""
        name = normalise_username(username)
        rows = self._conn.execute(
            "SELECT at, monotonic, boot FROM login_attempts WHERE username = ? AND NOT success"
            " AND id > coalesce((SELECT max(id) FROM login_attempts"
            "                    WHERE username = ? AND success), 0)"
            " ORDER BY id DESC LIMIT ?",
            (name, name, limit),
        ).fetchall()
        return [
            (
                datetime.fromisoformat(str(row[0])),
                None if row[1] is None else float(row[1]),
                None if row[2] is None else str(row[2]),
            )
            for row in reversed(rows)
        ]

    def recent_failures(self, username: str, since: datetime) -> list[datetime]:
        """Failed attempts at or after `since` and after the last success, oldest first."""
        name = normalise_username(username)
        rows = self._conn.execute(
            "SELECT at FROM login_attempts WHERE username = ? AND NOT success AND at >= ? "
            "AND at > coalesce((SELECT max(at) FROM login_attempts "
            "                   WHERE username = ? AND success), '') ORDER BY at",
            (name, _utc(since), name),
        ).fetchall()
        return [datetime.fromisoformat(str(row[0])) for row in rows]
