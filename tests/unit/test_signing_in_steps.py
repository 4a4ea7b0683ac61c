"""Signing in three steps (the window draws the note on its worker thread): read and check
(`prepare_sign`), draw and sign the PDF from those values alone (`render`), store (`finish_sign`)
only if the procedure is still what was drawn. A change in between refuses, nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_pades_signing import Clinic
from tests.unit.test_password_steps import on_a_thread
from tests.unit.test_signing_service import ACKS, CHEN, Env
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.users import User
from tpi_chart.pdf.verify import verify_note
from tpi_chart.services.signing import AlreadySigned, PreparedAddendum, ProcedureChanged
from tpi_chart.storage.sqlite.store import open_store

CHANGED = "The procedure changed while the note was being prepared; nothing was signed. Sign again."


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(open_store(tmp_path / "chart.db", tmp_path / "keys"))
    yield environment
    environment.store.close()


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[Clinic]:
    made = Clinic(tmp_path / "valley")
    yield made
    made.close()


def _nothing_signed(env: Env, procedure_id: int, status: str) -> None:
    stored = env.charting.get(procedure_id)
    assert stored.procedure.signature is None
    assert stored.procedure.status == status
    assert [row for row in env.store.audit.rows() if row.action == "sign"] == []


def test_the_drawn_document_is_the_one_stored(env: Env) -> None:
    procedure_id = env.add()
    smith = User(
        username="smith", display_name="Dr. Anna Smith, DO", roles=frozenset({"physician"})
    )
    prepared = env.service.prepare_sign(procedure_id, smith, ACKS)
    assert env.charting.get(procedure_id).procedure.signature is None  # nothing stored yet

    stored = env.service.finish_sign(prepared, prepared.render())

    assert stored.procedure.physician == "Dr. Anna Smith, DO"
    assert env.charting.document(procedure_id) == prepared.document
    assert stored.procedure.signature == prepared.signature
    assert prepared.signature.content_hash == content_hash(env.charting.document(procedure_id))


def test_a_site_saved_between_drawing_and_storing_refuses(env: Env) -> None:
    procedure_id = env.add()
    status = env.charting.get(procedure_id).procedure.status
    prepared = env.service.prepare_sign(procedure_id, CHEN, ACKS)
    pdf = prepared.render()
    first = env.charting.sites(procedure_id)[0]
    env.charting.update_site(first.id, first.site.model_copy(update={"volume_ml": 1.0}))

    with pytest.raises(ProcedureChanged) as caught:
        env.service.finish_sign(prepared, pdf)

    assert str(caught.value) == CHANGED
    _nothing_signed(env, procedure_id, status)
    # Signing again reads the change and signs it.
    env.service.sign(procedure_id, CHEN, ACKS)
    assert env.charting.get(procedure_id).procedure.sites[0].volume_ml == 1.0


def test_a_removed_site_or_a_header_change_refuses(env: Env) -> None:
    procedure_id = env.add()
    status = env.charting.get(procedure_id).procedure.status
    prepared = env.service.prepare_sign(procedure_id, CHEN, ACKS)
    env.charting.remove_site(env.charting.sites(procedure_id)[-1].id)
    with pytest.raises(ProcedureChanged):
        env.service.finish_sign(prepared, prepared.render())
    _nothing_signed(env, procedure_id, status)

    prepared = env.service.prepare_sign(procedure_id, CHEN, ACKS)
    env.charting.update(procedure_id, {"aftercare_notes": "ice twice a day for two days"})
    with pytest.raises(ProcedureChanged):
        env.service.finish_sign(prepared, prepared.render())
    _nothing_signed(env, procedure_id, status)


def test_a_patient_edited_between_drawing_and_storing_refuses(env: Env) -> None:
    # The patient has no version on the procedure; the content hash covers it.
    procedure_id = env.add()
    status = env.charting.get(procedure_id).procedure.status
    prepared = env.service.prepare_sign(procedure_id, CHEN, ACKS)
    patient = env.store.patients.get(env.charting.get(procedure_id).patient_id)
    assert patient is not None
    renamed = patient.patient.model_copy(update={"family_name": "Okafor-Reyes"})
    env.store.patients.update(patient.id, renamed, "rivera")

    with pytest.raises(ProcedureChanged):
        env.service.finish_sign(prepared, prepared.render())

    _nothing_signed(env, procedure_id, status)
    assert env.store.procedures.signed_snapshot(procedure_id) is None


def test_finishing_twice_is_refused_as_already_signed(env: Env) -> None:
    procedure_id = env.add()
    prepared = env.service.prepare_sign(procedure_id, CHEN, ACKS)
    env.service.finish_sign(prepared, prepared.render())
    with pytest.raises(AlreadySigned):
        env.service.finish_sign(prepared, prepared.render())


def test_with_keys_the_drawn_pdf_is_stored_or_nothing_is(clinic: Clinic) -> None:
    procedure_id = clinic.add_reference_visit()
    signing = clinic.services(clinic.chen).signing
    prepared = signing.prepare_sign(procedure_id, clinic.chen, ACKS)
    pdf = prepared.render()
    assert pdf is not None
    assert pdf.startswith(b"%PDF")
    first = clinic.root.charting.sites(procedure_id)[0]
    clinic.services(clinic.chen).charting.update_site(
        first.id, first.site.model_copy(update={"volume_ml": 1.0})
    )

    with pytest.raises(ProcedureChanged):
        signing.finish_sign(prepared, pdf)

    assert clinic.store.pki.signed_note(procedure_id) is None
    assert clinic.store.outbox.pending() == []
    assert clinic.root.charting.get(procedure_id).procedure.signature is None

    prepared = signing.prepare_sign(procedure_id, clinic.chen, ACKS)
    pdf = prepared.render()
    assert pdf is not None
    signing.finish_sign(prepared, pdf)
    kept = clinic.store.pki.signed_note(procedure_id)
    assert kept is not None
    assert kept.pdf == pdf
    assert verify_note(kept.pdf, clinic.trust()).ok
    assert {item.procedure_id for item in clinic.store.outbox.pending()} == {procedure_id}


def test_an_addendum_drawn_while_another_was_stored_refuses(clinic: Clinic) -> None:
    procedure_id, _ = clinic.sign_reference_visit()
    signing = clinic.services(clinic.chen).signing
    first = signing.prepare_addendum(procedure_id, clinic.chen, "Patient called: no bruising.")
    pdf = on_a_thread_render(first)
    signing.add_addendum(procedure_id, clinic.chen, "Follow-up moved to next week.")
    kept = clinic.store.pki.signed_note(procedure_id)
    assert kept is not None

    with pytest.raises(ProcedureChanged):
        signing.finish_addendum(first, pdf)

    (only,) = clinic.root.charting.get(procedure_id).procedure.addenda
    assert only.text == "Follow-up moved to next week."
    after = clinic.store.pki.signed_note(procedure_id)
    assert after is not None
    assert (after.signatures, after.pdf) == (kept.signatures, kept.pdf)


def on_a_thread_render(prepared: PreparedAddendum) -> bytes:
    pdf = on_a_thread(prepared.render)
    assert pdf is not None
    return pdf
