"""The store, on SQLite and on PostgreSQL (the `engine` parameter): signed rows frozen by
triggers, audit rows in the same transaction, the audit chain and its tamper detection, soft
delete, search and lot recall at the repository level."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.engines import open_store as open_engine_store
from tests.engines import refusal, tamper
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.models import Addendum, ProcedureDocument, Signature
from tpi_chart.storage.audit import load_or_create_key
from tpi_chart.storage.errors import DuplicateRecord, SignedRecord
from tpi_chart.storage.search import fold
from tpi_chart.storage.sqlite.audit_trail import audit_rows, verify_audit_chain
from tpi_chart.storage.sqlite.store import SqliteStore, open_store

REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"


def reference() -> ProcedureDocument:
    return ProcedureDocument.model_validate(json.loads(REFERENCE.read_text()))


@pytest.fixture
def store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SqliteStore]:
    opened = open_engine_store(engine, tmp_path, request)
    yield opened
    opened.close()


def stored_signed(store: SqliteStore, mrn: str = "D1001") -> tuple[int, int]:
    doc = reference()
    doc = doc.model_copy(update={"patient": doc.patient.model_copy(update={"mrn": mrn})})
    patient = store.patients.add(doc.patient, "ma")
    record = store.procedures.add(patient.id, doc.procedure, "ma")
    signature = Signature(
        signed_by="Dr. Alex Chen, MD",
        signed_at="2026-11-20T10:00:00-07:00",
        content_hash=content_hash(doc),
    )
    store.procedures.sign(record.id, signature, "dr")
    return patient.id, record.id


def audit_count(store: SqliteStore) -> int:
    return int(store.conn.execute("SELECT count(*) FROM audit").fetchone()[0])


def test_reference_procedure_round_trips(store: SqliteStore) -> None:
    doc = reference()
    patient = store.patients.add(doc.patient, "ma")
    record = store.procedures.add(patient.id, doc.procedure, "ma")
    again = store.procedures.get(record.id)
    assert again is not None
    assert again.procedure == doc.procedure
    assert again.patient_id == patient.id
    assert len(again.site_ids) == 6


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE procedures SET header = '{}' WHERE id = {pid}",
        "UPDATE procedures SET status = 'in_progress', signed_by = NULL, signed_at = NULL,"
        " content_hash = NULL WHERE id = {pid}",
        "DELETE FROM procedures WHERE id = {pid}",
        "UPDATE sites SET volume_ml = 9.9 WHERE procedure_id = {pid}",
        "UPDATE sites SET removed = NOT removed WHERE procedure_id = {pid}",
        "DELETE FROM sites WHERE procedure_id = {pid}",
        "INSERT INTO sites (procedure_id, seq, muscle, side, state) VALUES ({pid}, 99, 'deltoid',"
        " 'left', 'injected')",
        "UPDATE preparations SET label = 'x' WHERE procedure_id = {pid}",
        "DELETE FROM preparations WHERE procedure_id = {pid}",
        "INSERT INTO preparations (procedure_id, seq, code) VALUES ({pid}, 9, 'Z')",
        "UPDATE components SET lot = 'FORGED'",
        "DELETE FROM components",
        "INSERT INTO components (preparation_id, seq, agent, concentration, volume_ml)"
        " SELECT id, 9, 'lidocaine', '1%', 1.0 FROM preparations WHERE procedure_id = {pid}",
    ],
)
def test_signed_rows_cannot_be_changed_by_plain_sql(store: SqliteStore, statement: str) -> None:
    _, procedure_id = stored_signed(store)
    before = store.procedures.get(procedure_id)
    with pytest.raises(refusal(store), match="signed"):
        store.conn.execute(statement.replace("{pid}", str(procedure_id)))
    assert store.procedures.get(procedure_id) == before


def test_repository_writes_to_a_signed_procedure_are_refused(store: SqliteStore) -> None:
    _, procedure_id = stored_signed(store)
    record = store.procedures.get(procedure_id)
    assert record is not None
    count = audit_count(store)
    with pytest.raises(SignedRecord):
        store.procedures.add_site(procedure_id, record.procedure.sites[0], "dr")
    with pytest.raises(SignedRecord):
        store.procedures.update_site(record.site_ids[0], record.procedure.sites[1], "dr")
    with pytest.raises(SignedRecord):
        store.procedures.set_site_removed(record.site_ids[0], True, "dr")
    with pytest.raises(SignedRecord):
        store.procedures.set_preparations(procedure_id, (), "dr")
    assert audit_count(store) == count  # a refused change leaves no audit row


def test_signing_needs_the_signature_columns(store: SqliteStore) -> None:
    doc = reference()
    patient = store.patients.add(doc.patient, "ma")
    record = store.procedures.add(patient.id, doc.procedure, "ma")
    with pytest.raises(refusal(store), match="signing update"):
        store.conn.execute("UPDATE procedures SET status = 'signed' WHERE id = ?", (record.id,))
    with pytest.raises(refusal(store), match="signing update"):
        store.conn.execute(
            "UPDATE procedures SET status = 'signed', signed_by = 'x', signed_at = 'y',"
            " content_hash = 'z', header = '{}' WHERE id = ?",
            (record.id,),
        )
    with pytest.raises(refusal(store), match="signing update"):
        store.conn.execute(
            "INSERT INTO procedures (patient_id, performed_at, performed_at_utc, status,"
            " payer_profile, header)"
            " VALUES (?, 'a', '2026-11-20T16:30:00Z', 'signed', 'none', '{}')",
            (patient.id,),
        )


def test_addenda_are_insert_only_and_only_on_signed(store: SqliteStore) -> None:
    doc = reference()
    patient = store.patients.add(doc.patient, "ma")
    unsigned = store.procedures.add(patient.id, doc.procedure, "ma")
    addendum = Addendum(text="Late entry.", author="Dr. Chen", at="2026-11-21T08:00:00-07:00")
    with pytest.raises(SignedRecord):
        store.procedures.add_addendum(unsigned.id, addendum, "dr")
    _, procedure_id = stored_signed(store, "S2")
    record = store.procedures.add_addendum(procedure_id, addendum, "dr")
    assert record.procedure.addenda == (addendum,)
    with pytest.raises(refusal(store), match="insert-only"):
        store.conn.execute("UPDATE addenda SET data = '{}'")
    with pytest.raises(refusal(store), match="insert-only"):
        store.conn.execute("DELETE FROM addenda")


def test_every_change_writes_one_audit_row_in_its_transaction(store: SqliteStore) -> None:
    doc = reference()
    patient = store.patients.add(doc.patient, "ma")
    record = store.procedures.add(patient.id, doc.procedure, "ma")
    site = store.procedures.add_site(record.id, doc.procedure.sites[0], "dr")
    store.procedures.set_site_removed(site.id, True, "dr")
    rows = store.audit.rows()
    assert [(r.action, r.entity, r.user) for r in rows] == [
        ("create", "patient", "ma"),
        ("create", "procedure", "ma"),
        ("create", "site", "dr"),
        ("delete", "site", "dr"),
    ]
    assert rows[2].patient_id == patient.id
    assert rows[2].procedure_id == record.id
    assert rows[0].at.endswith("+00:00")


def test_a_failing_change_leaves_no_audit_row(store: SqliteStore) -> None:
    doc = reference()
    store.patients.add(doc.patient, "ma")
    count = audit_count(store)
    with pytest.raises(DuplicateRecord):
        store.patients.add(doc.patient, "ma")
    assert audit_count(store) == count
    # A failure after the audit row was written rolls both back.

    def audited_then_failed() -> None:
        with store.transaction():
            store.audit.record(user="ma", action="update", entity="patient", entity_id=1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        audited_then_failed()
    assert audit_count(store) == count


def test_audit_table_refuses_update_and_delete(store: SqliteStore) -> None:
    stored_signed(store)
    with pytest.raises(refusal(store), match="append-only"):
        store.conn.execute("UPDATE audit SET \"user\" = 'someone else'")
    with pytest.raises(refusal(store), match="append-only"):
        store.conn.execute("DELETE FROM audit WHERE seq = 1")


def build_history(store: SqliteStore) -> None:
    patient_id, _procedure_id = stored_signed(store)
    doc = reference()
    record = store.procedures.add(patient_id, doc.procedure, "ma")
    for site_id in record.site_ids[:3]:
        store.procedures.set_site_removed(site_id, True, "ma")


def test_audit_chain_verifies_when_untouched(store: SqliteStore) -> None:
    build_history(store)
    report = verify_audit_chain(store.conn, store.key)
    assert report.ok
    assert report.rows_checked == audit_count(store) == 7


def test_audit_chain_fails_with_another_key(store: SqliteStore) -> None:
    build_history(store)
    report = verify_audit_chain(store.conn, b"\x00" * 32)
    assert not report.ok
    assert report.first_broken_seq == 1


def test_editing_an_audit_row_by_hand_is_detected(store: SqliteStore) -> None:
    build_history(store)
    tamper(store, "UPDATE audit SET \"user\" = 'mallory' WHERE seq = 4")
    report = verify_audit_chain(store.conn, store.key)
    assert not report.ok
    assert report.first_broken_seq == 4
    assert report.rows_checked == 3
    assert "changed" in (report.reason or "")


def test_deleting_a_middle_audit_row_is_detected(store: SqliteStore) -> None:
    build_history(store)
    tamper(store, "DELETE FROM audit WHERE seq = 5")
    report = verify_audit_chain(store.conn, store.key)
    assert not report.ok
    assert report.first_broken_seq == 6
    assert "missing" in (report.reason or "")


def test_deleting_a_row_and_renumbering_is_detected(store: SqliteStore) -> None:
    build_history(store)
    tamper(store, "DELETE FROM audit WHERE seq = 5", "UPDATE audit SET seq = seq - 1 WHERE seq > 5")
    report = verify_audit_chain(store.conn, store.key)
    assert not report.ok
    assert report.first_broken_seq == 5


def test_a_forged_row_is_detected(store: SqliteStore) -> None:
    build_history(store)
    last = store.conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    store.conn.execute(
        'INSERT INTO audit (seq, at, "user", action, entity, prev_mac, mac)'
        " VALUES (?, '2026-01-01T00:00:00+00:00', 'mallory', 'delete', 'patient', ?, ?)",
        (last[0] + 1, last[1], "ab" * 32),
    )
    report = verify_audit_chain(store.conn, store.key)
    assert not report.ok
    assert report.first_broken_seq == last[0] + 1


def test_swapped_rows_are_detected(store: SqliteStore) -> None:
    build_history(store)
    tamper(
        store,
        "UPDATE audit SET seq = -1 WHERE seq = 3",
        "UPDATE audit SET seq = 3 WHERE seq = 4",
        "UPDATE audit SET seq = 4 WHERE seq = -1",
    )
    report = verify_audit_chain(store.conn, store.key)
    assert not report.ok
    assert report.first_broken_seq == 3


def test_audit_rows_filter_by_mrn_and_date(store: SqliteStore) -> None:
    build_history(store)
    other = reference().patient.model_copy(update={"mrn": "X9"})
    store.patients.add(other, "ma")
    assert len(audit_rows(store.conn, mrn="D1001")) == audit_count(store) - 1
    assert [r.after is not None for r in audit_rows(store.conn, mrn="X9")] == [True]
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    assert len(audit_rows(store.conn, date_from=today, date_to=today)) == audit_count(store)
    assert audit_rows(store.conn, date_to=today - timedelta(days=1)) == []


def test_key_file_is_private_and_stable(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "keys", "abc")
    path = tmp_path / "keys" / "abc.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(key) == 32
    assert load_or_create_key(tmp_path / "keys", "abc") == key


def test_the_key_lives_outside_the_database_folder(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    store = open_store(tmp_path / "db" / "clinic.db", tmp_path / "keys")
    try:
        assert (tmp_path / "keys" / f"{store.clinic_id}.key").exists()
        assert not list((tmp_path / "db").glob("*.key"))
    finally:
        store.close()


def test_soft_delete_and_restore_keep_id_and_number(store: SqliteStore) -> None:
    doc = reference()
    patient = store.patients.add(doc.patient, "ma")
    record = store.procedures.add(patient.id, doc.procedure, "ma")
    third = record.site_ids[2]
    store.procedures.set_site_removed(third, True, "ma")
    numbers = [(s.id, s.number) for s in store.procedures.sites(record.id)]
    assert third not in [i for i, _ in numbers]
    assert [n for _, n in numbers] == [1, 2, 3, 4, 5]
    restored = store.procedures.set_site_removed(third, False, "ma")
    assert (restored.id, restored.number, restored.removed) == (third, 3, False)
    row = store.conn.execute("SELECT count(*) FROM sites WHERE procedure_id = ?", (record.id,))
    assert row.fetchone()[0] == 6


def test_search_folds_case_and_accents(store: SqliteStore) -> None:
    base = reference().patient
    for mrn, family, given, born in [
        ("N1", "Nguyễn", "Thị Lan", date(1980, 3, 9)),
        ("O1", "Ødegård", "Ingrid", date(1961, 2, 3)),
        ("L1", "Lopez", "Maria", date(1974, 5, 12)),
    ]:
        store.patients.add(
            base.model_copy(
                update={"mrn": mrn, "family_name": family, "given_name": given, "birth_date": born}
            ),
            "ma",
        )

    def mrns(text: str) -> list[str]:
        return [r.patient.mrn for r in store.patients.search(text, 50)]

    assert mrns("nguyen") == ["N1"]
    assert mrns("NGUYỄN lan") == ["N1"]
    assert mrns("odegard") == ["O1"]
    assert mrns("Ødegård") == ["O1"]
    assert mrns("l1") == ["L1"]
    assert mrns("1974-05") == ["L1"]
    assert mrns("1961-02-03") == ["O1"]
    assert mrns("") == ["L1", "N1", "O1"]
    assert mrns("50%") == []
    assert fold("Müller-Lüdenscheidt") == "muller-ludenscheidt"


def test_search_finds_part_of_an_mrn_and_us_written_dates(store: SqliteStore) -> None:
    base = reference().patient
    store.patients.add(base.model_copy(update={"mrn": "D1001"}), "ma")
    store.patients.add(
        base.model_copy(update={"mrn": "D2002", "birth_date": date(1981, 9, 3)}), "ma"
    )

    def mrns(text: str) -> list[str]:
        return [r.patient.mrn for r in store.patients.search(text, 50)]

    assert mrns("1001") == ["D1001"]
    assert mrns("5/12/1974") == ["D1001"]
    assert mrns("09/03/1981") == ["D2002"]
