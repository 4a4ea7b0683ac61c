"""Signing and addenda through the service and the real store: who may sign, what is refused,
what is stored, and that the database itself keeps a signed note frozen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.engines import open_store, refusal
from tests.unit.auth_support import reference_document
from tpi_chart.domain.canonical import addendum_hash, content_hash
from tpi_chart.domain.models import Site
from tpi_chart.domain.users import User
from tpi_chart.services.access import PermissionDenied
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.errors import ProcedureLocked
from tpi_chart.services.signing import AlreadySigned, NotReadyToSign, SigningRefused, SigningService

MST = timezone(timedelta(hours=-7))
SIGNED_AT = datetime(2026, 11, 20, 10, 5, tzinfo=MST)
CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
RIVERA = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))
ACKS = {
    "ptx_risk_site": "superficial technique with pincer palpation; patient counselled",
    "multi_region": "neck and shoulder girdle are one myofascial pain pattern",
}


class Env:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.charting = ChartingService(self.store, CHEN)
        self.now = SIGNED_AT
        self.service = SigningService(
            self.charting,
            self.store.procedures,
            clock=lambda: self.now,
            transaction=self.store.transaction,
        )

    def add(self, **changes: Any) -> int:
        document = reference_document(**changes)
        patient = self.store.patients.by_mrn(document.patient.mrn)
        if patient is None:
            patient = self.store.patients.add(document.patient, "rivera")
        return self.store.procedures.add(patient.id, document.procedure, "rivera").id


@pytest.fixture
def env(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Env]:
    environment = Env(open_store(engine, tmp_path, request))
    yield environment
    environment.store.close()


def test_signing_stores_signer_time_acknowledgements_and_the_content_hash(env: Env) -> None:
    procedure_id = env.add()
    readiness = env.service.readiness(procedure_id)
    assert readiness.missing == ()
    assert set(readiness.codes_to_acknowledge) == {"ptx_risk_site", "multi_region"}
    assert not readiness.ready()
    assert readiness.ready(ACKS)
    expected_hash = content_hash(env.charting.document(procedure_id))

    stored = env.service.sign(procedure_id, CHEN, ACKS)

    signature = stored.procedure.signature
    assert stored.procedure.status == "signed"
    assert signature is not None
    assert signature.signed_by == "Dr. Alex Chen, MD"
    assert signature.signed_at == SIGNED_AT
    assert signature.content_hash == expected_hash
    assert signature.content_hash == content_hash(env.charting.document(procedure_id))
    acknowledged = {ack.code: (ack.sites, ack.reason) for ack in signature.acknowledged_warnings}
    assert acknowledged["ptx_risk_site"] == ((1, 2, 5), ACKS["ptx_risk_site"])
    assert env.service.readiness(procedure_id).signed
    signs = [row for row in env.store.audit.rows() if row.action == "sign"]
    assert [(row.user, row.procedure_id) for row in signs] == [("chen", procedure_id)]
    assert env.store.audit.verify().ok


def test_signing_twice_is_refused_with_who_and_when(env: Env) -> None:
    procedure_id = env.add()
    env.service.sign(procedure_id, CHEN, ACKS)
    env.now = SIGNED_AT + timedelta(hours=1)
    with pytest.raises(AlreadySigned) as caught:
        env.service.sign(procedure_id, CHEN, ACKS)
    assert str(caught.value) == (
        "This note was signed by Dr. Alex Chen, MD on 2026-11-20 10:05 -0700; "
        "add an addendum instead"
    )


def test_unacknowledged_warnings_are_named_and_nothing_is_stored(env: Env) -> None:
    procedure_id = env.add()
    with pytest.raises(NotReadyToSign) as caught:
        env.service.sign(procedure_id, CHEN, {"ptx_risk_site": ACKS["ptx_risk_site"]})
    assert caught.value.unacknowledged == ("multi_region",)
    assert "warnings not acknowledged (give a reason for each): multi_region" in str(caught.value)
    with pytest.raises(NotReadyToSign, match="ptx_risk_site, multi_region"):
        env.service.sign(procedure_id, CHEN, {"ptx_risk_site": "   "})
    assert env.charting.get(procedure_id).procedure.status == "in_progress"
    assert not [row for row in env.store.audit.rows() if row.action == "sign"]


def test_missing_items_are_listed_by_field(env: Env) -> None:
    procedure_id = env.add(time_out=None, pain_after=None)
    with pytest.raises(NotReadyToSign) as caught:
        env.service.sign(procedure_id, CHEN, ACKS)
    message = str(caught.value)
    assert "procedure.time_out: record the time-out" in message
    assert "procedure.pain_after: record the pain score after" in message
    assert [item.field for item in caught.value.missing] == [
        "procedure.time_out",
        "procedure.pain_after",
    ]


def test_an_assistant_can_neither_sign_nor_add_an_addendum(env: Env) -> None:
    procedure_id = env.add()
    with pytest.raises(PermissionDenied, match="only a physician can sign procedure notes"):
        env.service.sign(procedure_id, RIVERA, ACKS)
    env.service.sign(procedure_id, CHEN, ACKS)
    with pytest.raises(PermissionDenied, match="only a physician can add addenda"):
        env.service.add_addendum(procedure_id, RIVERA, "late entry")


def test_an_addendum_is_hashed_with_the_note_and_shown_in_the_document(env: Env) -> None:
    procedure_id = env.add()
    with pytest.raises(SigningRefused, match="only a signed note takes addenda"):
        env.service.add_addendum(procedure_id, CHEN, "too early")
    signed = env.service.sign(procedure_id, CHEN, ACKS)
    assert signed.procedure.signature is not None
    env.now = SIGNED_AT + timedelta(days=1)
    correction = Site(muscle="infraspinatus", side="right", preparation="A", volume_ml=1.0)
    env.service.add_addendum(
        procedure_id, CHEN, "Site 6 volume was 1.0 mL, not 1.5 mL.", corrected_sites=[correction]
    )
    document = env.charting.document(procedure_id)
    (addendum,) = document.procedure.addenda
    assert addendum.author == "Dr. Alex Chen, MD"
    assert addendum.at == SIGNED_AT + timedelta(days=1)
    assert addendum.sites == (correction,)
    unhashed = addendum.model_copy(update={"content_hash": None})
    assert addendum.content_hash == addendum_hash(unhashed, signed.procedure.signature.content_hash)
    # The signed content itself did not change.
    assert content_hash(document) == signed.procedure.signature.content_hash


def test_the_database_refuses_plain_sql_changes_to_a_signed_procedure(env: Env) -> None:
    procedure_id = env.add()
    env.service.sign(procedure_id, CHEN, ACKS)
    env.service.add_addendum(procedure_id, CHEN, "Patient called: soreness settled.")
    conn = env.store.conn
    statements = [
        ("UPDATE procedures SET payer_profile = 'none' WHERE id = ?", (procedure_id,)),
        ("UPDATE procedures SET status = 'in_progress' WHERE id = ?", (procedure_id,)),
        ("DELETE FROM procedures WHERE id = ?", (procedure_id,)),
        ("UPDATE sites SET volume_ml = 9 WHERE procedure_id = ?", (procedure_id,)),
        ("DELETE FROM sites WHERE procedure_id = ?", (procedure_id,)),
        ("UPDATE preparations SET label = 'B' WHERE procedure_id = ?", (procedure_id,)),
        ("DELETE FROM preparations WHERE procedure_id = ?", (procedure_id,)),
        (
            "UPDATE components SET volume_ml = 2 WHERE preparation_id IN "
            "(SELECT id FROM preparations WHERE procedure_id = ?)",
            (procedure_id,),
        ),
        ("UPDATE addenda SET author = 'x' WHERE procedure_id = ?", (procedure_id,)),
        ("DELETE FROM addenda WHERE procedure_id = ?", (procedure_id,)),
        (
            "INSERT INTO sites (procedure_id, seq, muscle, side, state)"
            " VALUES (?, 99, 'deltoid', 'left', 'injected')",
            (procedure_id,),
        ),
    ]
    before = env.charting.document(procedure_id)
    for sql, params in statements:
        with pytest.raises(refusal(env.store), match=r"signed|insert-only"):
            conn.execute(sql, params)
    assert env.charting.document(procedure_id) == before


def test_the_charting_service_refuses_edits_to_a_signed_procedure(env: Env) -> None:
    procedure_id = env.add()
    stored = env.service.sign(procedure_id, CHEN, ACKS)
    site = stored.procedure.sites[0]
    with pytest.raises(ProcedureLocked, match="add an addendum instead"):
        env.charting.update_site(env.charting.get(procedure_id).site_ids[0], site)
    with pytest.raises(ProcedureLocked):
        env.charting.add_site(procedure_id, site)
    with pytest.raises(ProcedureLocked):
        env.charting.update(procedure_id, {"pain_after": 0})
    with pytest.raises(ProcedureLocked):
        env.service.sign(procedure_id, CHEN, ACKS)  # AlreadySigned is a ProcedureLocked


def test_the_note_names_the_physician_who_signs_it(env: Env) -> None:
    procedure_id = env.add()
    assert env.charting.get(procedure_id).procedure.physician == "Dr. Alex Chen, MD"
    smith = User(
        username="smith", display_name="Dr. Anna Smith, DO", roles=frozenset({"physician"})
    )

    stored = env.service.sign(procedure_id, smith, ACKS)

    assert stored.procedure.physician == "Dr. Anna Smith, DO"
    assert stored.procedure.signature is not None
    assert stored.procedure.signature.content_hash == content_hash(
        env.charting.document(procedure_id)
    )
    changes = [row for row in env.store.audit.rows() if row.action == "update"]
    assert changes
    assert "Dr. Anna Smith, DO" in (changes[-1].after or "")


def test_more_given_than_drawn_refuses_signing_even_when_acknowledged(env: Env) -> None:
    # Six sites of 1.5 mL from a 9 mL syringe is exactly what was drawn; 2 mL at the first site
    # makes 9.5 mL given from 9 mL drawn (issue 14).
    sites = reference_document().procedure.sites
    overdrawn = (sites[0].model_copy(update={"volume_ml": 2.0}), *sites[1:])
    procedure_id = env.add(sites=[s.model_dump(mode="json") for s in overdrawn])
    acks = {**ACKS, "volume_exceeds_drawn": "I will fix it later"}
    with pytest.raises(NotReadyToSign) as caught:
        env.service.sign(procedure_id, CHEN, acks)
    assert [item.field for item in caught.value.missing] == ["procedure.preparations[0]"]
    assert "Preparation A: 9.5 mL charted" in str(caught.value)
    assert "only 9 mL drawn up" in str(caught.value)
    assert env.charting.get(procedure_id).procedure.status == "in_progress"
