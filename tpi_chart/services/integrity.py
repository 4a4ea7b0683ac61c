"""Checks of what SQLite cannot see: signed content that no longer matches its signature, the
audit chain against the clinic registry kept outside the database, dropped protection triggers.

`verify_clinic` is what `tpi-chart audit verify` runs (everything, read-only).
`check_signed_at_open` runs at start-up within a small time budget, continuing where the last
start stopped, so a large clinic is covered over several starts without slowing one down.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from tpi_chart.domain.canonical import content_hash
from tpi_chart.services.access import NOBODY
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.context import SettingsService
from tpi_chart.services.errors import DomainError
from tpi_chart.services.paths import key_dir
from tpi_chart.storage.audit import AuditReport
from tpi_chart.storage.interfaces import Store
from tpi_chart.storage.sqlite.backup import is_read_only_place
from tpi_chart.storage.sqlite.connection import QUICK_CHECK_AT_OPEN_MAX_BYTES, QuickCheck
from tpi_chart.storage.sqlite.migrations import SCHEMA_VERSION as SCHEMA_VERSION
from tpi_chart.storage.sqlite.store import SqliteStore, open_store_readonly

#: Seconds the start-up may spend re-hashing signed procedures: a few notes (2-4 ms each), the
#: same at any size of clinic. It was 0.15 s, all of it spent by a large clinic on every start
#: and every command (the demo clinic's few notes take 10-20 ms): the window continues the
#: rotation in slices of this size after it is up (`ui.background_check`).
OPEN_BUDGET_S = 0.02
#: Signed procedures re-hashed however long they take: a small clinic's every note, every time.
OPEN_MIN = 4
#: Signed procedures listed for that at most: far more than the budget re-hashes (about 20 on
#: a quiet machine); listing every one read 450,000 ids of a tenth-year clinic, 1-6 s.
OPEN_BATCH = 500


@dataclass(frozen=True)
class ClinicReport:
    audit: AuditReport
    problems: list[str] = field(default_factory=list)  # one line each; empty: intact
    signed_checked: int = 0

    @property
    def ok(self) -> bool:
        return self.audit.ok and not self.problems


def signed_problem(charting: ChartingService, procedure_id: int) -> str | None:
    """Why the signed procedure's stored content is not what was signed; None when it is."""
    try:
        stored = charting.get(procedure_id)
        signature = stored.procedure.signature
        document = charting.document(procedure_id)
    except (DomainError, ValidationError, ValueError, KeyError) as error:
        return f"signed procedure {procedure_id} cannot be read ({str(error).splitlines()[0]})"
    if signature is None:  # pragma: no cover - listed as signed
        return f"signed procedure {procedure_id} has no signature"
    if content_hash(document) != signature.content_hash:
        return (
            f"signed procedure {procedure_id} (signed by {signature.signed_by}): its stored "
            "content no longer matches what was signed (it was changed after signing, outside "
            "TPI Chart)"
        )
    return None


class SignatureMismatch(DomainError):
    """A signed procedure's stored content is not what was signed: it is not exported as signed."""


def require_signed_intact(charting: ChartingService, procedure_id: int) -> None:
    """Refuse to export a signed procedure whose stored content no longer matches its
    signature: the file would show a signature over content nobody signed."""
    if charting.get(procedure_id).procedure.status != "signed":
        return
    problem = signed_problem(charting, procedure_id)
    if problem is not None:
        raise SignatureMismatch(
            f"{problem}; it was not exported. Run `tpi-chart audit verify` and restore the "
            "latest backup"
        )


class CheckedStore(Store, Protocol):
    """What `verify_clinic` reads beside the repositories, on either engine (a file clinic's
    registry kept beside the key; a server clinic has none and says so)."""

    def registry_problems(self) -> list[str]: ...
    def has_table(self, name: str) -> bool: ...
    def missing_triggers(self) -> list[str]: ...


def verify_clinic(store: CheckedStore, charting: ChartingService) -> ClinicReport:
    """Everything `audit verify` reports, without writing anything."""
    audit = store.audit.verify()
    problems = list(store.registry_problems())
    if store.has_table("procedures"):
        problems += [
            f"protection trigger {name} is missing (dropped outside TPI Chart)"
            for name in store.missing_triggers()
        ]
    checked = 0
    if store.has_table("procedures"):
        for procedure_id in store.procedures.signed_ids():
            checked += 1
            problem = signed_problem(charting, procedure_id)
            if problem is not None:
                problems.append(problem)
    return ClinicReport(audit, problems, checked)


def _cursor_path(store: SqliteStore) -> Path:
    return store.anchor_path.with_suffix(".signed-checked")


def check_signed_at_open(
    store: SqliteStore, charting: ChartingService, budget_s: float = OPEN_BUDGET_S
) -> list[str]:
    """Re-hash signed procedures after the last one checked at an earlier start, for at most
    `budget_s`; wrap around at the end. Returns the problems found (one line each)."""
    path = _cursor_path(store)
    try:
        after = int(json.loads(path.read_text(encoding="utf-8"))["after"])
    except (OSError, ValueError, KeyError, TypeError):
        after = 0
    ids = store.procedures.signed_ids(after, OPEN_BATCH) or store.procedures.signed_ids(
        0, OPEN_BATCH
    )
    problems: list[str] = []
    deadline = time.monotonic() + budget_s
    last = after
    for checked, procedure_id in enumerate(ids):
        if checked >= OPEN_MIN and time.monotonic() > deadline:
            break
        problem = signed_problem(charting, procedure_id)
        if problem is not None:
            problems.append(problem)
        last = procedure_id
    try:
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"after": last}))
        os.replace(temp, path)
    except OSError:
        pass  # only slows the coverage down; the next start checks these again
    return problems


def _full_check_stamp(store: SqliteStore) -> Path:
    return store.anchor_path.with_suffix(".full-checked")


def full_check_due(store: SqliteStore, now: datetime | None = None) -> bool:
    """Whether the background check should read the whole file now: it is larger than what the
    open checks itself (`QUICK_CHECK_AT_OPEN_MAX_BYTES`), and its last clean full check is older
    than the clinic's setting `full_check_days` (a week unless an administrator changed it)."""
    try:
        if store.path.stat().st_size <= QUICK_CHECK_AT_OPEN_MAX_BYTES:
            return False
        stamp = _full_check_stamp(store).read_text(encoding="utf-8").strip()
        last = datetime.fromisoformat(stamp)
    except (OSError, ValueError):
        return True
    every = timedelta(days=SettingsService(store, NOBODY).full_check_days())
    return (now or datetime.now(UTC)) - last >= every


class FullCheck:
    """The whole-file check as the window runs it: `PRAGMA quick_check` on a connection of its
    own (safe in a thread: it shares nothing with the window's), run while nobody is using the
    window and stopped by `interrupt` (from the window's thread) when someone does.

    `run` returns the problems (one line each; empty: sound, and remembered beside the anchor,
    so the next one is due after `full_check_days`), or None when it was interrupted: nothing
    found, nothing remembered, still due."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._check = QuickCheck(store.path)

    def run(self, now: datetime | None = None) -> list[str] | None:
        problems = self._check.run()
        if problems is None:
            return None
        if not problems:
            # A stamp that cannot be written only means the next start checks again.
            with contextlib.suppress(OSError):
                _full_check_stamp(self._store).write_text(
                    (now or datetime.now(UTC)).isoformat(), encoding="utf-8"
                )
        return problems

    def interrupt(self) -> None:
        self._check.interrupt()

    @property
    def interrupted(self) -> bool:
        return self._check.interrupted


#: The database the checks read (the command line names it without importing storage).
ClinicStore = SqliteStore


@contextmanager
def open_readonly(path: Path) -> Iterator[tuple[SqliteStore, bool]]:
    """The database opened read-only (checking must change nothing it checks, and work on a
    read-only disk), and whether its place cannot be written at all."""
    store = open_store_readonly(path, key_dir())
    try:
        yield store, is_read_only_place(path)
    finally:
        store.close()
