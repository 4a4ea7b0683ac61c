"""Moving a single-room clinic (its SQLite file) into an empty clinic database on a PostgreSQL
server: the SQL of `tpi-chart migrate` (the use case is `services/migrate.py`).

Everything happens in ONE server transaction: the schema is created, every table copied with
`COPY`, the identity sequences moved past the copied ids, each table's rows counted and hashed
on both sides and compared, the copied audit chain walked with the clinic's key, and the
`clinic_migrated` event appended to it. Any difference or refusal rolls all of it back: the
server database is as empty as before, never half a clinic. The file is only read.

Why the rows keep their ids and the audit rows their seq and MACs: the ids are in the audit rows
(`entity_id`, `patient_id`), in signed notes and in exported documents; the chain's MACs cover
the seq. The same key (sealed in the copied `key_grants`) verifies the same chain on the server,
and the move itself is the chain's next link, naming the file and the tail it continued from.

Why the rows pass the server's protection triggers instead of switching them off: switching them
off needs the tables' owner (a later version keeps the owner apart from the app's role), and
passing them shows the copied rows are ones the server itself would have accepted. The triggers
refuse a signed procedure inserted as signed, and children added to a signed one; so procedures
arrive unsigned with their sites, preparations, pain drawing and snapshots, are then signed by
the one update the signing trigger allows (the stored signature, unchanged), and only then
receive what needs a signed procedure (addenda, the signed note) or freezes it (an imported
external record).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from tpi_chart.storage import audit as audit_log
from tpi_chart.storage.audit import Anchor, AuditReport, AuditRow
from tpi_chart.storage.errors import AlreadyOpen, ReadOnlyDatabase, StorageError, translate_sqlstate
from tpi_chart.storage.postgres.schema import connect, current_version, host_of, migrate
from tpi_chart.storage.sqlite.connection import user_version
from tpi_chart.storage.sqlite.instance_lock import InstanceLock
from tpi_chart.storage.sqlite.migrations import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION

#: The tables copied, in the order their rows can arrive past the foreign keys and triggers.
#: The signed procedures are signed after `SIGNED_AFTER` (see the module's docstring).
COPIED: tuple[str, ...] = (
    "meta",
    "users",
    "login_attempts",
    "sessions",
    "account_keys",
    "key_grants",
    "signing_authority",
    "signing_certificates",
    "signing_requests",
    "patients",
    "procedures",
    "preparations",
    "components",
    "sites",
    "pain_strokes",
    "reported_history",
    "signed_snapshots",
    "procedure_voids",
    "addenda",
    "follow_ups",
    "signed_notes",
    "outbox",
    "external_records",
    "audit",
    "audit_pending",
)
SIGNED_AFTER = "procedure_voids"

#: File tables deliberately not copied, and why.
FILE_ONLY: dict[str, str] = dict.fromkeys(
    (
        "patient_search",
        "patient_search_config",
        "patient_search_data",
        "patient_search_docsize",
        "patient_search_idx",
    ),
    "SQLite's full-text index of the patients, rebuilt from them; the server searches the "
    "patients' search_name column",
)

#: Server tables that have no counterpart in the file, and what the move puts in them.
SERVER_ONLY: dict[str, str] = {
    "schema_version": "written by the schema migration",
    "audit_head": "the clinic's head row, keyed by the copied clinic id",
    "leases": "which room has a procedure open: a file clinic has one window, nothing to move",
}

#: What the server database may hold and still count as empty: a workstation that connected
#: once, before anyone had an account, gave it a clinic id of its own (replaced by the file's).
_EMPTY_META = frozenset({"clinic_id"})

_SIGNATURE_COLUMNS = ("status", "signed_by", "signed_at", "content_hash")


@dataclass(frozen=True)
class TableCopy:
    """One table as read from the file and as stored on the server."""

    name: str
    file_rows: int
    server_rows: int
    file_digest: str
    server_digest: str

    @property
    def matches(self) -> bool:
        return self.file_rows == self.server_rows and self.file_digest == self.server_digest


@dataclass(frozen=True)
class Transfer:
    """What was copied and checked, and the audit event that records the move."""

    tables: tuple[TableCopy, ...]
    file_tail: Anchor | None
    chain: AuditReport
    event: AuditRow


class TransferRefused(StorageError):
    """The file or the server database cannot take part in a move; nothing was copied."""


def copy_clinic(
    source: sqlite3.Connection,
    url: str,
    *,
    key: bytes,
    user: str,
    event: dict[str, Any],
) -> Transfer:
    """Copy the clinic of `source` (a read-only connection to its file) into the empty server
    database at `url`, check it, and record the move as `user` with `event` (plus the counts and
    the file's audit tail) as the chain's next row, signed with the clinic's audit `key`."""
    _require_current_file(source)
    host = host_of(url)
    # One read transaction: every table is read as of the same moment (WAL snapshot).
    source.execute("BEGIN")
    try:
        return _copy(source, url, host, key=key, user=user, event=event)
    finally:
        source.execute("ROLLBACK")


def _copy(
    source: sqlite3.Connection,
    url: str,
    host: str,
    *,
    key: bytes,
    user: str,
    event: dict[str, Any],
) -> Transfer:
    with connect(url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        stage = "the server database"
        try:
            with conn.transaction():
                _require_empty(conn, host)
                migrate(conn)
                columns = _column_plan(source, conn)
                conn.execute("DELETE FROM meta")
                conn.execute("DELETE FROM audit_head")
                copies: list[TableCopy] = []
                for table in COPIED:
                    stage = f"table {table}"
                    count, digest = _copy_table(source, conn, table, columns[table])
                    if table == SIGNED_AFTER:
                        stage = "the signed procedures"
                        _sign_procedures(source, conn)
                    copies.append(TableCopy(table, count, 0, digest, ""))
                stage = "the checks"
                _insert_head(conn)
                _restart_identities(conn)
                checked = tuple(_checked(conn, copy, columns[copy.name]) for copy in copies)
                _require_matches(checked)
                file_tail = _tail(source)
                chain = _require_chain(conn, key, file_tail)
                row = _append_event(conn, key, user, event, checked, file_tail)
        except psycopg.Error as error:
            raise translate_sqlstate(
                error.sqlstate or "",
                f"moving {stage} into the server failed ({str(error).strip()}); nothing was copied",
                host,
            ) from error
    return Transfer(checked, file_tail, chain, row)


# -- the file ----------------------------------------------------------------------------------


@contextmanager
def file_held(path: Path) -> Iterator[None]:
    """Hold the window's single-instance lock on the file while it is moved: no window edits
    it meanwhile (an edit made after the copy would stay behind in the file). The lock is its
    own file beside the database; the database itself is only read. A file in a read-only
    place, where the lock file cannot be made, cannot be edited by a window either."""
    try:
        lock = InstanceLock.acquire(path)
    except AlreadyOpen as error:
        raise TransferRefused(
            f"{path} is open in a TPI Chart window: close TPI Chart wherever it uses this file, "
            "then move the clinic (its last edits must be in what is moved). Nothing was copied."
        ) from error
    except ReadOnlyDatabase:
        yield
        return
    try:
        yield
    finally:
        lock.release()


def _require_current_file(source: sqlite3.Connection) -> None:
    version = user_version(source)
    if version < SQLITE_SCHEMA_VERSION:
        raise TransferRefused(
            f"the clinic file is at schema version {version}, older than this version of TPI "
            f"Chart writes ({SQLITE_SCHEMA_VERSION}): open it once with this version (which "
            "upgrades it), then move it. Nothing was copied."
        )
    if version > SQLITE_SCHEMA_VERSION:
        raise TransferRefused(
            f"the clinic file was written by a newer version of TPI Chart (schema {version}; "
            f"this version knows up to {SQLITE_SCHEMA_VERSION}); move it with that version. "
            "Nothing was copied."
        )


def _tail(source: sqlite3.Connection) -> Anchor | None:
    row = source.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else Anchor(int(row[0]), str(row[1]))


def _file_tables(source: sqlite3.Connection) -> set[str]:
    rows = source.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
        "ESCAPE '\\'"
    ).fetchall()
    return {str(row[0]) for row in rows}


# -- the server database -----------------------------------------------------------------------


def _require_empty(conn: psycopg.Connection[Any], host: str) -> None:
    """Refuse a database that holds anything of a clinic (another application's tables are
    refused by `current_version`)."""
    if current_version(conn) == 0:
        return
    filled: list[str] = []
    for table in sorted(_server_tables(conn) - {"schema_version", "audit_head"}):
        if table == "meta":
            keys = {str(row[0]) for row in conn.execute("SELECT key FROM meta")}
            if keys - _EMPTY_META:
                filled.append("meta")
            continue
        if conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone() != (False,):
            filled.append(table)
    if filled:
        raise TransferRefused(
            f"the server database at {host} is not empty (it holds {', '.join(filled)}): a "
            "clinic is moved only into a new, empty database (`createdb`), so that nothing of "
            "another clinic is mixed into it or overwritten. Nothing was copied."
        )


def _server_tables(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {str(row[0]) for row in rows}


@dataclass(frozen=True)
class _Column:
    name: str
    kind: str  # the server's data_type

    @property
    def quoted(self) -> str:
        return f'"{self.name}"'


def _column_plan(
    source: sqlite3.Connection, conn: psycopg.Connection[Any]
) -> dict[str, list[_Column]]:
    """Each copied table's columns, in the server's order, after checking that the two schemas
    hold the same tables and the same columns: a table or column either side does not know
    stops the move, whatever it holds (a newer file, or a server schema that gained a table)."""
    file_tables = _file_tables(source)
    server_tables = _server_tables(conn)
    known = set(COPIED)
    problems = [
        f"the file has a table the move does not know: {name}"
        for name in sorted(file_tables - known - set(FILE_ONLY))
    ]
    problems += [
        f"the server has a table the move does not know: {name}"
        for name in sorted(server_tables - known - set(SERVER_ONLY))
    ]
    problems += [f"the file has no table {name}" for name in sorted(known - file_tables)]
    problems += [f"the server has no table {name}" for name in sorted(known - server_tables)]
    plan: dict[str, list[_Column]] = {}
    for table in COPIED:
        if table not in file_tables or table not in server_tables:
            continue
        in_file = {str(row[1]) for row in source.execute(f'PRAGMA table_info("{table}")')}
        on_server = [
            _Column(str(row[0]), str(row[1]))
            for row in conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = %s"
                " ORDER BY ordinal_position",
                (table,),
            )
        ]
        names = {column.name for column in on_server}
        if in_file != names:
            problems.append(
                f"table {table}: the file's columns ({', '.join(sorted(in_file - names)) or '-'})"
                f" and the server's ({', '.join(sorted(names - in_file)) or '-'}) differ"
            )
        plan[table] = on_server
    if problems:
        raise TransferRefused(
            "the file and the server's schema do not match, so the clinic cannot be moved "
            "completely: " + "; ".join(problems) + ". Nothing was copied."
        )
    return plan


def _copy_table(
    source: sqlite3.Connection,
    conn: psycopg.Connection[Any],
    table: str,
    columns: list[_Column],
) -> tuple[int, str]:
    """COPY the file's rows into the server's table; the file side's count and digest, taken
    from the very rows that were sent."""
    names = ", ".join(column.quoted for column in columns)
    rows = source.execute(f'SELECT {names} FROM "{table}"')
    digest = _Digest(columns)
    unsigned = _unsigned if table == "procedures" else None
    index = [column.name for column in columns]
    with conn.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = tuple(row)
            digest.add(values)
            copy.write_row(unsigned(values, index) if unsigned else values)
    return digest.count, digest.hexdigest()


def _unsigned(values: tuple[Any, ...], index: list[str]) -> tuple[Any, ...]:
    """A signed procedure as it was before its signing update (see the module's docstring)."""
    if values[index.index("status")] != "signed":
        return values
    changed = list(values)
    changed[index.index("status")] = "in_progress"
    for name in _SIGNATURE_COLUMNS[1:]:
        changed[index.index(name)] = None
    return tuple(changed)


def _sign_procedures(source: sqlite3.Connection, conn: psycopg.Connection[Any]) -> None:
    signed = source.execute(
        "SELECT signed_by, signed_at, content_hash, id FROM procedures WHERE status = 'signed'"
    ).fetchall()
    with conn.cursor() as cursor:
        cursor.executemany(
            "UPDATE procedures SET status = 'signed', signed_by = %s, signed_at = %s,"
            " content_hash = %s WHERE id = %s",
            [tuple(row) for row in signed],
        )


def _insert_head(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'clinic_id'").fetchone()
    if row is None:
        raise TransferRefused(
            "the file has no clinic id (it was never opened by TPI Chart). Nothing was copied."
        )
    conn.execute("INSERT INTO audit_head (clinic_id) VALUES (%s)", (row[0],))


def _restart_identities(conn: psycopg.Connection[Any]) -> None:
    """Move each identity sequence past the copied ids: the next row the server numbers must not
    collide with one that came from the file."""
    tables = conn.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND column_name = 'id' AND is_identity = 'YES'"
    ).fetchall()
    for (table,) in tables:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'),"
            f' (SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)',
            (table,),
        )


# -- the checks --------------------------------------------------------------------------------


class _Digest:
    """Count and SHA-256 of a table's rows, each value brought to one form whatever the engine
    (0/1 or a boolean, JSON text or jsonb, ISO text or a timestamptz), independent of row
    order (the engines sort text differently)."""

    def __init__(self, columns: Sequence[_Column]) -> None:
        self._kinds = [column.kind for column in columns]
        self._rows: list[bytes] = []

    def add(self, values: Iterable[Any]) -> None:
        normal = [_normal(kind, value) for kind, value in zip(self._kinds, values, strict=True)]
        text = json.dumps(normal, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self._rows.append(hashlib.sha256(text.encode("utf-8")).digest())

    @property
    def count(self) -> int:
        return len(self._rows)

    def hexdigest(self) -> str:
        return hashlib.sha256(b"".join(sorted(self._rows))).hexdigest()


def _normal(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "boolean":
        return bool(value)
    if kind in ("json", "jsonb"):
        return json.loads(value) if isinstance(value, str) else value
    if kind == "timestamp with time zone":
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    if kind == "bytea":
        return bytes(value).hex()
    if kind in ("double precision", "real", "numeric"):
        return float(value)
    if kind in ("integer", "bigint", "smallint"):
        return int(value)
    return str(value)


def _checked(conn: psycopg.Connection[Any], copy: TableCopy, columns: list[_Column]) -> TableCopy:
    names = ", ".join(column.quoted for column in columns)
    digest = _Digest(columns)
    for row in _stream(conn, f'SELECT {names} FROM "{copy.name}"'):
        digest.add(row)
    return TableCopy(copy.name, copy.file_rows, digest.count, copy.file_digest, digest.hexdigest())


_CURSORS = itertools.count()


def _stream(conn: psycopg.Connection[Any], sql: str) -> Iterator[Sequence[Any]]:
    """The rows of `sql` a batch at a time through a server-side cursor: a clinic's signed PDFs
    are read back for their hashes without holding them all in memory at once."""
    with conn.cursor(name=f"tpi_transfer_{next(_CURSORS)}") as cursor:
        cursor.itersize = 200
        cursor.execute(sql.encode())
        yield from cursor


def _require_matches(tables: Sequence[TableCopy]) -> None:
    different = [
        f"{table.name} (file {table.file_rows} rows, server {table.server_rows}"
        + (", different content" if table.file_rows == table.server_rows else "")
        + ")"
        for table in tables
        if not table.matches
    ]
    if different:
        raise TransferRefused(
            "the server's copy differs from the file in " + "; ".join(different) + ". Nothing "
            "was copied."
        )


_AUDIT_COLUMNS = (
    'seq, at, "user", action, entity, entity_id, patient_id, procedure_id, before, after,'
    " prev_mac, mac"
)


def _require_chain(
    conn: psycopg.Connection[Any], key: bytes, file_tail: Anchor | None
) -> AuditReport:
    """The copied chain, walked on the server with the clinic's key, ends where the file's did."""
    report = audit_log.walk_chain(
        _stream(conn, f"SELECT {_AUDIT_COLUMNS} FROM audit ORDER BY seq"), key
    )
    row = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    server_tail = None if row is None else Anchor(int(row[0]), str(row[1]))
    if not report.ok or server_tail != file_tail:
        raise TransferRefused(
            "the audit trail copied to the server does not verify with the clinic's key "
            f"(row {report.first_broken_seq}: {report.reason or 'its last row differs'}). "
            "Nothing was copied."
        )
    return report


def _append_event(
    conn: psycopg.Connection[Any],
    key: bytes,
    user: str,
    event: dict[str, Any],
    tables: Sequence[TableCopy],
    file_tail: Anchor | None,
) -> AuditRow:
    """The move, as the chain's next row: what the file held and where its chain ended."""
    action = "clinic_migrated"
    audit_log.check_event(action, user)
    after = {
        **event,
        "file_audit_tail": None if file_tail is None else file_tail.as_dict(),
        "rows": {table.name: table.file_rows for table in tables},
    }
    fields = {
        "at": audit_log.now_utc(),
        "user": user,
        "action": action,
        "entity": "database",
        "entity_id": None,
        "patient_id": None,
        "procedure_id": None,
        "before": None,
        "after": audit_log.to_json(after),
    }
    row = audit_log.next_row(key, file_tail, fields)
    conn.execute(
        f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES"
        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (*row.fields().values(), row.prev_mac, row.mac),
    )
    return row
