"""Every change is audited by construction: each SQLite repository writes only inside
`AuditedWrites.audited` (the change and its audit row in one transaction) or `unaudited` (with
the reason), never by hand, and each public write method, run for real, adds exactly one audit
row per change.

A new repository method fails `test_every_public_method_is_classified` until it is listed here
as a read or exercised as a write; a write that bypasses the helper fails the source check.

The source checks read the code, on no engine. The server store uses these same repositories, so
the one-row-per-change check runs on both engines; the classification, which is about the
classes, on SQLite only."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.engines import open_store
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.models import Addendum, FollowUp, PainStroke, ProcedureDocument, Signature
from tpi_chart.domain.users import User
from tpi_chart.storage import sqlite as sqlite_package
from tpi_chart.storage.sqlite.outbox import SqliteOutbox
from tpi_chart.storage.sqlite.pain import SqlitePainStrokes
from tpi_chart.storage.sqlite.patients import SqlitePatients
from tpi_chart.storage.sqlite.pki import SqlitePki
from tpi_chart.storage.sqlite.procedures import SqliteProcedures
from tpi_chart.storage.sqlite.settings import SqliteSettings
from tpi_chart.storage.sqlite.users import SqliteUsers

REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"
PACKAGE = Path(sqlite_package.__file__).parent
#: Modules whose SQL is not a repository's: the schema, the audit table itself, file copies.
NOT_REPOSITORIES = {"__init__.py", "connection.py", "audit_trail.py", "audited.py", "backup.py"}
#: A write statement as this code spells SQL (upper case; a docstring's "Update…" is not one).
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b")
HELPERS = {"audited", "unaudited"}

READS: dict[type, set[str]] = {
    SqlitePatients: {"get", "by_mrn", "search", "with_lot"},
    SqliteProcedures: {
        "get",
        "sites",
        "get_site",
        "signed_ids",
        "signed_between",
        "on_date",
        "list_for_patient",
        "ids_for_patient",
        "reported_history",
        "signed_snapshot",
        "history",
        "follow_ups",
        "follow_ups_for_patient",
        "for_patient",
        "voided_ids",
        "void_of",
    },
    SqliteSettings: {"get"},
    SqliteUsers: {
        "get",
        "all",
        "count",
        "active_administrators",
        "password_hash",
        "failures_since_success",
        "recent_failures",
    },
    SqlitePki: {
        "authority",
        "account_key",
        "grant",
        "holders",
        "certificates",
        "active_certificate",
        "revocations",
        "request",
        "requests",
        "signed_note",
    },
    SqliteOutbox: {"pending", "for_procedure", "pending_count"},
    SqlitePainStrokes: {"strokes", "get_stroke"},
}


# ---- the source: every write inside the helper ----------------------------------------------


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name not in NOT_REPOSITORIES:
            yield path.name, ast.parse(path.read_text(encoding="utf-8"))


def _sql(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return _sql(node.values[0])
    return None


def _helper(item: ast.withitem) -> str | None:
    call = item.context_expr
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr in HELPERS
    ):
        return call.func.attr
    return None


@dataclass
class _Function:
    module: str
    name: str
    public_method: bool
    writes_outside: list[int] = field(default_factory=list)  # lines of bare write statements
    calls_outside: set[str] = field(default_factory=set)  # names called outside the helper


def _scan(module: str, function: ast.FunctionDef, public_method: bool) -> _Function:
    found = _Function(module, function.name, public_method)

    def walk(node: ast.AST, inside: bool) -> None:
        if isinstance(node, ast.With) and any(_helper(item) for item in node.items):
            inside = True
        text = _sql(node)
        if text is not None and WRITE.match(text) and not inside:
            found.writes_outside.append(node.lineno)  # type: ignore[attr-defined]
        if isinstance(node, ast.Call) and not inside:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name:
                found.calls_outside.add(name)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.JoinedStr):  # its parts are not statements
                walk(child, inside)
            else:
                walk_text(child, inside)

    def walk_text(node: ast.JoinedStr, inside: bool) -> None:
        text = _sql(node)
        if text is not None and WRITE.match(text) and not inside:
            found.writes_outside.append(node.lineno)

    for statement in function.body:
        walk(statement, False)
    return found


def _functions() -> list[_Function]:
    functions: list[_Function] = []
    for name, tree in _modules():
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions.append(_scan(name, node, public_method=False))
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        public = not item.name.startswith("_")
                        functions.append(_scan(name, item, public_method=public))
    return functions


def test_every_repository_write_is_inside_the_audited_write_helper() -> None:
    """A write statement outside `audited`/`unaudited` is allowed only in a private helper that
    every caller runs inside the helper (the rows of a procedure's preparations, a site)."""
    functions = _functions()
    # A public method that writes outside the helper is reported itself; the private helpers
    # (and module functions) are followed to their callers.
    helpers = {f.name for f in functions if f.writes_outside and not f.public_method}
    # A helper called outside the helper by another function is a write outside it too.
    changed = True
    while changed:
        changed = False
        for function in functions:
            private = not function.public_method
            if private and function.name not in helpers and function.calls_outside & helpers:
                helpers.add(function.name)
                changed = True
    offenders = sorted(
        f"{f.module}: {f.name}"
        for f in functions
        if f.public_method and (f.writes_outside or f.calls_outside & helpers)
    )
    assert offenders == [], f"writes outside AuditedWrites.audited/unaudited: {offenders}"
    assert "_insert_site" in helpers  # the check sees through helpers (it could fail)


def test_no_repository_records_audit_rows_or_opens_transactions_by_hand() -> None:
    offenders: list[str] = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = func.value if isinstance(func, ast.Attribute) else None
            through_writes = isinstance(owner, ast.Attribute) and owner.attr in {
                "_writes",
                "writes",
            }
            if called == "record" or (called == "transaction" and not through_writes):
                if name == "store.py" and called == "transaction":
                    continue  # the store defines the transaction the helper opens
                offenders.append(f"{name}:{node.lineno} {called}()")
    assert offenders == []


def test_every_unaudited_write_says_why() -> None:
    for name, tree in _modules():
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.withitem) and _helper(node) == "unaudited":
                call = node.context_expr
                assert isinstance(call, ast.Call), name
                assert len(call.args) == 1, name
                reason = call.args[0]
                text = constants.get(reason.id) if isinstance(reason, ast.Name) else _sql(reason)
                assert isinstance(text, str), f"{name}: {text!r}"
                assert len(text.split()) >= 4, f"{name}: {text!r}"


# ---- the behaviour: one audit row per change --------------------------------------------------


def _document() -> ProcedureDocument:
    return ProcedureDocument.model_validate(json.loads(REFERENCE.read_text()))


@dataclass
class Ledger:
    """What each write added to the trail (chained rows plus rows waiting for the key)."""

    store: Any  # a SqliteStore or a PostgresStore
    seen: list[tuple[str, str, int, int]] = field(default_factory=list)

    def rows(self) -> int:
        conn = self.store.conn
        chained = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        pending = conn.execute("SELECT count(*) FROM audit_pending").fetchone()[0]
        return int(chained) + int(pending)

    def run(self, repository: type, method: str, expected: int, call: Callable[[], Any]) -> Any:
        before = self.rows()
        result = call()
        self.seen.append((repository.__name__, method, expected, self.rows() - before))
        return result

    def exercised(self, repository: type) -> set[str]:
        return {method for name, method, _, _ in self.seen if name == repository.__name__}


@contextmanager
def _exercised(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Ledger]:
    store = open_store(engine, tmp_path, request)
    try:
        yield _exercise(Ledger(store))
    finally:
        store.close()


@pytest.fixture
def ledger(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Ledger]:
    with _exercised(engine, tmp_path, request) as exercised:
        yield exercised


@pytest.fixture
def file_ledger(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Ledger]:
    with _exercised("sqlite", tmp_path, request) as exercised:
        yield exercised


def _exercise(ledger: Ledger) -> Ledger:
    store, run = ledger.store, ledger.run
    doc = _document()
    patients, procedures = store.patients, store.procedures
    now = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)

    patient = run(SqlitePatients, "add", 1, lambda: patients.add(doc.patient, "ma"))
    renamed = doc.patient.model_copy(update={"given_name": "Anna"})
    run(SqlitePatients, "update", 1, lambda: patients.update(patient.id, renamed, "ma"))
    two_fields = renamed.model_copy(update={"given_name": "Ann", "family_name": "Okoro"})
    run(
        SqlitePatients,
        "update",
        2,  # per field: one row for each changed field
        lambda: patients.update(patient.id, two_fields, "ma", per_field=True),
    )

    unsigned = doc.procedure.model_copy(update={"status": "in_progress", "signature": None})
    record = run(SqliteProcedures, "add", 1, lambda: procedures.add(patient.id, unsigned, "ma"))
    pid = record.id
    header = record.procedure.model_copy(update={"pain_before": 5})
    record = run(
        SqliteProcedures, "update_header", 1, lambda: procedures.update_header(pid, header, "ma")
    )
    run(
        SqliteProcedures,
        "write_header",
        1,
        lambda: procedures.write_header(
            pid,
            patient.id,
            record.procedure,
            record.procedure.model_copy(update={"pain_before": 6}),
            record.version,
            "ma",
        ),
    )
    preparations = record.procedure.preparations
    run(
        SqliteProcedures,
        "set_preparations",
        1,
        lambda: procedures.set_preparations(pid, preparations, "ma"),
    )
    site = record.procedure.sites[0]
    added = run(SqliteProcedures, "add_site", 1, lambda: procedures.add_site(pid, site, "ma"))
    moved = site.model_copy(update={"volume_ml": 0.5})
    run(SqliteProcedures, "update_site", 1, lambda: procedures.update_site(added.id, moved, "ma"))
    run(
        SqliteProcedures,
        "set_site_removed",
        1,
        lambda: procedures.set_site_removed(added.id, True, "ma"),
    )
    appended = run(
        SqliteProcedures,
        "append_site",
        1,
        lambda: procedures.append_site(pid, patient.id, site, "dr"),
    )
    written = run(
        SqliteProcedures,
        "write_site",
        1,
        lambda: procedures.write_site(appended, moved, patient.id, "dr"),
    )
    run(
        SqliteProcedures,
        "mark_site_removed",
        1,
        lambda: procedures.mark_site_removed(written, True, patient.id, "dr"),
    )
    follow_up = FollowUp(measured_on="2026-12-01", relief_percent=50)
    run(
        SqliteProcedures,
        "add_follow_up",
        1,
        lambda: procedures.add_follow_up(pid, follow_up, "ma", now.isoformat()),
    )

    strokes = store.pain_strokes
    stroke = PainStroke(view="posterior", intensity=2, points=((0.5, 0.2), (0.52, 0.24)))
    drawn = run(SqlitePainStrokes, "add_stroke", 1, lambda: strokes.add_stroke(pid, stroke, "dr"))
    run(
        SqlitePainStrokes,
        "set_stroke_removed",
        1,
        lambda: strokes.set_stroke_removed(drawn.id, True, "dr"),
    )

    signature = Signature(
        signed_by="Dr. Alex Chen, MD",
        signed_at="2026-11-20T10:00:00-07:00",
        content_hash=content_hash(doc),  # storage keeps the hash; the services compute it
    )
    run(SqliteProcedures, "sign", 1, lambda: procedures.sign(pid, signature, "dr"))
    addendum = Addendum(text="Late entry.", author="Dr. Chen", at="2026-11-21T08:00:00-07:00")
    run(SqliteProcedures, "add_addendum", 1, lambda: procedures.add_addendum(pid, addendum, "dr"))
    other = procedures.add(patient.id, unsigned, "ma")
    run(
        SqliteProcedures,
        "void",
        1,
        lambda: procedures.void(other.id, "wrong patient", "dr", now.isoformat()),
    )
    run(SqliteSettings, "set", 1, lambda: store.settings.set("clinic_name", "Riverside", "admin"))

    users = store.users
    account = User(username="rivera", display_name="M. Rivera", roles=frozenset({"assistant"}))
    run(SqliteUsers, "create", 1, lambda: users.create(account, "$argon2id$x", by="admin", at=now))
    renamed_account = account.model_copy(update={"display_name": "Maria Rivera"})
    run(SqliteUsers, "update", 1, lambda: users.update(renamed_account, by="admin"))
    run(
        SqliteUsers,
        "set_password_hash",
        1,
        lambda: users.set_password_hash("rivera", "$argon2id$y", by="rivera", at=now),
    )
    run(
        SqliteUsers,
        "set_password_hash",
        0,  # the same password rehashed with today's parameters is not a change
        lambda: users.set_password_hash("rivera", "$argon2id$z", by="rivera", at=now, audit=False),
    )
    run(
        SqliteUsers,
        "record_login",
        1,
        lambda: users.record_login("rivera", success=True, at=now, detail={}),
    )

    pki = store.pki
    run(SqlitePki, "create_authority", 1, lambda: pki.create_authority(b"der", "admin", "ab"))
    run(SqlitePki, "put_account_key", 0, lambda: pki.put_account_key("rivera", b"pk", "wrapped"))
    run(SqlitePki, "rewrap_account_key", 0, lambda: pki.rewrap_account_key("rivera", "again"))
    run(SqlitePki, "put_grant", 1, lambda: pki.put_grant("other", "rivera", "sealed", "admin"))
    run(SqlitePki, "drop_grant", 1, lambda: pki.drop_grant("other", "rivera", "admin"))
    run(SqlitePki, "drop_grant", 0, lambda: pki.drop_grant("other", "rivera", "admin"))
    run(SqlitePki, "put_request", 0, lambda: pki.put_request("chen", b"pk", "sealed"))
    run(
        SqlitePki,
        "add_certificate",
        1,
        lambda: pki.add_certificate("01", "chen", b"der", "sealed", "admin"),
    )
    run(SqlitePki, "revoke", 1, lambda: pki.revoke("01", "key lost", "admin", now))
    run(SqlitePki, "put_signed_note", 0, lambda: pki.put_signed_note(pid, b"%PDF", 1, "{}", "dr"))

    outbox = store.outbox
    run(SqliteOutbox, "enqueue", 0, lambda: outbox.enqueue(pid, "signed", ("fhir",)))
    item = outbox.pending()[0].id
    run(SqliteOutbox, "mark_failed", 0, lambda: outbox.mark_failed(item, "folder missing"))
    run(SqliteOutbox, "mark_sent", 0, lambda: outbox.mark_sent(item, ("note.json",)))
    return ledger


def test_each_write_adds_one_audit_row_per_change(ledger: Ledger) -> None:
    wrong = [
        f"{name}.{method}: {added} audit rows, expected {expected}"
        for name, method, expected, added in ledger.seen
        if added != expected
    ]
    assert wrong == []
    assert ledger.store.audit.verify().ok


def _public_methods(repository: type) -> set[str]:
    return {
        name
        for name in dir(repository)
        if not name.startswith("_") and callable(getattr(repository, name))
    }


@pytest.mark.parametrize("repository", sorted(READS, key=lambda cls: cls.__name__))
def test_every_public_method_is_classified(repository: type, file_ledger: Ledger) -> None:
    """Each public method is a read or a write exercised above: a new write cannot be added
    without saying how many audit rows it makes."""
    exercised = file_ledger.exercised(repository)
    assert _public_methods(repository) == READS[repository] | exercised
    assert not READS[repository] & exercised
