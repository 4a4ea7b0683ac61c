"""A PostgreSQL connection that speaks the repositories' dialect: `execute(sql, params)` with `?`
placeholders, rows read by position or by column name, `lastrowid`, and the transaction
statements the SQLite code issues (BEGIN IMMEDIATE, COMMIT, ROLLBACK).

Why an adapter rather than a second copy of every query: the repositories' SQL is written to run
on both engines (booleans as `NOT removed`, JSON through `->>`, no SQLite-only functions), so a
rule about the records lives in one place. What differs is here:

- connections come from psycopg's pool, one per transaction; a statement outside a transaction
  borrows one in autocommit mode for that statement only;
- BEGIN locks the clinic's `audit_head` row (`SELECT … FOR UPDATE`), and in the same statement
  names this program to the lease trigger (`tpi.lease_holder`). SQLite's BEGIN IMMEDIATE
  takes the database's write lock; this is PostgreSQL's equivalent for our writers: the audit
  chain is appended by one transaction at a time (it never forks), and a repository's read of a
  row's version and its write of the row cannot interleave with another workstation's;
- `jsonb` columns are read back as text (the repositories parse JSON themselves, as on SQLite);
- driver errors become the same `StorageError`s as SQLite's, by SQLSTATE
  (`errors.translate_sqlstate`).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from tpi_chart.storage.errors import (
    ServerUnreachable,
    StorageError,
    translate_sqlstate,
    unreachable_message,
)

#: How long a statement or a lock wait may take before the save is refused as busy (ms): the
#: same patience as SQLite's busy timeout.
STATEMENT_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_S = 5


class Row(tuple[Any, ...]):
    """A result row like sqlite3.Row: by position, or by column name (`row["mrn"]`)."""

    _index: dict[str, int]

    def __new__(cls, values: Sequence[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._index[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._index)


class Cursor:
    """The result of one statement, fetched whole (the connection goes back to the pool)."""

    def __init__(self, rows: list[Row], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Row | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Row]:
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Row]:
        while (row := self.fetchone()) is not None:
            yield row


_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


@functools.lru_cache(maxsize=512)
def to_pg(sql: str) -> str:
    """`?` placeholders → `%s`, a literal `%` doubled (the SQL holds no `?` inside strings)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("jsonb", TextLoader)
    conn.adapters.register_loader("json", TextLoader)


class PgConnection:
    """The store's connection: sqlite3's calling conventions over a pool (see the module)."""

    def __init__(self, url: str, host: str, *, max_size: int = 4, read_only: bool = False) -> None:
        self.host = host
        self.url = url  # the listener of change notices connects outside the pool (live.py)
        self.clinic_id: str | None = None  # set by the store: the head row BEGIN locks
        #: Who this program is to the lease trigger (`tpi.lease_holder`, v0002_leases): set by
        #: the store, sent with the head row lock, so a click pays no extra round trip.
        self.lease_holder = ""
        #: The workstation's session (`PostgresStore.track_session`): BEGIN's lock statement
        #: also reads whether it has ended, in the same round trip.
        self.session_id: int | None = None
        self._local = threading.local()
        self._identity_tables: frozenset[str] | None = None
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT_S,
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
                f" -c lock_timeout={STATEMENT_TIMEOUT_MS}"
                # A check that must change nothing it checks: the server refuses any write.
                + (" -c default_transaction_read_only=on" if read_only else ""),
            },
            configure=_configure,
            timeout=CONNECT_TIMEOUT_S,
            open=False,
        )
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout as error:
            self.pool.close()
            raise ServerUnreachable(unreachable_message(host)) from error

    # -- transactions ----------------------------------------------------------------------------

    @property
    def _conn(self) -> psycopg.Connection[Any] | None:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        return conn

    @property
    def in_transaction(self) -> bool:
        return self._conn is not None

    def begin(self) -> None:
        if self._conn is not None:
            raise StorageError("a transaction is already open on this connection")
        conn = self._checkout()
        try:
            conn.execute("BEGIN")
            self._local.session_ended = None
            if self.clinic_id is not None:
                # One round trip: the head row lock, who holds leases here (the lease trigger
                # reads it) and whether this workstation's session was ended elsewhere.
                row = conn.execute(
                    "SELECT set_config('tpi.lease_holder', %s, true),"
                    " (SELECT ended_at IS NOT NULL FROM sessions WHERE id = %s)"
                    " FROM audit_head WHERE clinic_id = %s FOR UPDATE",
                    (self.lease_holder, self.session_id, self.clinic_id),
                ).fetchone()
                if self.session_id is not None:
                    self._local.session_ended = bool(row and row[1])
        except psycopg.Error as error:
            self._release(conn, rollback=True)
            raise self._translate(error) from error
        self._local.conn = conn

    @property
    def session_ended(self) -> bool | None:
        """Whether the tracked session had ended when this thread's transaction began (None:
        no session tracked, or no transaction)."""
        ended: bool | None = getattr(self._local, "session_ended", None)
        return ended

    def commit(self) -> None:
        conn = self._take()
        try:
            conn.execute("COMMIT")
        except psycopg.Error as error:
            self._release(conn, rollback=True)
            raise self._translate(error) from error
        self._release(conn, rollback=False)

    def rollback(self) -> None:
        self._release(self._take(), rollback=True)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction; inside an open one, joins it (the outermost commits)."""
        if self.in_transaction:
            yield
            return
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def _take(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None:
            raise StorageError("no transaction is open")
        self._local.conn = None
        return conn

    def _checkout(self) -> psycopg.Connection[Any]:
        try:
            return self.pool.getconn()
        except PoolTimeout as error:
            raise ServerUnreachable(unreachable_message(self.host)) from error

    def _release(self, conn: psycopg.Connection[Any], *, rollback: bool) -> None:
        if rollback and not conn.closed:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                conn.close()  # the pool replaces a closed connection
        self.pool.putconn(conn)

    # -- statements ------------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        word = sql.lstrip()[:8].upper()
        if word.startswith("BEGIN"):
            self.begin()
            return Cursor([], -1, None)
        if word.startswith("COMMIT"):
            self.commit()
            return Cursor([], -1, None)
        if word.startswith("ROLLBACK"):
            self.rollback()
            return Cursor([], -1, None)
        conn = self._conn
        if conn is not None:
            return self._run(conn, sql, params)
        borrowed = self._checkout()
        try:
            return self._run(borrowed, sql, params)
        finally:
            self.pool.putconn(borrowed)

    def _run(self, conn: psycopg.Connection[Any], sql: str, params: Sequence[Any]) -> Cursor:
        statement = to_pg(sql)
        table = self._returns_id(sql)
        if table:
            statement += " RETURNING id"
        try:
            cur = conn.execute(statement, tuple(params))
            rows: list[Row] = []
            if cur.description is not None:
                index = {column.name: i for i, column in enumerate(cur.description)}
                rows = [Row(values, index) for values in cur.fetchall()]
        except psycopg.Error as error:
            raise self._translate(error) from error
        lastrowid = int(rows[0][0]) if table and rows else None
        return Cursor([] if table else rows, cur.rowcount, lastrowid)

    def _returns_id(self, sql: str) -> bool:
        """An INSERT into a table with an identity key, without its own RETURNING: it returns
        the new id (sqlite3's `lastrowid`) in the same round trip."""
        match = _INSERT.match(sql)
        if match is None or "RETURNING" in sql.upper():
            return False
        return match.group(1).lower() in self.identity_tables()

    def identity_tables(self) -> frozenset[str]:
        if self._identity_tables is None:
            rows = self.execute(
                "SELECT table_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND column_name = 'id'"
                " AND is_identity = 'YES'"
            ).fetchall()
            self._identity_tables = frozenset(str(row[0]) for row in rows)
        return self._identity_tables

    def _translate(self, error: psycopg.Error) -> StorageError:
        if isinstance(error, psycopg.OperationalError) and error.sqlstate is None:
            return ServerUnreachable(unreachable_message(self.host))
        return translate_sqlstate(error.sqlstate or "", str(error).strip(), self.host)

    def close(self) -> None:
        self.pool.close()
