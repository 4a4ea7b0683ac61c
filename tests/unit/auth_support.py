"""Shared helpers for the auth, signing and audit tests: a migrated database with the users
tables, a fake clock and a recording sleep."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from tpi_chart.storage import audit
from tpi_chart.storage.sqlite import audit_trail
from tpi_chart.storage.sqlite.audited import AuditedWrites
from tpi_chart.storage.sqlite.connection import open_database, split_statements, transaction
from tpi_chart.storage.sqlite.migrations import v0003_users
from tpi_chart.storage.sqlite.users import SqliteUsers

KEY = b"k" * 32
# Cheap Argon2id parameters for tests that log in many times; one test checks the defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def open_with_users(path: Path) -> sqlite3.Connection:
    conn = open_database(path)
    has_users = conn.execute(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'users'"
    ).fetchone()[0]
    if not has_users:  # until the migration is registered in storage/sqlite/migrations/__init__.py
        conn.execute("BEGIN IMMEDIATE")
        for statement in split_statements(v0003_users.SQL):
            conn.execute(statement)
        conn.execute("COMMIT")
    return conn


class KeyedTrail:
    """An AuditTrail on one connection and key (what the store provides)."""

    def __init__(self, conn: sqlite3.Connection, key: bytes = KEY) -> None:
        self.conn = conn
        self.key = key

    def record(self, **fields: Any) -> audit.AuditRow:
        with transaction(self.conn):
            return audit_trail.record(self.conn, self.key, **fields)

    def verify(self) -> audit.AuditReport:
        return audit_trail.verify_audit_chain(self.conn, self.key)

    def rows(
        self, mrn: str | None = None, date_from: Any = None, date_to: Any = None
    ) -> list[audit.AuditRow]:
        return audit_trail.audit_rows(self.conn, mrn, date_from, date_to)


def users_on(conn: sqlite3.Connection, trail: KeyedTrail) -> SqliteUsers:
    """The store's account repository on a bare connection, recording in `trail`."""
    return SqliteUsers(AuditedWrites(lambda: conn, lambda: transaction(conn), trail.record))


@dataclass
class FakeClock:
    now: datetime = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"


def reference_document(**procedure_changes: Any) -> Any:
    import json

    from tpi_chart.domain.models import ProcedureDocument

    data = json.loads(REFERENCE.read_text())
    data["procedure"].update(procedure_changes)
    return ProcedureDocument.model_validate(data)


class StoreCharting:
    """The two ChartingService calls signing uses, over a store (until the service is wired)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def get(self, procedure_id: int) -> Any:
        record = self.store.procedures.get(procedure_id)
        assert record is not None
        return record

    def document(self, procedure_id: int) -> Any:
        from tpi_chart.domain.models import ProcedureDocument

        record = self.get(procedure_id)
        patient = self.store.patients.get(record.patient_id)
        return ProcedureDocument(
            format="tpi-chart.procedure/1", patient=patient.patient, procedure=record.procedure
        )
