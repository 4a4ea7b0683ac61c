"""The one way a repository changes the database: `audited` runs the write and appends its
audit row in the same transaction (opened here, or joined when the caller has one open), so
"every change is audited" is a property of the code's shape, not of each method remembering it.

The few writes that are not changes of the record (a password's key rewrapped, a note waiting
in the outbox, a signed PDF stored with the signature that is itself audited) go through
`unaudited`, which names why. `tests/unit/test_audited_writes.py` fails when a repository
writes any other way.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from tpi_chart.storage.errors import StaleRecord

#: Appends one audit row (`AuditTrail.record`), in the transaction of the change.
Record = Callable[..., object]


@dataclass
class Change:
    """The audit row of one write; the write fills in what it learns while it runs (the new
    row's id, the state before it)."""

    user: str
    action: str
    entity: str
    entity_id: int | None = None
    patient_id: int | None = None
    procedure_id: int | None = None
    before: Any = None
    after: Any = None
    #: Recorded as one row per (before, after) pair instead of one row (a document's patient
    #: changes, field by field); empty: the write changed nothing, so nothing is recorded.
    parts: list[tuple[Any, Any]] | None = field(default=None)

    def nothing_changed(self) -> None:
        self.parts = []

    def rows(self) -> list[dict[str, Any]]:
        pairs = [(self.before, self.after)] if self.parts is None else self.parts
        ids = {
            "user": self.user,
            "action": self.action,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "patient_id": self.patient_id,
            "procedure_id": self.procedure_id,
        }
        return [{**ids, "before": before, "after": after} for before, after in pairs]


class AuditedWrites:
    """What a repository writes through: the connection, the transaction of its store and the
    trail its changes are recorded in."""

    def __init__(
        self,
        conn: Callable[[], sqlite3.Connection],
        transaction: Callable[[], AbstractContextManager[Any]],
        record: Record,
    ) -> None:
        self._conn = conn
        self.transaction = transaction
        self._record = record

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn()

    @contextmanager
    def audited(
        self,
        user: str,
        action: str,
        entity: str,
        *,
        entity_id: int | None = None,
        patient_id: int | None = None,
        procedure_id: int | None = None,
        before: Any = None,
        after: Any = None,
    ) -> Iterator[Change]:
        """One transaction (or the caller's): the block's writes, then their audit row(s) as
        the block left the `Change`; an exception in the block stores neither."""
        change = Change(user, action, entity, entity_id, patient_id, procedure_id, before, after)
        with self.transaction():
            yield change
            for row in change.rows():
                self._record(**row)

    @contextmanager
    def unaudited(self, why: str) -> Iterator[None]:
        """A write that is not a change of the record; `why` says so where it is made."""
        del why  # documentation at the call site, checked by the test for its presence
        with self.transaction():
            yield


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def version_of(row: sqlite3.Row) -> int:
    # A database opened read-only is not migrated: before schema v7 every row is version 1.
    columns: list[str] = row.keys()  # sqlite3.Row's `in` tests values, not column names
    return int(row["version"]) if "version" in columns else 1


def stale(entity: str, entity_id: int, expected: int, current: int) -> StaleRecord:
    return StaleRecord(
        f"{entity} {entity_id} was changed elsewhere since this copy was read (version "
        f"{expected}, now {current}); nothing was saved",
        current,
    )


def patient_of(conn: sqlite3.Connection, procedure_id: int) -> int:
    """The patient a procedure belongs to (the audit row names both); KeyError: no such
    procedure."""
    row = conn.execute("SELECT patient_id FROM procedures WHERE id = ?", (procedure_id,)).fetchone()
    if row is None:
        raise KeyError(procedure_id)
    return int(row[0])
