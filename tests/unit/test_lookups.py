"""Reads by index (issue 15): a patient's whole history in a fixed number of SQL statements, and
patient search through the trigram index, each compared with the per-visit reads and the full
scan they replace, on generated data."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.users import staff
from tpi_chart.domain.models import (
    Component,
    FollowUp,
    PainDrawing,
    Patient,
    Preparation,
    Procedure,
    Site,
)
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.history import HistoryService
from tpi_chart.storage.search import fold, iso_date
from tpi_chart.storage.sqlite import lookups
from tpi_chart.storage.sqlite.search import like_escape

MUSCLES = ("upper_trapezius", "levator_scapulae", "rhomboid_major", "gluteus_medius")
NAMES = ["García", "Garcia-Lopez", "Nguyễn", "Ødegård", "Smith", "Müller", "Okafor", "Ng", "Kim"]


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with open_services(tmp_path / "x.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _visits(services: Services, count: int, seed: int) -> int:
    """A patient with `count` visits of varied content: one to three syringes, up to five
    sites (some removed), follow-ups, a pain drawing, a voided visit."""
    rng = random.Random(seed)
    patient = services.patients.create(
        Patient(
            mrn=f"H{seed:05d}",
            family_name="Visits",
            given_name=str(count),
            birth_date=date(1970, 1, 1),
            sex="female",
        )
    )
    start = datetime(2016, 1, 4, 10, tzinfo=UTC)
    with services.store.transaction():
        for visit in range(count):
            syringes = tuple(
                Preparation(
                    id=code,
                    components=tuple(
                        Component(agent=agent, concentration="1%", volume_ml=rng.randint(1, 8))
                        for agent in ("lidocaine", "bupivacaine")[: rng.randint(1, 2)]
                    ),
                )
                for code in "ABC"[: rng.randint(1, 3)]
            )
            stored = services.charting.create(
                patient.id,
                Procedure(
                    performed_at=start + timedelta(days=rng.randint(0, 3650), hours=visit % 5),
                    payer_profile="medicare-2024",
                    pain_before=rng.randint(0, 10),
                    prior_relief_percent=rng.choice([None, 30, 50, 80]),
                    preparations=syringes,
                    sites=tuple(
                        Site(
                            muscle=rng.choice(MUSCLES),
                            side=rng.choice(("left", "right")),
                            preparation="A",
                            volume_ml=1.5,
                            notes=rng.choice([None, "deep"]),
                        )
                        for _ in range(rng.randint(0, 5))
                    ),
                ),
            )
            if stored.site_ids and rng.random() < 0.3:
                services.charting.remove_site(stored.site_ids[0])
            if rng.random() < 0.3:
                for percent in (20, rng.randint(0, 100)):
                    services.charting.record_follow_up(
                        stored.id,
                        FollowUp(
                            measured_on=date(2026, 1, 5), relief_percent=percent, relief_weeks=2
                        ),
                    )
            if visit == 1:
                services.charting.void(stored.id, "wrong patient")
    return patient.id


def _old_get(conn: sqlite3.Connection, procedure_id: int) -> dict[str, Any]:
    """The per-visit read the history used before (one statement per table, and per syringe):
    the oracle the new whole-patient read must agree with."""
    row = conn.execute("SELECT * FROM procedures WHERE id = ?", (procedure_id,)).fetchone()
    data: dict[str, Any] = json.loads(row["header"])
    data.update(
        performed_at=row["performed_at"], status=row["status"], payer_profile=row["payer_profile"]
    )
    data["preparations"] = []
    for prep in conn.execute(
        "SELECT id, code, label FROM preparations WHERE procedure_id = ? ORDER BY seq",
        (procedure_id,),
    ):
        components = [
            {k: v for k, v in zip(r.keys(), r, strict=True) if v is not None}
            for r in conn.execute(
                "SELECT agent, concentration, volume_ml, lot, expires, ndc, container,"
                " container_ml FROM components WHERE preparation_id = ? ORDER BY seq",
                (prep["id"],),
            )
        ]
        item: dict[str, Any] = {"id": prep["code"], "components": components}
        if prep["label"] is not None:
            item["label"] = prep["label"]
        data["preparations"].append(item)
    sites = conn.execute(
        "SELECT * FROM sites WHERE procedure_id = ? AND removed = 0 ORDER BY seq", (procedure_id,)
    ).fetchall()
    data["sites"] = [lookups.site_from_row(r) for r in sites]
    strokes = [
        json.loads(r[0])
        for r in conn.execute(
            "SELECT data FROM pain_strokes WHERE procedure_id = ? AND removed = 0 ORDER BY seq",
            (procedure_id,),
        )
    ]
    if strokes:
        data["pain_drawing"] = PainDrawing.model_validate({"strokes": strokes})
    if row["signed_by"] is not None:
        data["signature"] = {
            "signed_by": row["signed_by"],
            "signed_at": row["signed_at"],
            "content_hash": row["content_hash"],
            "acknowledged_warnings": json.loads(row["acknowledgements"] or "[]"),
        }
    data["addenda"] = [
        json.loads(a[0])
        for a in conn.execute(
            "SELECT data FROM addenda WHERE procedure_id = ? ORDER BY seq", (procedure_id,)
        )
    ]
    return {
        "procedure": Procedure.model_validate(data),
        "site_ids": tuple(int(r["id"]) for r in sites),
        "site_versions": tuple(int(r["version"]) for r in sites),
        "version": int(row["version"]),
        "follow_ups": [
            FollowUp.model_validate_json(r[0])
            for r in conn.execute(
                "SELECT data FROM follow_ups WHERE procedure_id = ? ORDER BY id", (procedure_id,)
            )
        ],
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_whole_patient_read_equals_the_per_visit_reads(services: Services, seed: int) -> None:
    patient_id = _visits(services, 12, seed)
    conn = services.store.conn  # type: ignore[attr-defined]
    whole = services.store.procedures.for_patient(patient_id)
    ids = [
        int(r[0])
        for r in conn.execute("SELECT id FROM procedures WHERE patient_id = ?", (patient_id,))
    ]
    assert sorted(record.id for record in whole) == sorted(ids)
    follow_ups = services.store.procedures.follow_ups_for_patient(patient_id)
    for record in whole:
        old = _old_get(conn, record.id)
        assert record.procedure == old["procedure"]
        assert record.site_ids == old["site_ids"]
        assert record.site_versions == old["site_versions"]
        assert record.version == old["version"]
        assert record.patient_id == patient_id
        mine = [entry.follow_up for entry in follow_ups if entry.procedure_id == record.id]
        assert mine == old["follow_ups"]
    # Oldest first, as the history rules read them.
    times = [record.procedure.performed_at for record in whole]
    assert times == sorted(times)


def test_a_demo_visit_read_alone_equals_the_per_visit_read(services: Services) -> None:
    conn = services.store.conn  # type: ignore[attr-defined]
    for (procedure_id,) in conn.execute("SELECT id FROM procedures").fetchall():
        record = services.store.procedures.get(procedure_id)
        assert record is not None
        assert record.procedure == _old_get(conn, procedure_id)["procedure"]


def _statements(services: Services, action: Any) -> list[str]:
    conn = services.store.conn  # type: ignore[attr-defined]
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        action()
    finally:
        conn.set_trace_callback(None)
    return seen


def test_the_history_tab_runs_the_same_statements_for_3_or_40_visits(services: Services) -> None:
    history = HistoryService(services.charting, services.patients)
    few, many = _visits(services, 3, 10), _visits(services, 40, 11)
    small = _statements(services, lambda: history.for_patient(few))
    large = _statements(services, lambda: history.for_patient(many))
    assert len(history.for_patient(many).visits) == 39  # the voided visit is left out
    assert len(small) == len(large) <= 20, large


def test_search_finds_accented_names_by_part_and_mrns_by_prefix(services: Services) -> None:
    for number, (family, given) in enumerate(
        [("García", "Ana"), ("Garçon", "Luc"), ("Smith", "Bob"), ("Nguyễn", "Thị Lan")]
    ):
        services.patients.create(
            Patient(
                mrn=f"S{number:04d}",
                family_name=family,
                given_name=given,
                birth_date=date(1980, 1, 1 + number),
                sex="female",
            )
        )

    def mine(text: str) -> list[str]:  # the demo clinic has a García Márquez too
        return [p.patient.mrn for p in services.patients.search(text) if p.patient.mrn[0] == "S"]

    assert mine("garc") == ["S0000", "S0001"]  # García and Garçon, accents and cedilla folded
    assert mine("GARCÍA ana") == ["S0000"]
    assert mine("garçon") == ["S0001"]
    assert mine("nguyen lan") == ["S0003"]
    # By name: García, Garçon, Nguyễn, Smith.
    assert [p.patient.mrn for p in services.patients.search("S000")] == [
        "S0000",
        "S0001",
        "S0003",
        "S0002",
    ]
    assert [p.patient.mrn for p in services.patients.search("s0002")] == ["S0002"]
    assert [p.patient.mrn for p in services.patients.search("1980-01-03")] == ["S0002"]


def _old_search(conn: sqlite3.Connection, text: str, limit: int) -> list[int]:
    """The search before the index: every word against every patient with LIKE."""
    clauses, params = [], []
    for token in text.split():
        clauses.append(
            "(search_name LIKE ? ESCAPE '\\' OR mrn LIKE ? ESCAPE '\\'"
            " OR birth_date LIKE ? ESCAPE '\\')"
        )
        params += [
            f"%{like_escape(fold(token))}%",
            f"%{like_escape(token)}%",
            f"{like_escape(iso_date(token))}%",
        ]
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT id FROM patients {where} ORDER BY search_name, birth_date, id LIMIT ?",
        (*params, limit),
    )
    return [int(r[0]) for r in rows]


def test_search_by_the_index_finds_exactly_what_the_scan_found(services: Services) -> None:
    rng = random.Random(15)
    for number in range(300):
        services.patients.create(
            Patient(
                mrn=f"{rng.choice('ABX')}{rng.randint(0, 99999):05d}",
                family_name=rng.choice(NAMES),
                given_name=rng.choice(["Ana", "Bo", "Lan", "José", "Ørjan"]) + str(number),
                birth_date=date(1940 + rng.randint(0, 60), rng.randint(1, 12), rng.randint(1, 28)),
                sex="female",
            )
        )
    conn = services.store.conn  # type: ignore[attr-defined]
    queries = [
        "",
        "garc",
        "GARCIA lopez",
        "ng",
        "nguy",
        "ødeg",
        "odeg ørj",
        "a0",
        "x12",
        "123",
        "1970",
        "5/12/1974",
        "19",
        "smith 1950-0",
        "müll ana",
        "an_",
        "50%",
        "zzz",
        "lan1",
    ]
    queries += [
        rng.choice(NAMES)[: rng.randint(1, 6)] + " " + str(rng.randint(0, 300)) for _ in range(40)
    ]
    for text in queries:
        for limit in (5, 500):
            found = [p.id for p in services.store.patients.search(text, limit)]
            assert found == _old_search(conn, text, limit), text


def test_the_search_index_follows_a_renamed_patient(services: Services) -> None:
    stored = services.patients.create(
        Patient(
            mrn="R0001",
            family_name="García",
            given_name="Ana",
            birth_date=date(1980, 1, 1),
            sex="female",
        )
    )
    services.patients.update(
        stored.id, stored.patient.model_copy(update={"family_name": "Okafor", "mrn": "Q7777"})
    )
    assert services.patients.search("garcía ana") == []
    assert services.patients.search("R0001") == []
    assert [p.id for p in services.patients.search("okaf Q777")] == [stored.id]
    conn = services.store.conn  # type: ignore[attr-defined]
    conn.execute("INSERT INTO patient_search (patient_search) VALUES ('integrity-check')")


def test_a_named_search_reads_the_index_not_every_patient(services: Services) -> None:
    conn = services.store.conn  # type: ignore[attr-defined]
    plan = " ".join(
        str(row[3])
        for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT rowid FROM patient_search WHERE search_name LIKE '%garc%'"
        )
    )
    assert "VIRTUAL TABLE INDEX 0:L0" in plan
    seen = _statements(services, lambda: services.patients.search("garc"))
    assert any("patient_search" in statement for statement in seen), seen


def test_a_remembered_visit_is_read_again_when_any_of_its_rows_changes(services: Services) -> None:
    """The records kept by `lookups` are found by every stored value they were built from: a row
    changed behind the app's back (here by hand, in SQL) is validated afresh, so a value no
    longer valid is refused as it was before anything was kept, and a valid change is seen."""
    patient_id = _visits(services, 4, 21)
    conn = services.store.conn  # type: ignore[attr-defined]
    first = services.store.procedures.for_patient(patient_id)
    again = services.store.procedures.for_patient(patient_id)
    assert again == first
    assert all(a.procedure is b.procedure for a, b in zip(again, first, strict=True))
    site_id, procedure_id = conn.execute(
        "SELECT s.id, s.procedure_id FROM sites s JOIN procedures p ON p.id = s.procedure_id"
        " WHERE p.patient_id = ? AND s.removed = 0 AND s.volume_ml IS NOT NULL"
        " ORDER BY s.id LIMIT 1",
        (patient_id,),
    ).fetchone()
    conn.execute("UPDATE sites SET volume_ml = 0.25 WHERE id = ?", (site_id,))
    changed = services.store.procedures.get(procedure_id)
    assert changed is not None
    index = changed.site_ids.index(site_id)
    assert changed.procedure.sites[index].volume_ml == 0.25
    # A paired muscle charted on the midline is refused by the model, not by the table.
    conn.execute(
        "UPDATE sites SET muscle = 'upper_trapezius', side = 'midline' WHERE id = ?", (site_id,)
    )
    with pytest.raises(ValidationError, match="paired muscle"):
        services.store.procedures.for_patient(patient_id)
    with pytest.raises(ValidationError, match="paired muscle"):
        services.store.procedures.get(procedure_id)
