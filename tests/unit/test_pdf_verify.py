"""verify: a genuine note matches; altered embedded data, altered pages, drafts and foreign PDFs
do not."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from tpi_chart.domain.canonical import canonical_json
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.pdf.attachments import read_pdf_objects
from tpi_chart.pdf.examples import signed_copy, with_addendum
from tpi_chart.pdf.note import RENDER_ATTACHMENT, NoteOptions, render_note
from tpi_chart.pdf.verify import verify_note

OPTIONS = NoteOptions(clinic_name="Riverside Pain & Spine Clinic")


@pytest.fixture
def reference(examples_dir: Path) -> ProcedureDocument:
    data = json.loads((examples_dir / "reference-visit.json").read_text(encoding="utf-8"))
    return ProcedureDocument.model_validate(data)


@pytest.fixture
def note(reference: ProcedureDocument) -> bytes:
    return render_note(signed_copy(reference), OPTIONS)


def replace_stream(pdf: bytes, needle: bytes, change: object) -> bytes:
    """Decode the stream containing `needle` (decoded), apply `change`, write it back Flate-only
    with a corrected /Length (the xref offsets go stale, as with a careless hand edit)."""
    for obj in read_pdf_objects(pdf).values():
        if obj.raw_stream is None:
            continue
        decoded = obj.stream()
        if needle not in decoded:
            continue
        assert callable(change)
        new_raw = zlib.compress(change(decoded))
        head = obj.head
        start = pdf.index(head)
        new_head = head.replace(b"/ASCII85Decode ", b"").replace(
            f"/Length {len(obj.raw_stream)}".encode(), f"/Length {len(new_raw)}".encode()
        )
        data_start = pdf.index(obj.raw_stream, start)
        return (
            pdf[:start]
            + new_head
            + pdf[start + len(head) : data_start]
            + new_raw
            + pdf[data_start + len(obj.raw_stream) :]
        )
    raise AssertionError(f"no stream contains {needle!r}")


def test_genuine_note_matches(note: bytes) -> None:
    result = verify_note(note)
    assert result.ok, result.reason
    assert str(result) == "match"


def test_note_with_addendum_matches(reference: ProcedureDocument) -> None:
    amended = with_addendum(signed_copy(reference), "Soreness resolved.", "Dr. Alex Chen, MD")
    assert str(verify_note(render_note(amended, OPTIONS))) == "match"


def test_altered_embedded_document_is_a_mismatch(note: bytes) -> None:
    altered = replace_stream(
        note, b'"pain_after":2', lambda data: data.replace(b'"pain_after":2', b'"pain_after":1')
    )
    result = verify_note(altered)
    assert not result.ok
    assert str(result).startswith("mismatch: embedded document altered")


def test_embedded_document_resigned_with_a_new_hash_does_not_match_the_pages(
    reference: ProcedureDocument, note: bytes
) -> None:
    # Change the data AND recompute the hash: the hash check passes, the pages do not.
    forged = signed_copy(
        ProcedureDocument.model_validate(
            {
                **reference.to_json_dict(),
                "procedure": {**reference.to_json_dict()["procedure"], "pain_after": 1},
            }
        )
    )
    forged_bytes = canonical_json(forged.to_json_dict())
    altered = replace_stream(note, b'"pain_after":2', lambda _data: forged_bytes)
    result = verify_note(altered)
    assert str(result).startswith("mismatch: visible content altered")


def test_altered_page_content_is_a_mismatch(note: bytes) -> None:
    # Page 1's content stream: draw something else (any change to what a reader sees).
    altered = replace_stream(note, b" Tj", lambda data: data.replace(b" Tj", b" Tj 1 0 0 rg", 1))
    result = verify_note(altered)
    assert str(result).startswith("mismatch: visible content altered")


def test_altered_render_options_are_a_mismatch(note: bytes) -> None:
    altered = replace_stream(
        note,
        b'"clinic_name"',
        lambda data: data.replace(b"Riverside Pain & Spine Clinic", b"Another Clinic"),
    )
    assert not verify_note(altered).ok


def test_different_renderer_version_is_reported(note: bytes) -> None:
    altered = replace_stream(
        note,
        b'"renderer"',
        lambda data: data.replace(b'"app_version":"', b'"app_version":"0.0.1-old+'),
    )
    result = verify_note(altered)
    assert str(result).startswith("mismatch: made by a different renderer version")


def test_appended_bytes_are_a_mismatch(note: bytes) -> None:
    result = verify_note(note + b"\n% appended\n")
    assert not result.ok
    assert "outside the page content" in result.reason


def test_draft_is_a_mismatch(reference: ProcedureDocument) -> None:
    result = verify_note(render_note(reference, OPTIONS))
    assert str(result).startswith("mismatch: unsigned draft")


@pytest.mark.parametrize(
    "data", [b"", b"hello", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF"]
)
def test_foreign_files_are_not_tpi_chart_notes(data: bytes) -> None:
    assert str(verify_note(data)).startswith("mismatch: not a TPI Chart note")


def test_render_attachment_is_required(note: bytes) -> None:
    altered = note.replace(RENDER_ATTACHMENT.encode(), b"other-file.json")
    assert str(verify_note(altered)).startswith("mismatch: not a TPI Chart note")
