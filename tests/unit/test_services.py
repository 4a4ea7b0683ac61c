"""Services over a real database, a SQLite file and a PostgreSQL server (the `engine`
parameter): charting, patients, documents, settings, demo; backups of the file."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.engines import database, refusal
from tests.strategies import documents
from tests.users import staff
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.models import (
    Addendum,
    Component,
    Preparation,
    Procedure,
    ProcedureDocument,
    Signature,
    Site,
    TimeOut,
)
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.demo import seed_demo
from tpi_chart.services.documents import document_json
from tpi_chart.services.errors import InvalidInput, NotFound, ProcedureLocked, StorageError
from tpi_chart.services.paths import check_location, resolve_db_path
from tpi_chart.storage.errors import UnsafeLocation

REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"
MST = timezone(timedelta(hours=-7))


def reference() -> ProcedureDocument:
    return ProcedureDocument.model_validate(json.loads(REFERENCE.read_text()))


@pytest.fixture
def services(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Services]:
    opened = open_services(database(engine, tmp_path, request), staff("ma.rivera"))
    yield opened
    opened.close()


@pytest.fixture
def file_services(tmp_path: Path) -> Iterator[Services]:
    opened = open_services(tmp_path / "clinic.db", staff("ma.rivera"))
    yield opened
    opened.close()


def audit_count(services: Services) -> int:
    return len(services.store.audit.rows())


def with_patient(services: Services, procedure: Procedure | None = None) -> tuple[int, int]:
    doc = reference()
    patient = services.patients.create(doc.patient)
    stored = services.charting.create(patient.id, procedure or doc.procedure)
    return patient.id, stored.id


def sign(services: Services, procedure_id: int) -> None:
    signature = Signature(
        signed_by="Dr. Alex Chen, MD",
        signed_at=datetime(2026, 11, 20, 10, 0, tzinfo=MST),
        content_hash=content_hash(services.charting.document(procedure_id)),
    )
    services.charting.sign(procedure_id, signature)


# ---- documents -------------------------------------------------------------------------------


def test_reference_import_then_export_gives_the_same_document(
    services: Services, tmp_path: Path
) -> None:
    doc = reference()
    # The prior visit of the reference document, stored first: export then computes the same
    # prior_procedures from the database.
    earlier = doc.procedure.model_copy(
        update={
            "performed_at": datetime(2026, 8, 28, 10, 0, tzinfo=MST),
            "prior_relief_percent": None,
            "prior_relief_weeks": None,
        }
    )
    earlier_file = tmp_path / "earlier.json"
    earlier_file.write_text(
        document_json(doc.model_copy(update={"procedure": earlier, "prior_procedures": ()}))
    )
    ids = services.documents.import_documents([earlier_file, REFERENCE])
    assert len(ids) == 2
    out = tmp_path / "out" / "visit.json"
    services.documents.export_json(ids[1], out)
    exported = ProcedureDocument.model_validate(json.loads(out.read_text()))
    # The export adds the claim lines for the biller; import reads and drops them.
    assert json.loads(out.read_text())["billing"]["lines"][0]["code"] == "20553"
    assert exported.billing is None
    assert exported == doc
    assert {k: v for k, v in json.loads(out.read_text()).items() if k != "billing"} == (
        doc.to_json_dict()
    )
    assert out.read_text().endswith("}\n")
    assert [r.action for r in services.store.audit.rows()][-1] == "export"


def test_priors_reported_by_a_document_come_back_with_it(services: Services) -> None:
    (procedure_id,) = services.documents.import_documents([REFERENCE])
    assert services.charting.document(procedure_id) == reference()
    # They are history reported with this procedure, not procedures of this clinic.
    patient = services.patients.by_mrn("D1001")
    assert patient is not None
    assert [s.id for s in services.charting.list_for_patient(patient.id)] == [procedure_id]


def test_reported_priors_come_first_and_a_stored_visit_on_the_same_date_is_not_repeated(
    services: Services, tmp_path: Path
) -> None:
    doc = reference()
    (prior,) = doc.prior_procedures
    earlier = doc.model_copy(
        update={
            "procedure": doc.procedure.model_copy(update={"performed_at": prior.performed_at}),
            "prior_procedures": (),
        }
    )
    other = doc.procedure.model_copy(update={"performed_at": datetime(2026, 6, 1, 9, tzinfo=MST)})
    first = tmp_path / "earlier.json"
    first.write_text(document_json(earlier))
    services.documents.import_documents([first])
    patient = services.patients.by_mrn("D1001")
    assert patient is not None
    services.charting.create(patient.id, other)
    (procedure_id,) = services.documents.import_documents([REFERENCE])
    priors = services.charting.document(procedure_id).prior_procedures
    assert priors[0] == prior  # as the document reported it
    assert [p.performed_at for p in priors[1:]] == [other.performed_at]


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=documents())
def test_any_document_round_trips_through_import_and_export(
    document: ProcedureDocument, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("roundtrip")
    source = folder / "in.json"
    source.write_text(document_json(document))
    with open_services(folder / "db.sqlite", staff("prop")) as services:
        (procedure_id,) = services.documents.import_documents([source])
        services.documents.export_json(procedure_id, folder / "out.json")
        exported = ProcedureDocument.model_validate_json((folder / "out.json").read_text())
        assert services.store.audit.verify().ok
    assert exported == document
    assert exported.to_json_dict() == document.to_json_dict()


def test_import_is_all_or_nothing(services: Services, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(REFERENCE.read_text())
    bad_data = json.loads(REFERENCE.read_text())
    bad_data["patient"]["mrn"] = "Z9"
    bad_data["procedure"]["sites"][2]["volume_ml"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_data))
    with pytest.raises(InvalidInput) as caught:
        services.documents.import_documents([good, bad])
    assert caught.value.problems == (
        f"{bad}: procedure.sites[2].volume_ml: must be greater than 0",
    )
    assert services.patients.search("") == []
    assert audit_count(services) == 0


def test_import_changes_a_known_patient_only_when_asked_and_field_by_field(
    services: Services, tmp_path: Path
) -> None:
    first = services.documents.import_documents([REFERENCE])
    assert services.documents.import_documents([REFERENCE]) == first  # already imported
    actions = [(r.action, r.entity) for r in services.store.audit.rows()]
    assert actions.count(("create", "patient")) == 1
    assert ("update", "patient") not in actions
    changed = json.loads(REFERENCE.read_text())
    changed["patient"]["weight_kg"] = 66.0
    changed["patient"]["sex"] = "other"
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(changed))
    result = services.documents.import_detailed([path])
    stored = services.patients.by_mrn("D1001")
    assert stored is not None
    assert stored.patient.weight_kg != 66.0
    assert any("patient.weight_kg" in note and "--update-patient" in note for note in result.notes)
    services.documents.import_documents([path], update_patient=True)
    stored = services.patients.by_mrn("D1001")
    assert stored is not None
    assert stored.patient.weight_kg == 66.0
    assert stored.patient.sex == "other"
    updates = [
        r for r in services.store.audit.rows() if (r.action, r.entity) == ("update", "patient")
    ]
    assert sorted(json.loads(r.after or "{}").popitem()[0] for r in updates) == ["sex", "weight_kg"]


def test_a_signed_document_is_stored_as_an_external_record_and_frozen(
    services: Services, tmp_path: Path
) -> None:
    doc = reference()
    signed = doc.procedure.model_copy(
        update={
            "status": "signed",
            "signature": Signature(
                signed_by="Dr. Alex Chen, MD",
                signed_at=datetime(2026, 11, 20, 10, tzinfo=MST),
                content_hash=content_hash(doc),
            ),
            "addenda": (
                Addendum(
                    text="Late entry.", author="Dr. Chen", at=datetime(2026, 11, 21, tzinfo=UTC)
                ),
            ),
        }
    )
    path = tmp_path / "signed.json"
    path.write_text(document_json(doc.model_copy(update={"procedure": signed})))
    (procedure_id,) = services.documents.import_documents([path])
    # Import never creates a signature: the record is kept, read-only, as signed elsewhere.
    stored = services.charting.get(procedure_id).procedure
    assert stored.status == "external"
    assert stored.signature is None
    assert stored.external_signature is not None
    assert stored.external_signature.signed_by == "Dr. Alex Chen, MD"
    assert stored.external_signature.content_hash == content_hash(doc)
    assert stored.external_signature.notice == "signed elsewhere, not verified by this clinic"
    assert stored.addenda == signed.addenda
    assert (
        stored.model_copy(
            update={"status": "signed", "signature": signed.signature, "external_signature": None}
        )
        == signed
    )
    with pytest.raises(ProcedureLocked, match="signed elsewhere"):
        services.charting.update(procedure_id, {"pain_after": 1})
    summary = services.charting.list_for_patient(services.charting.get(procedure_id).patient_id)
    assert summary[0].status == "external"
    tampered = json.loads(path.read_text())
    tampered["procedure"]["pain_after"] = 0
    path.write_text(json.dumps(tampered))
    with pytest.raises(InvalidInput, match="content_hash"):
        services.documents.import_documents([path])


# ---- charting --------------------------------------------------------------------------------


def test_update_validates_and_stores_nothing_on_error(services: Services) -> None:
    _, procedure_id = with_patient(services)
    before = services.charting.get(procedure_id)
    count = audit_count(services)
    with pytest.raises(InvalidInput) as caught:
        services.charting.update(procedure_id, {"pain_before": 11, "colour": "red"})
    assert set(caught.value.problems) == {
        "procedure.pain_before: must be at most 10",
        "procedure.colour: unknown field; it is not part of the tpi-chart.procedure/1 format",
    }
    with pytest.raises(InvalidInput, match=re.escape("procedure.sites")):
        services.charting.update(procedure_id, {"sites": ()})
    with pytest.raises(InvalidInput, match=re.escape("procedure.status")):
        services.charting.update(procedure_id, {"status": "signed"})
    assert services.charting.get(procedure_id) == before
    assert audit_count(services) == count


def test_update_header_fields(services: Services) -> None:
    _, procedure_id = with_patient(services)
    time_out = TimeOut(performed_by="Dr. Chen", at=datetime(2026, 11, 20, 9, 29, tzinfo=MST))
    stored = services.charting.update(
        procedure_id, {"pain_after": 1, "time_out": time_out, "status": "planned"}
    )
    assert stored.procedure.pain_after == 1
    assert stored.procedure.time_out == time_out
    assert stored.procedure.status == "planned"
    assert services.charting.get(procedure_id) == stored
    last = services.store.audit.rows()[-1]
    assert (last.action, last.entity, last.user) == ("update", "procedure", "ma.rivera")


def test_set_preparations_checks_site_references(services: Services) -> None:
    _, procedure_id = with_patient(services)
    with pytest.raises(InvalidInput, match=r"procedure.sites\[0\].preparation"):
        services.charting.set_preparations(procedure_id, ())
    prep = Preparation(
        id="A",
        components=(Component(agent="lidocaine", concentration="1%", volume_ml=10, lot="NEW1"),),
    )
    stored = services.charting.set_preparations(procedure_id, (prep,))
    assert stored.procedure.preparations == (prep,)
    assert [p.patient.mrn for p, _, _ in services.patients.patients_with_lot("new1")] == ["D1001"]
    assert services.patients.patients_with_lot("LD24117") == []


def test_sites_add_update_remove_restore(services: Services) -> None:
    _, procedure_id = with_patient(services)
    sites = services.charting.sites(procedure_id)
    assert [s.number for s in sites] == [1, 2, 3, 4, 5, 6]
    added = services.charting.add_site(procedure_id, Site(muscle="deltoid", side="left"))
    assert added.number == 7
    updated = services.charting.update_site(added.id, Site(muscle="deltoid", side="right"))
    assert (updated.id, updated.number, updated.site.side) == (added.id, 7, "right")
    third = sites[2]
    services.charting.remove_site(third.id)
    after = services.charting.sites(procedure_id)
    assert [s.number for s in after] == [1, 2, 3, 4, 5, 6]
    assert third.id not in [s.id for s in after]
    stored = services.charting.get(procedure_id)
    assert len(stored.procedure.sites) == len(stored.site_ids) == 6
    restored = services.charting.restore_site(third.id)
    assert (restored.id, restored.number, restored.site) == (third.id, 3, third.site)
    assert services.charting.get(procedure_id).site_ids[2] == third.id
    with pytest.raises(InvalidInput, match=re.escape("site.preparation")):
        services.charting.add_site(
            procedure_id, Site(muscle="deltoid", side="left", preparation="Q")
        )
    with pytest.raises(NotFound):
        services.charting.update_site(9999, Site(muscle="deltoid", side="left"))
    actions = [(r.action, r.entity) for r in services.store.audit.rows() if r.entity == "site"]
    assert actions == [
        ("create", "site"),
        ("update", "site"),
        ("delete", "site"),
        ("restore", "site"),
    ]


def test_signed_procedure_refuses_every_change(services: Services) -> None:
    _, procedure_id = with_patient(services)
    sign(services, procedure_id)
    site_id = services.charting.get(procedure_id).site_ids[0]
    count = audit_count(services)
    for attempt in (
        lambda: services.charting.update(procedure_id, {"pain_after": 0}),
        lambda: services.charting.set_preparations(procedure_id, ()),
        lambda: services.charting.add_site(procedure_id, Site(muscle="deltoid", side="left")),
        lambda: services.charting.update_site(site_id, Site(muscle="deltoid", side="left")),
        lambda: services.charting.remove_site(site_id),
        lambda: services.charting.restore_site(site_id),
        lambda: services.charting.sign(
            procedure_id, services.charting.get(procedure_id).procedure.signature
        ),  # type: ignore[arg-type]
    ):
        with pytest.raises(ProcedureLocked, match=re.escape("signed by Dr. Alex Chen")):
            attempt()
    assert audit_count(services) == count
    addendum = Addendum(
        text="Patient called: soreness resolved.",
        author="Dr. Chen",
        at=datetime(2026, 11, 22, tzinfo=UTC),
    )
    stored = services.charting.add_addendum(procedure_id, addendum)
    assert stored.procedure.addenda == (addendum,)


def test_sign_checks_the_content_hash(services: Services) -> None:
    _, procedure_id = with_patient(services)
    with pytest.raises(InvalidInput, match="content_hash"):
        services.charting.sign(
            procedure_id,
            Signature(signed_by="Dr. X", signed_at=datetime.now(UTC), content_hash="0" * 64),
        )
    assert services.charting.get(procedure_id).procedure.status == "in_progress"


def test_copy_forward_plans_the_last_visit(services: Services) -> None:
    patient_id, last_id = with_patient(services)
    today = datetime(2026, 12, 30, 9, 0, tzinfo=MST)
    planned = services.charting.copy_forward(patient_id, today)
    last = services.charting.get(last_id).procedure
    new = planned.procedure
    assert new.status == "planned"
    assert new.performed_at == today
    assert (new.payer_profile, new.diagnoses) == (last.payer_profile, last.diagnoses)
    assert len(new.sites) == 6
    for old, site in zip(last.sites, new.sites, strict=True):
        assert site.state == "planned"
        assert (
            site.muscle,
            site.side,
            site.view,
            site.x,
            site.y,
            site.volume_ml,
            site.preparation,
        ) == (old.muscle, old.side, old.view, old.x, old.y, old.volume_ml, old.preparation)
        assert site.twitch is None
        assert site.findings == Site(muscle="deltoid", side="left").findings
        assert site.injected_at is None
    assert [c.lot for p in new.preparations for c in p.components] == [None, None]
    assert [c.expires for p in new.preparations for c in p.components] == [None, None]
    assert [c.agent for c in new.preparations[0].components] == ["lidocaine", "triamcinolone"]
    assert new.pain_before is None
    assert new.time_out is None
    summaries = services.charting.list_for_patient(patient_id)
    assert [s.id for s in summaries] == [planned.id, last_id]
    assert (summaries[0].site_count, summaries[0].injected_count) == (6, 0)
    assert (summaries[1].site_count, summaries[1].injected_count) == (6, 6)


def test_copy_forward_without_history_is_empty(services: Services) -> None:
    patient = services.patients.create(reference().patient)
    planned = services.charting.copy_forward(patient.id, datetime(2026, 1, 2, tzinfo=UTC))
    assert planned.procedure.status == "planned"
    assert planned.procedure.sites == ()
    with pytest.raises(NotFound):
        services.charting.copy_forward(999, datetime(2026, 1, 2, tzinfo=UTC))


def test_prior_procedures_take_relief_from_the_next_visit(services: Services) -> None:
    doc = reference()
    patient = services.patients.create(doc.patient)
    visits = []
    for month, relief in ((3, None), (6, 40), (9, 70)):
        procedure = doc.procedure.model_copy(
            update={
                "performed_at": datetime(2026, month, 1, 10, tzinfo=MST),
                "prior_relief_percent": relief,
                "prior_relief_weeks": None if relief is None else month,
                "sites": doc.procedure.sites[: month // 3],
            }
        )
        visits.append(services.charting.create(patient.id, procedure).id)
    sign(services, visits[0])
    priors = services.charting.prior_procedures(visits[2])
    assert [p.performed_at.month for p in priors] == [6, 3]
    assert [p.relief_percent for p in priors] == [70, 40]
    assert [p.relief_weeks for p in priors] == [9, 6]
    assert [len(p.sites) for p in priors] == [2, 1]
    assert services.charting.prior_procedures(visits[0]) == ()
    assert services.charting.document(visits[1]).prior_procedures == (
        priors[1].model_copy(update={"relief_percent": 40, "relief_weeks": 6}),
    )


# ---- patients --------------------------------------------------------------------------------


def test_patient_create_duplicate_and_update(services: Services) -> None:
    patient = reference().patient
    stored = services.patients.create(patient)
    with pytest.raises(InvalidInput) as caught:
        services.patients.create(patient)
    assert caught.value.problems == ("patient.mrn: a patient with MRN D1001 already exists",)
    other = services.patients.create(patient.model_copy(update={"mrn": "D2"}))
    with pytest.raises(InvalidInput, match=re.escape("patient.mrn")):
        services.patients.update(other.id, patient)
    updated = services.patients.update(stored.id, patient.model_copy(update={"weight_kg": 70.0}))
    assert services.patients.get(stored.id) == updated
    with pytest.raises(NotFound):
        services.patients.get(404)
    assert services.patients.by_mrn("nope") is None


# ---- demo, settings, backups, paths -----------------------------------------------------------


def test_demo_clinic(services: Services) -> None:
    assert seed_demo(services, today=date(2026, 11, 20), zone=MST)
    assert not seed_demo(services)
    maria = services.patients.by_mrn("D1001")
    assert maria is not None
    # Recorded in the demo as "no known allergies" (the header says so), not merely empty.
    assert maria.patient == reference().patient.model_copy(
        update={"allergies": (), "no_known_allergies": True, "payer_profile": "medicare-2024"}
    )
    visits = services.charting.list_for_patient(maria.id)
    assert [v.status for v in visits] == ["planned", "signed", "signed"]
    assert [v.site_count for v in visits] == [6, 6, 6]
    today = services.charting.get(visits[0].id).procedure
    assert today.performed_at == datetime(2026, 11, 20, 9, 30, tzinfo=MST)
    assert [(s.muscle, s.side, s.state, s.volume_ml) for s in today.sites] == [
        (s.muscle, s.side, "planned", 1.5) for s in reference().procedure.sites
    ]
    components = today.preparations[0].components
    assert [(c.agent, c.concentration, c.volume_ml) for c in components] == [
        ("lidocaine", "1%", 8.0),
        ("triamcinolone", "40 mg/mL", 1.0),
    ]
    assert all(c.lot and c.expires for c in components)
    priors = services.charting.prior_procedures(visits[0].id)
    assert len(priors) == 2
    assert all(p.relief_percent for p in priors)
    assert len(services.patients.search("")) >= 9
    assert [p.patient.mrn for p in services.patients.search("nguyen")] == ["D1002"]
    assert any(p.patient.anticoagulated for p in services.patients.search(""))
    assert services.store.audit.verify().ok


def test_settings(services: Services) -> None:
    assert services.settings.idle_lock_minutes() == 10
    services.settings.set_idle_lock_minutes(5)
    services.settings.set_clinic_name("  Pain Clinic  ")
    services.settings.set_export_folder(Path("/srv/notes"))
    assert services.settings.idle_lock_minutes() == 5
    assert services.settings.clinic_name() == "Pain Clinic"
    assert services.settings.export_folder() == Path("/srv/notes")
    with pytest.raises(InvalidInput, match="idle_lock_minutes"):
        services.settings.set_idle_lock_minutes(60)
    with pytest.raises(InvalidInput, match="export_folder"):
        services.settings.set_export_folder(Path("relative"))
    assert len(services.settings.clinic_id) == 36


def test_backup_and_restore(file_services: Services, tmp_path: Path) -> None:
    services = file_services
    _, procedure_id = with_patient(services)
    out = services.backups.backup(tmp_path / "backups" / "b1.db")
    check = sqlite3.connect(out)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
    services.charting.update(procedure_id, {"pain_after": 0})
    aside = services.backups.restore(out)
    assert aside.exists()
    assert aside.name.startswith("clinic.db.before-restore-")
    assert services.charting.get(procedure_id).procedure.pain_after == 2
    assert services.store.audit.rows()[-1].action == "restore_db"
    assert services.store.audit.verify().ok
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"x" * 4096)
    with pytest.raises(StorageError, match="not an SQLite file"):
        services.backups.restore(garbage)
    assert services.charting.get(procedure_id).procedure.pain_after == 2


def test_db_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    default = resolve_db_path(None)
    assert default.name == "tpi-chart.db"
    assert str(default).startswith(str(Path.home()))
    monkeypatch.setenv("TPI_CHART_DB", str(tmp_path / "env.db"))
    assert resolve_db_path(None) == tmp_path / "env.db"
    assert resolve_db_path(tmp_path / "explicit.db") == tmp_path / "explicit.db"


def test_unsafe_locations_are_refused(tmp_path: Path) -> None:
    for folder in ("OneDrive - Clinic", "Dropbox", "Library/Mobile Documents/com~apple~CloudDocs"):
        with pytest.raises(UnsafeLocation, match="cloud-sync"):
            check_location(tmp_path / folder / "tpi-chart.db")
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\nserver:/share /mnt/share nfs4 rw 0 0\n")
    with pytest.raises(UnsafeLocation, match="network drive"):
        check_location(Path("/mnt/share/clinic/tpi-chart.db"), mounts)
    check_location(Path("/home/ma/tpi-chart.db"), mounts)
    with pytest.raises(UnsafeLocation):
        open_services(tmp_path / "Dropbox" / "x.db", staff("ma"))
    assert not (tmp_path / "Dropbox").exists()


def test_a_visit_where_nothing_was_injected_is_not_a_prior_session(services: Services) -> None:
    doc = reference()
    patient = services.patients.create(doc.patient)
    planned_only = tuple(
        site.model_copy(update={"state": "planned"}) for site in doc.procedure.sites
    )
    ids = []
    for month, sites in ((3, doc.procedure.sites), (6, planned_only), (9, doc.procedure.sites)):
        procedure = doc.procedure.model_copy(
            update={"performed_at": datetime(2026, month, 1, 10, tzinfo=MST), "sites": sites}
        )
        ids.append(services.charting.create(patient.id, procedure).id)
    priors = services.charting.prior_procedures(ids[2])
    assert [p.performed_at.month for p in priors] == [3]


def test_reported_history_of_a_signed_procedure_is_frozen_in_the_database(
    services: Services,
) -> None:
    (procedure_id,) = services.documents.import_documents([REFERENCE])
    sign(services, procedure_id)
    conn = services.store.conn  # type: ignore[attr-defined]
    for statement in (
        "UPDATE reported_history SET data = '[]' WHERE procedure_id = ?",
        "DELETE FROM reported_history WHERE procedure_id = ?",
    ):
        with pytest.raises(refusal(services.store), match="signed"):
            conn.execute(statement, (procedure_id,))
    assert services.charting.document(procedure_id).prior_procedures == reference().prior_procedures
