"""Any signed procedure document becomes a valid FHIR bundle and valid HL7 messages (the pure
builders, over generated documents: names with any characters, any sites and syringes)."""

from __future__ import annotations

import re

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from hypothesis import HealthCheck, given, settings

from tests.sample_documents import signed_copy
from tests.strategies import documents
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.rules import evaluate
from tpi_chart.interop.charges import charge_lines
from tpi_chart.interop.fhir import build_bundle, validate_bundle
from tpi_chart.interop.hl7v2 import build_dft, build_mdm, unescape
from tpi_chart.interop.model import SignedNote

PDF = b"%PDF-1.4\n% a stand-in: the builders carry the bytes, they do not read them\n%%EOF\n"


def _note(document: ProcedureDocument) -> SignedNote:
    signed = signed_copy(document)
    evaluation = evaluate(signed)
    return SignedNote(
        clinic_id="7c1f0e52-5d0e-4d4e-9a37-0d5f1f7f2b11",
        clinic_name="Riverside | Pain ^ Spine & Co ~ \\ Clinic",
        procedure_id=41,
        document=signed,
        evaluation=evaluation,
        charges=charge_lines(signed, evaluation),
        pdf=PDF,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_any_signed_document_gives_a_valid_bundle(document: ProcedureDocument) -> None:
    note = _note(document)
    bundle = build_bundle(note)
    assert validate_bundle(bundle) == []
    procedure = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure"
    )
    pairs = {(s.muscle, s.side) for s in note.document.procedure.injected_sites}
    assert len(procedure.get("bodySite", [])) == len(pairs)
    administrations = [
        e for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationAdministration"
    ]
    expected = sum(
        len(prep.components)
        for site in note.document.procedure.sites
        if site.state == "injected"
        and site.volume_ml is not None
        and (prep := note.document.procedure.preparation(site.preparation)) is not None
    )
    assert len(administrations) == expected
    ids = [e["fullUrl"] for e in bundle["entry"]]
    assert len(ids) == len(set(ids))
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    phone = note.document.patient.phone
    assert patient.get("telecom") == ([{"system": "phone", "value": phone}] if phone else None)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_any_signed_document_gives_valid_hl7(document: ProcedureDocument) -> None:
    note = _note(document)
    messages = [build_mdm(note)]
    if note.charges:
        messages.append(build_dft(note))
    else:
        with pytest.raises(ValueError, match="at least one charge"):
            build_dft(note)
    for text in messages:
        short = re.sub(r"(\^AP\^PDF\^Base64\^)[A-Za-z0-9+/=]+", r"\1JVBERg==", text)
        strict = parse_message(short, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        assert strict.validate()
        name = strict.pid.pid_5
        assert unescape(name.xpn_1.to_er7()) == note.document.patient.family_name
        assert unescape(name.xpn_2.to_er7()) == note.document.patient.given_name
        phone = note.document.patient.phone
        assert unescape(strict.pid.pid_13.xtn_1.to_er7() if phone else "") == (phone or "")
    if note.charges:
        assert build_dft(note).count("\rFT1|") == len(note.charges)
