"""Several rooms on one clinic server (issue 18 §3): leases refuse another room's writes in the
database, lapse when their holder stops renewing them, and every committed change (never a
rolled-back one) is announced to the other rooms, by LISTEN or by polling; a stale save names
who changed the record and when."""

from __future__ import annotations

import queue
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accounts import signing_physician
from tests.engines import database
from tests.unit.test_services import reference
from tests.users import ASSISTANT, PHYSICIAN
from tpi_chart.domain.models import Site
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import ProcedureInUse, StaleEdit
from tpi_chart.services.live import LiveService, Notice, held_elsewhere, workstation_room
from tpi_chart.storage.errors import LeaseHeld


def _clinic(url: str) -> tuple[Services, Services, int, int]:
    front = open_services(url, ASSISTANT)
    room = open_services(url, PHYSICIAN)
    doc = reference()
    patient = front.patients.create(doc.patient)
    procedure = room.charting.create(patient.id, doc.procedure.model_copy(update={"sites": ()}))
    return front, room, patient.id, procedure.id


@pytest.fixture
def rooms(pg_url: str) -> Iterator[tuple[Services, Services, int, int]]:
    front, room, patient_id, procedure_id = _clinic(pg_url)
    front.live.room, room.live.room = "Front desk", "Room 2"
    yield front, room, patient_id, procedure_id
    front.close()
    room.close()


def test_a_file_has_one_window_so_every_lease_is_granted(tmp_path: Path) -> None:
    with open_services(tmp_path / "clinic.db", PHYSICIAN) as services:
        assert not services.live.shared
        assert services.live.hold(1) is None
        listening = services.live.listen(lambda notice: None)
        assert not listening.polling
        listening.stop()


def test_another_rooms_lease_makes_the_procedure_read_only_in_the_database(
    rooms: tuple[Services, Services, int, int],
) -> None:
    front, room, _patient_id, procedure_id = rooms
    assert room.live.hold(procedure_id) is None  # Room 2 opens it first
    held = front.live.hold(procedure_id)
    assert held is not None
    assert (held.room, held.display_name) == ("Room 2", "Dr. Alex Chen, MD")
    assert held_elsewhere(held) == (
        "Open in Room 2 by Dr. Alex Chen, MD — read-only until they close it."
    )
    audit_rows = len(front.store.audit.rows())
    site = Site(muscle="upper_trapezius", side="left", state="planned")
    with pytest.raises(ProcedureInUse, match=re.escape("open in Room 2 by Dr. Alex Chen, MD")):
        front.ops.plan_site(procedure_id, site)
    with pytest.raises(LeaseHeld, match="nothing was saved"):  # not only the operations
        front.charting.update(procedure_id, {"pain_before": 4})
    assert front.charting.get(procedure_id).procedure.sites == ()
    assert len(front.store.audit.rows()) == audit_rows
    assert room.ops.plan_site(procedure_id, site).site is not None  # the holder writes
    room.live.release(procedure_id)
    assert front.live.hold(procedure_id) is None  # released: the front desk may chart now
    assert front.ops.plan_site(
        procedure_id, Site(muscle="levator_scapulae", side="left", state="planned")
    )


def test_a_lease_lapses_when_its_holder_stops_renewing_it(
    rooms: tuple[Services, Services, int, int],
) -> None:
    front, room, _patient_id, procedure_id = rooms
    # The same service with a lease of 0.3 s instead of 30 (the heartbeat is the window's).
    short = LiveService(room.store, PHYSICIAN, "Room 2", seconds=0.3)
    assert short.hold(procedure_id) is None
    assert front.live.hold(procedure_id) is not None
    time.sleep(0.4)  # Room 2's app died: no heartbeat
    assert front.live.hold(procedure_id) is None  # lapsed: taken over
    taken = short.keep(procedure_id)  # Room 2 comes back: the procedure is read-only there now
    assert taken is not None
    assert taken.room == "Front desk"
    with pytest.raises(ProcedureInUse):
        room.ops.plan_site(
            procedure_id, Site(muscle="upper_trapezius", side="left", state="planned")
        )


@pytest.mark.parametrize("listen", [True, False], ids=["listen", "poll"])
def test_committed_changes_reach_the_other_room_and_not_the_writer(
    rooms: tuple[Services, Services, int, int], listen: bool
) -> None:
    front, room, patient_id, procedure_id = rooms
    store: Any = room.store
    store.live.listen_for_notices = listen  # False: as on a server that refuses LISTEN
    heard: queue.Queue[Notice] = queue.Queue()
    mine: queue.Queue[Notice] = queue.Queue()
    listening = room.live.listen(heard.put)
    own = front.live.listen(mine.put)
    try:
        assert listening.polling is not listen
        assert listening.wait_ready(10)
        assert own.wait_ready(10)
        started = time.monotonic()
        front.ops.plan_site(
            procedure_id, Site(muscle="upper_trapezius", side="left", state="planned")
        )
        notice = heard.get(timeout=2.0)
        assert time.monotonic() - started < 1.5
        assert (notice.patient_id, notice.procedure_id) == (patient_id, procedure_id)
        assert room.live.hold(procedure_id) is None  # Room 2 takes the lease
        # A write the database refuses rolls back, and a rolled-back write announces nothing.
        with pytest.raises(ProcedureInUse):
            front.ops.plan_site(
                procedure_id, Site(muscle="levator_scapulae", side="left", state="planned")
            )
        time.sleep(1.3)
        assert heard.empty()  # nor is Room 2's own lease announced to Room 2
        lease = mine.get(timeout=1.0)  # the front desk hears Room 2 take it …
        assert lease.lease
        assert lease.procedure_id == procedure_id
        assert mine.empty()  # … and nothing of its own writes
    finally:
        listening.stop()
        own.stop()


def test_a_stale_save_names_who_changed_the_record_and_when(
    rooms: tuple[Services, Services, int, int],
) -> None:
    front, room, _patient_id, procedure_id = rooms
    signing_physician(room)  # Dr. Chen's account: the audit names its username
    base = front.charting.get(procedure_id)
    room.charting.update(procedure_id, {"pain_before": 6}, base=room.charting.get(procedure_id))
    with pytest.raises(StaleEdit) as refused:
        front.charting.update(procedure_id, {"pain_after": 1}, base=base)
    assert refused.value.by == "Dr. Alex Chen, MD"
    assert refused.value.at is not None
    local = refused.value.at.astimezone()
    assert f"was changed by Dr. Alex Chen, MD at {local:%H:%M}" in str(refused.value)
    assert "Reload to see the current record" in str(refused.value)


def test_a_stale_save_on_a_file_names_the_author_too(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = database(engine, tmp_path, request)
    front = open_services(url, PHYSICIAN)
    try:
        signing_physician(front)
        doc = reference()
        patient = front.patients.create(doc.patient)
        base = front.patients.get(patient.id)
        other = front.patients.get(patient.id)
        front.patients.update(
            patient.id, other.patient.model_copy(update={"weight_kg": 70}), base=other
        )
        with pytest.raises(StaleEdit, match=re.escape("changed by Dr. Alex Chen, MD at")):
            front.patients.update(
                patient.id, base.patient.model_copy(update={"weight_kg": 71}), base=base
            )
    finally:
        front.close()


def test_the_room_is_the_command_lines_then_the_environments_then_the_saved_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TPI_CHART_ROOM", raising=False)
    assert workstation_room() == socket.gethostname().split(".")[0]
    assert workstation_room(None, " Room 3 ") == "Room 3"
    monkeypatch.setenv("TPI_CHART_ROOM", "Room 2")
    assert workstation_room(None, "Room 3") == "Room 2"
    assert workstation_room("Front desk", "Room 3") == "Front desk"
    assert workstation_room("  ", None) == "Room 2"  # blank is not a name
    assert len(workstation_room("x" * 100)) == 40


def test_a_clinic_at_schema_1_is_upgraded_in_place_when_a_room_opens_it(pg_server: Any) -> None:
    import psycopg

    from tpi_chart.storage.postgres.migrations import SCHEMA_VERSION
    from tpi_chart.storage.postgres.schema import connect, current_version, migrate

    with psycopg.connect(pg_server.url(), autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS tpi_schema_one WITH (FORCE)")
        admin.execute("CREATE DATABASE tpi_schema_one")
    url = pg_server.url("tpi_schema_one")
    with connect(url) as conn:
        assert migrate(conn, target=1) == 1  # as the first server version left it
    front, room, _patient_id, procedure_id = _clinic(url)  # opening upgrades it
    try:
        with connect(url) as conn:
            assert current_version(conn) == SCHEMA_VERSION
        assert room.live.hold(procedure_id) is None
        assert front.live.hold(procedure_id) is not None
    finally:
        front.close()
        room.close()


def _create_then_fail(services: Services) -> None:
    with services.store.transaction():
        services.patients.create(reference().patient.model_copy(update={"mrn": "R-1"}))
        raise RuntimeError("the rest of this transaction failed")


def test_a_row_rolled_back_here_does_not_hide_the_next_rooms_row_of_the_same_number(
    rooms: tuple[Services, Services, int, int],
) -> None:
    front, room, _patient_id, _procedure_id = rooms
    heard: queue.Queue[Notice] = queue.Queue()
    listening = front.live.listen(heard.put)
    try:
        assert listening.wait_ready(10)
        (last_seq,) = [row.seq for row in front.store.audit.rows()][-1:]
        with pytest.raises(RuntimeError):
            _create_then_fail(front)
        room.patients.create(reference().patient.model_copy(update={"mrn": "R-2"}))
        notice = heard.get(timeout=2.0)  # Room 2's row took the seq the rollback left free
        assert [row.seq for row in room.store.audit.rows()][-1] == last_seq + 1
        assert notice.patient_id == room.patients.by_mrn("R-2").id  # type: ignore[union-attr]
    finally:
        listening.stop()


def test_a_dropped_listener_reconnects_and_says_anything_may_have_changed(
    rooms: tuple[Services, Services, int, int], pg_url: str
) -> None:
    import psycopg

    front, room, patient_id, procedure_id = rooms
    heard: queue.Queue[Notice] = queue.Queue()
    listening = room.live.listen(heard.put)
    try:
        assert listening.wait_ready(10)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            (ended,) = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE query LIKE 'LISTEN%'"
            ).fetchone() or (0,)
        assert ended == 1
        assert heard.get(timeout=3.0) == Notice()  # what happened meanwhile is unknown
        assert listening.wait_ready(10)  # listening again
        front.ops.plan_site(
            procedure_id, Site(muscle="upper_trapezius", side="left", state="planned")
        )
        notice = heard.get(timeout=2.0)
        assert (notice.patient_id, notice.procedure_id) == (patient_id, procedure_id)
    finally:
        listening.stop()
