"""The charting loop as operations (issue 16 item 1, issue 15 item 3), without Qt: every role ×
every operation is allowed or refused by the service itself; the defaults the window used to
decide; the status machine; `Changes` agrees with what is stored; and a click costs at most 5
SQL statements, a twitch key at most 8 (one more on PostgreSQL: the audit head row lock). Every
test runs on a SQLite file and on a PostgreSQL server (the `engine` parameter)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import add_accounts, sign_in
from tests.conftest import use_cheap_argon2
from tests.engines import clinic_database, copy_clinic, keep_clinic
from tests.unit.auth_support import REFERENCE
from tests.unit.test_permissions_matrix import PEOPLE, data_rows, denials
from tpi_chart.domain.models import Consent, Site
from tpi_chart.domain.rules import evaluate
from tpi_chart.services.access import PermissionDenied
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import InvalidInput, ProcedureLocked, StaleEdit
from tpi_chart.services.operations import Changes, ChartingOps

P, A, M = "physician", "assistant", "administrator"


@dataclasses.dataclass(frozen=True)
class Ids:
    patient: int
    draft: int  # in progress with a time-out: injected sites and one planned
    planned_site: int
    injected_site: int
    fresh: int  # planned, consent recorded, one planned site, no time-out
    fresh_site: int
    removed_site: int  # a planned site of `fresh`, removed
    signed: int


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def template(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> tuple[Path, str | None, Ids]:
    folder = tmp_path_factory.mktemp("ops")
    db = clinic_database(engine, folder, request)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPI_CHART_KEY_DIR", str(folder / "keys"))
        use_cheap_argon2(patch)
        add_accounts(db)  # type: ignore[arg-type]
        with open_services(db) as opened:
            services = sign_in(opened, "chen")
            copies = []
            for number in range(2):
                data = json.loads(REFERENCE.read_text())
                data["procedure"]["notes"] = f"copy {number}"
                copy = folder / f"reference-{number}.json"
                copy.write_text(json.dumps(data))
                copies.append(copy)
            draft, signed = services.documents.import_documents(copies)
            charting = services.charting
            patient = charting.get(draft).patient_id
            planned = charting.add_site(
                draft, Site(muscle="levator_scapulae", side="left", state="planned")
            ).id
            injected = charting.get(draft).site_ids[0]
            acks = dict.fromkeys(services.signing.readiness(signed).codes_to_acknowledge, "ok")
            services.signing.sign(signed, services.user, acks)
            moment = charting.get(draft).procedure.performed_at + timedelta(days=14)
            fresh = charting.copy_forward(patient, moment).id
            consent = charting.get(draft).procedure.consent
            charting.update(fresh, {"consent": consent})
            sites = charting.get(fresh).site_ids
            charting.remove_site(sites[-1])
    saved = keep_clinic(engine, request, "ops")
    ids = Ids(patient, draft, planned, injected, fresh, sites[0], sites[-1], signed)
    return folder, saved, ids


@pytest.fixture
def clinic(
    template: tuple[Path, str | None, Ids],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> tuple[Path | str, Ids]:
    source, saved, ids = template
    folder = tmp_path / "clinic"
    shutil.copytree(source, folder)
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(folder / "keys"))
    return (folder / "clinic.db" if saved is None else copy_clinic(saved, request)), ids


@contextmanager
def signed_in(db: Path | str, role: str) -> Iterator[Services]:
    with open_services(db) as opened:
        person = PEOPLE[role]
        yield sign_in(opened, person) if isinstance(person, str) else opened.as_user(person)


Operation = Callable[[ChartingOps, Ids], Any]
EVERYONE = {P: True, A: True, M: True}
PHYSICIANS = {P: True, A: False, M: False}
NEW_SITE = Site(muscle="infraspinatus", side="left", state="planned")

OPERATIONS: dict[str, tuple[Operation, dict[str, bool]]] = {
    "open": (lambda o, i: o.open(i.draft), EVERYONE),
    "plan_site": (lambda o, i: o.plan_site(i.fresh, NEW_SITE), EVERYONE),
    "inject_site (a planned site)": (
        lambda o, i: o.inject_site(i.draft, i.planned_site),
        PHYSICIANS,
    ),
    "inject_site (a new site)": (lambda o, i: o.inject_site(i.draft, NEW_SITE), PHYSICIANS),
    "update_site (note on a planned site)": (
        lambda o, i: o.update_site(i.planned_site, {"notes": "tender"}),
        EVERYONE,
    ),
    "update_site (twitch on an injected site)": (
        lambda o, i: o.update_site(i.injected_site, {"twitch": "none"}),
        PHYSICIANS,
    ),
    "update_site (inject by twitch)": (
        lambda o, i: o.update_site(i.planned_site, {"state": "injected", "twitch": "brisk"}),
        PHYSICIANS,
    ),
    "remove_site (planned)": (lambda o, i: o.remove_site(i.planned_site), EVERYONE),
    "remove_site (injected)": (lambda o, i: o.remove_site(i.injected_site), PHYSICIANS),
    "restore_site (planned)": (lambda o, i: o.restore_site(i.removed_site), EVERYONE),
    "record_time_out": (lambda o, i: o.record_time_out(i.fresh, site_marked=True), PHYSICIANS),
    "update_header (pain)": (lambda o, i: o.update_header(i.draft, {"pain_after": 1}), EVERYONE),
    "update_header (undo the time-out)": (
        lambda o, i: o.update_header(i.draft, {"time_out": None}),
        PHYSICIANS,
    ),
}


@pytest.mark.parametrize("role", sorted(PEOPLE))
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_role_and_operation(
    clinic: tuple[Path | str, Ids], operation: str, role: str
) -> None:
    db, ids = clinic
    run, expected = OPERATIONS[operation]
    allowed = expected.get(role, False)
    with signed_in(db, role) as services:
        person = services.user
        before = data_rows(db)
        if allowed:
            changes = run(services.ops, ids)
            assert isinstance(changes, Changes)
        else:
            with pytest.raises(PermissionDenied) as refused:
                run(services.ops, ids)
            assert person.display_name in str(refused.value)
    if not allowed:
        assert data_rows(db) == before
        assert [user for user, _ in denials(db)] == [person.username]
    else:
        assert denials(db) == []
        if operation != "open":
            assert data_rows(db) != before


def test_an_assistant_is_refused_injecting_and_the_time_out(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, A) as services:
        with pytest.raises(PermissionDenied, match="only a physician can chart"):
            services.ops.inject_site(ids.draft, ids.planned_site)
        with pytest.raises(PermissionDenied, match="only a physician can chart"):
            services.ops.record_time_out(ids.fresh, site_marked=True)


# ---- behaviour ---------------------------------------------------------------------------------

FIXED = datetime.fromisoformat("2026-12-04T10:20:30-07:00")


def _ops(services: Services) -> ChartingOps:
    return ChartingOps(services.store, services.user, clock=lambda: FIXED)


def _agrees_with_the_store(services: Services, changes: Changes) -> None:
    """What the window would show from `changes` is what a fresh read finds."""
    stored = services.charting.get(changes.procedure_id)
    assert changes.procedure.procedure == stored.procedure
    assert changes.procedure.site_ids == stored.site_ids
    assert changes.procedure.site_versions == stored.site_versions
    assert changes.procedure.version == stored.version
    assert changes.evaluation == evaluate(services.charting.document(changes.procedure_id))


def test_inject_takes_the_plan_volume_the_first_syringe_and_the_clock(
    clinic: tuple[Path | str, Ids],
) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        ops.update_site(ids.planned_site, {"volume_ml": 0.7})
        changes = ops.inject_site(ids.draft, ids.planned_site)
        site = changes.site
        assert site is not None
        assert site.id == ids.planned_site
        assert site.site.state == "injected"
        assert site.site.volume_ml == 0.7  # the plan's
        assert site.site.preparation == "A"  # the first syringe
        assert site.site.injected_at == FIXED
        assert changes.parts == {"sites"}  # already in progress: the status is not touched
        _agrees_with_the_store(services, changes)


def test_inject_without_a_planned_volume_takes_the_last_injected_one(
    clinic: tuple[Path | str, Ids],
) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        stored = ops.open(ids.draft).procedure.stored_sites()
        last = [s for s in stored if s.site.state == "injected"][-1]
        ops.update_site(last.id, {"volume_ml": 0.9})
        ops.update_site(ids.planned_site, {"volume_ml": None})
        changes = ops.inject_site(ids.draft, ids.planned_site)
        assert changes.site is not None
        assert changes.site.site.volume_ml == 0.9
        _agrees_with_the_store(services, changes)


def test_a_placed_site_takes_the_last_injected_syringe_and_volume(
    clinic: tuple[Path | str, Ids],
) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        ops.update_site(ids.injected_site, {"volume_ml": 0.3})
        stored = ops.open(ids.draft).procedure.stored_sites()
        last = [s for s in stored if s.site.state == "injected"][-1].site
        changes = ops.plan_site(ids.draft, NEW_SITE)
        assert changes.site is not None
        assert changes.site.number == len(stored) + 1
        assert (changes.site.site.volume_ml, changes.site.site.preparation) == (
            last.volume_ml,
            last.preparation,
        )
        _agrees_with_the_store(services, changes)


def test_the_first_injection_starts_the_procedure_and_dates_it(
    clinic: tuple[Path | str, Ids],
) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        opened = ops.open(ids.fresh)
        planned_for = opened.procedure.procedure.performed_at
        assert opened.procedure.procedure.status == "planned"
        changes = ops.inject_site(ids.fresh, ids.fresh_site)
        procedure = changes.procedure.procedure
        assert changes.parts == {"sites", "header", "status"}
        assert procedure.status == "in_progress"
        assert procedure.performed_at == FIXED
        assert procedure.planned_at == planned_for
        _agrees_with_the_store(services, changes)


def test_the_time_out_starts_the_procedure_once(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        changes = ops.record_time_out(ids.fresh, site_marked=True)
        procedure = changes.procedure.procedure
        assert {"header", "status", "time_out"} <= changes.parts
        assert procedure.status == "in_progress"
        assert procedure.time_out is not None
        assert procedure.time_out.performed_by == services.user.display_name
        assert procedure.time_out.at == FIXED == procedure.performed_at
        _agrees_with_the_store(services, changes)
        rows = data_rows(db)
        with pytest.raises(InvalidInput, match=r"procedure\.time_out: already recorded"):
            ops.record_time_out(ids.fresh, site_marked=False)
        assert data_rows(db) == rows
        # Undone (a physician), the status goes back through the state machine.
        undone = ops.update_header(
            ids.fresh,
            {
                "time_out": None,
                "status": "planned",
                "performed_at": procedure.planned_at,
                "planned_at": None,
            },
        )
        assert undone.procedure.procedure.status == "planned"
        _agrees_with_the_store(services, undone)


def test_the_time_out_needs_consent(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        ops.update_header(ids.fresh, {"consent": Consent(obtained=False)})
        rows = data_rows(db)
        with pytest.raises(InvalidInput, match=r"procedure\.time_out"):
            ops.record_time_out(ids.fresh, site_marked=True)
        assert data_rows(db) == rows


def test_a_status_the_machine_refuses_is_not_stored(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        rows = data_rows(db)
        for status in ("signed", "external"):
            with pytest.raises(InvalidInput, match="status"):
                services.ops.update_header(ids.draft, {"status": status})
            with pytest.raises(InvalidInput, match="status"):
                services.charting.update(ids.draft, {"status": status})
        assert data_rows(db) == rows


def test_remove_and_restore_renumber_and_agree_with_the_store(
    clinic: tuple[Path | str, Ids],
) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        opened = ops.open(ids.draft)
        first, second = opened.procedure.site_ids[:2]
        removed = ops.remove_site(first)
        assert removed.removed == (first,)
        assert removed.sites[0].id == second
        assert removed.sites[0].number == 1
        _agrees_with_the_store(services, removed)
        restored = ops.restore_site(first)
        assert restored.sites[0].id == first
        assert restored.sites[0].number == 1
        assert restored.procedure.site_ids == opened.procedure.site_ids
        _agrees_with_the_store(services, restored)


def test_changes_are_immutable(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        changes = services.ops.open(ids.draft)
        with pytest.raises(dataclasses.FrozenInstanceError):
            changes.parts = frozenset()  # type: ignore[misc]


def test_a_signed_procedure_refuses_every_operation(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        rows = data_rows(db)
        site = services.charting.get(ids.signed).site_ids[0]
        for attempt in (
            lambda: services.ops.plan_site(ids.signed, NEW_SITE),
            lambda: services.ops.update_site(site, {"twitch": "none"}),
            lambda: services.ops.remove_site(site),
            lambda: services.ops.update_header(ids.signed, {"pain_after": 0}),
        ):
            with pytest.raises(ProcedureLocked, match="signed"):
                attempt()
        assert data_rows(db) == rows


def test_a_change_saved_elsewhere_is_not_overwritten(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        mine = _ops(services)
        mine.open(ids.draft)
        elsewhere = _ops(services)
        elsewhere.update_site(ids.injected_site, {"notes": "from the other workstation"})
        rows = data_rows(db)
        with pytest.raises(StaleEdit) as stale:
            mine.update_site(ids.injected_site, {"twitch": "none"})
        assert "site.notes" in stale.value.changed
        assert data_rows(db) == rows
        # Re-read after the refusal: the same key now works on the current record.
        changes = mine.update_site(ids.injected_site, {"twitch": "none"})
        assert changes.site is not None
        assert changes.site.site.notes == "from the other workstation"
        _agrees_with_the_store(services, changes)


def test_bad_input_names_the_field_and_stores_nothing(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        rows = data_rows(db)
        with pytest.raises(InvalidInput, match=r"site\.preparation"):
            services.ops.update_site(ids.planned_site, {"preparation": "Z"})
        with pytest.raises(InvalidInput, match=r"site\.volume_ml"):
            services.ops.update_site(ids.planned_site, {"volume_ml": -1})
        assert data_rows(db) == rows


# ---- SQL statements per click (issue 15 item 3) ------------------------------------------------


@contextmanager
def counted(services: Services) -> Iterator[list[str]]:
    """The statements run meanwhile. SQLite reports the subprograms of a statement (each trigger
    it fires, the signed-record guards; a pragma function) again, under the statement's text or
    as `-- …`: those are part of the one statement. On PostgreSQL each entry is a round trip to
    the server: BEGIN, the audit head row lock, each statement, COMMIT."""
    statements: list[str] = []
    store: Any = services.store
    if not isinstance(store.conn, sqlite3.Connection):
        with _server_round_trips(store.pg, statements):
            yield statements
        return
    traced: list[str] = []
    conn = store.conn
    conn.set_trace_callback(traced.append)
    try:
        yield statements
    finally:
        conn.set_trace_callback(None)
        for text in traced:
            if not text.startswith("-- ") and (not statements or statements[-1] != text):
                statements.append(text)


@contextmanager
def _server_round_trips(pg: Any, statements: list[str]) -> Iterator[None]:
    run, begin, commit = pg._run, pg.begin, pg.commit

    def running(conn: Any, sql: str, params: Any) -> Any:
        statements.append(sql)
        return run(conn, sql, params)

    def beginning() -> None:
        statements.extend(["BEGIN", "SELECT 1 FROM audit_head … FOR UPDATE"])
        begin()

    def committing() -> None:
        statements.append("COMMIT")
        commit()

    pg._run, pg.begin, pg.commit = running, beginning, committing
    try:
        yield
    finally:
        del pg._run, pg.begin, pg.commit


def _limit(services: Services, sqlite: int) -> int:
    """A bound on statements: SQLite's, plus the head row lock's round trip on the server."""
    return sqlite if isinstance(services.db_path, Path) else sqlite + 1


def _anchor(services: Services) -> list[str]:
    """What follows COMMIT: SQLite's anchor size query; nothing on the server (no anchor)."""
    return [ANCHOR] if isinstance(services.db_path, Path) else []


#: After the commit, the audit anchor beside the key records the database's size (one pragma
#: query); it is a detection aid written after "Saved", not part of the change.
ANCHOR = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"


def _split(statements: list[str]) -> tuple[list[str], list[str]]:
    end = statements.index("COMMIT") + 1
    return statements[:end], statements[end:]


def test_a_diagram_click_costs_at_most_five_statements(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        ops.open(ids.draft)
        with counted(services) as planning:
            ops.plan_site(ids.draft, NEW_SITE)
        with counted(services) as injecting:
            ops.inject_site(ids.draft, NEW_SITE.model_copy(update={"side": "right"}))
        with counted(services) as marking:
            ops.inject_site(ids.draft, ids.planned_site)
        limit, anchor = _limit(services, 5), _anchor(services)
    for statements in (planning, injecting, marking):
        change, after = _split(statements)
        assert len(change) <= limit, "\n".join(s[:70] for s in statements)
        assert change[0] in ("BEGIN IMMEDIATE", "BEGIN")
        assert after == anchor


def test_a_twitch_key_costs_at_most_eight_statements(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        opened = ops.open(ids.draft).procedure.stored_sites()
        now = next(s.site.twitch for s in opened if s.id == ids.injected_site)
        with counted(services) as twitch:
            ops.update_site(ids.injected_site, {"twitch": "weak" if now != "weak" else "none"})
        with counted(services) as inject_by_twitch:
            ops.update_site(ids.planned_site, {"state": "injected", "twitch": "weak"})
        limits, anchor = (_limit(services, 8), _limit(services, 5)), _anchor(services)
    for statements in (twitch, inject_by_twitch):
        assert len(statements) <= limits[0], "\n".join(s[:70] for s in statements)
        change, after = _split(statements)
        assert len(change) <= limits[1]
        assert after == anchor


def test_undone_sites_do_not_slow_the_next_click(clinic: tuple[Path | str, Ids]) -> None:
    """200 placements undone: the next placement costs the same statements as the first."""
    db, ids = clinic
    with signed_in(db, P) as services:
        ops = _ops(services)
        ops.open(ids.fresh)
        with counted(services) as first:
            placed = ops.plan_site(ids.fresh, NEW_SITE)
        assert placed.site is not None
        ops.remove_site(placed.site.id)
        for _ in range(200):
            again = ops.plan_site(ids.fresh, NEW_SITE)
            assert again.site is not None
            ops.remove_site(again.site.id)
        with counted(services) as later:
            last = ops.plan_site(ids.fresh, NEW_SITE)
        assert len(later) == len(first)
        assert len(_split(later)[0]) <= _limit(services, 5)
        assert last.site is not None
        assert last.site.number == len(last.procedure.site_ids)
        _agrees_with_the_store(services, last)


# ---- signing files the note (issue 16 item 1: "signed but not filed" is never silent) ----------


def test_signing_queues_the_filing_in_the_same_transaction(clinic: tuple[Path | str, Ids]) -> None:
    db, ids = clinic
    with signed_in(db, P) as services:
        # The template's signed note was queued when it was signed, before anything was sent.
        queued = [
            (i.event, i.format, i.status) for i in services.store.outbox.for_procedure(ids.signed)
        ]
        assert queued == [("signed", "pdf", "pending"), ("signed", "json", "pending")]
        # A refused signature queues nothing.
        with pytest.raises(Exception, match="sign"):
            services.signing.sign(ids.fresh, services.user, {})
        assert services.store.outbox.for_procedure(ids.fresh) == []
        # An addendum is filed again, in its own transaction.
        services.signing.add_addendum(ids.signed, services.user, "Late entry: no bruising.")
        events = [(i.event, i.format) for i in services.store.outbox.for_procedure(ids.signed)]
        assert events[-2:] == [("addendum-1", "pdf"), ("addendum-1", "json")]


def test_a_failing_outbox_leaves_the_procedure_unsigned(
    clinic: tuple[Path | str, Ids], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queueing the filing is part of signing: if it cannot be stored, nothing is signed."""
    db, ids = clinic
    with signed_in(db, P) as services:
        services.charting.remove_site(ids.planned_site)
        acks = dict.fromkeys(services.signing.readiness(ids.draft).codes_to_acknowledge, "ok")

        def broken(*_args: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(services.store.outbox, "enqueue", broken)
        with pytest.raises(OSError, match="disk full"):
            services.signing.sign(ids.draft, services.user, acks)
        assert services.charting.get(ids.draft).procedure.signature is None


def test_a_pain_stroke_reaches_the_held_document(clinic: tuple[Path | str, Ids]) -> None:
    """Pain strokes have their own service calls; the operations then take the stored drawing
    (what the forms, the rules and the note read), and the next header edit keeps it."""
    from tpi_chart.domain.models import PainStroke

    db, ids = clinic
    with signed_in(db, A) as services:
        ops = _ops(services)
        ops.open(ids.fresh)
        stroke = PainStroke(view="posterior", points=((0.4, 0.3), (0.45, 0.32)))
        services.charting.add_pain_stroke(ids.fresh, stroke)
        changes = ops.pain_changed(ids.fresh)
        drawing = changes.procedure.procedure.pain_drawing
        assert drawing is not None
        assert drawing.strokes == (stroke,)
        assert ops.document(ids.fresh).procedure.pain_drawing == drawing
        after = ops.update_header(ids.fresh, {"pain_before": 6})
        _agrees_with_the_store(services, after)
