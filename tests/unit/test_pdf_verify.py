"""verify at the PDF layer, without a clinic database: a note signed with a certificate of the
trusted authority matches; a note that only claims a signature, an altered embedded document
(even re-signed by a trusted physician), a draft, a foreign file and a missing trust root do
not."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.sample_documents import signed_copy
from tpi_chart.domain.canonical import canonical_json, content_hash
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.signatures import SignerKey, Trust
from tpi_chart.pdf import pades
from tpi_chart.pdf.note import NoteOptions, ProcedureNoteRenderer, render_note
from tpi_chart.pdf.verify import verify_note
from tpi_chart.services import crypto

OPTIONS = NoteOptions(clinic_name="Riverside Pain & Spine Clinic")
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def authority() -> tuple[SignerKey, Trust]:
    ca_key, ca_cert = crypto.make_ca("Riverside Pain & Spine Clinic", "riverside", NOW)
    key = crypto.new_signing_key()
    cert = crypto.issue_certificate(
        ca_key,
        ca_cert,
        crypto.public_key_der(key),
        common_name="Dr. Alex Chen, MD",
        username="chen",
        now=NOW,
    )
    return SignerKey(key, cert, (ca_cert,), "Dr. Alex Chen, MD"), Trust((ca_cert,), {})


@pytest.fixture
def reference(examples_dir: Path) -> ProcedureDocument:
    data = json.loads((examples_dir / "reference-visit.json").read_text(encoding="utf-8"))
    return ProcedureDocument.model_validate(data)


def sign(document: ProcedureDocument, signer: SignerKey) -> bytes:
    renderer = ProcedureNoteRenderer(document, OPTIONS, digitally_signed=True)
    unsigned = renderer.render()
    box = renderer.signature_box
    assert box is not None
    return pades.sign_pdf(
        unsigned,
        signer,
        field_name="Signature1",
        signed_at=NOW,
        reason="author",
        box=pades.SignatureBox(box.page, box.x1, box.y1, box.x2, box.y2),
        stamp_text="Dr. Alex Chen, MD",
    )


def test_genuine_signed_note_matches(
    reference: ProcedureDocument, authority: tuple[SignerKey, Trust]
) -> None:
    signer, trust = authority
    result = verify_note(sign(signed_copy(reference), signer), trust)
    assert result.ok, result.reason
    assert result.lines()[1].startswith("  note: signed by Dr. Alex Chen, MD at 2026-11-20T18:00")


def test_a_note_without_a_signature_only_claims_one(
    reference: ProcedureDocument, authority: tuple[SignerKey, Trust]
) -> None:
    _, trust = authority
    result = verify_note(render_note(signed_copy(reference), OPTIONS), trust)
    assert str(result).startswith("mismatch: no digital signature")


def test_an_altered_document_signed_again_by_a_trusted_physician_is_caught_by_its_hash(
    reference: ProcedureDocument, authority: tuple[SignerKey, Trust]
) -> None:
    signer, trust = authority
    signed = signed_copy(reference)
    assert signed.procedure.signature is not None
    altered_patient = signed.patient.model_copy(update={"weight_kg": 99.0})
    altered = signed.model_copy(update={"patient": altered_patient})
    assert content_hash(altered) != signed.procedure.signature.content_hash
    result = verify_note(sign(altered, signer), trust)
    assert str(result).startswith("mismatch: embedded document altered")


def test_the_signer_must_be_the_physician_the_note_names(
    reference: ProcedureDocument, authority: tuple[SignerKey, Trust]
) -> None:
    signer, trust = authority
    signed = signed_copy(reference)
    assert signed.procedure.signature is not None
    other = signed.procedure.signature.model_copy(update={"signed_by": "Dr. Kim Lee, DO"})
    renamed = signed.model_copy(
        update={"procedure": signed.procedure.model_copy(update={"signature": other})}
    )
    result = verify_note(sign(renamed, signer), trust)
    assert "names Dr. Kim Lee, DO as signer" in result.reason


def test_without_a_trust_root_nothing_is_genuine(
    reference: ProcedureDocument, authority: tuple[SignerKey, Trust]
) -> None:
    signer, _ = authority
    result = verify_note(sign(signed_copy(reference), signer), None)
    assert str(result).startswith("mismatch: no trust root")


def test_draft_is_a_mismatch(
    reference: ProcedureDocument, authority: tuple[SignerKey, Trust]
) -> None:
    _, trust = authority
    assert str(verify_note(render_note(reference, OPTIONS), trust)).startswith(
        "mismatch: unsigned draft"
    )


@pytest.mark.parametrize(
    "data", [b"", b"hello", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF"]
)
def test_foreign_files_are_a_mismatch(data: bytes, authority: tuple[SignerKey, Trust]) -> None:
    _, trust = authority
    assert str(verify_note(data, trust)).startswith("mismatch: not a")


def test_embedded_document_is_read_back_exactly(
    reference: ProcedureDocument, authority: tuple[SignerKey, Trust]
) -> None:
    signer, _ = authority
    document = signed_copy(reference)
    files = pades.embedded_files(sign(document, signer))
    assert files["procedure.json"] == canonical_json(document.to_json_dict())
