"""The procedure note PDF: content (via pdftotext), determinism, layout at scale, metadata."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sample_documents import forty_site_document, signed_copy, with_addendum
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.pdf.attachments import extract_embedded_files, read_pdf_objects
from tpi_chart.pdf.note import (
    DOCUMENT_ATTACHMENT,
    RENDER_ATTACHMENT,
    NoteOptions,
    group_hash,
    render_note,
)

OPTIONS = NoteOptions(clinic_name="Riverside Pain & Spine Clinic", clinic_phone="(555) 010-2030")


def pdftotext(pdf: bytes, tmp_path: Path, first: int | None = None, *, layout: bool = True) -> str:
    assert shutil.which("pdftotext"), "poppler-utils is required (apt-get install poppler-utils)"
    source = tmp_path / "note.pdf"
    source.write_bytes(pdf)
    command = ["pdftotext", "-layout"] if layout else ["pdftotext"]
    if first is not None:
        command += ["-f", str(first), "-l", str(first)]
    result = subprocess.run([*command, str(source), "-"], capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def page_count(pdf: bytes) -> int:
    return sum(
        1
        for obj in read_pdf_objects(pdf).values()
        if obj.raw_stream is None and re.search(rb"/Type\s*/Page\b", obj.head)
    )


@pytest.fixture
def reference(examples_dir: Path) -> ProcedureDocument:
    data = json.loads((examples_dir / "reference-visit.json").read_text(encoding="utf-8"))
    return ProcedureDocument.model_validate(data)


@pytest.fixture
def signed(reference: ProcedureDocument) -> ProcedureDocument:
    return signed_copy(reference)


def test_reference_note_contains_every_field_of_the_note(
    signed: ProcedureDocument, tmp_path: Path
) -> None:
    pdf = render_note(signed, OPTIONS)
    text = pdftotext(pdf, tmp_path)
    flat = " ".join(pdftotext(pdf, tmp_path, layout=False).split())
    expected = [
        "Riverside Pain & Spine Clinic",
        "Lopez, Maria",
        "MRN D1001",
        "DOB 1974-05-12",
        "Date of service 2026-11-20 09:30 UTC−07:00",
        "Physician: Dr. Alex Chen, MD",
        "Myofascial pain of the neck",
        "M79.12 — Myalgia of auxiliary muscles, head and neck",
        "M79.18 — Myalgia, other site",
        "60 % relief for 8 weeks on NRS, measured 2026-11-20",
        "NDI 22 (2026-11-20)",
        "Consent obtained (written)",
        "By J. Rivera, MA",
        "Anticoagulation reviewed",
        "Allergies reviewed",
        "Confirmed by Dr. Alex Chen, MD",
        "At 2026-11-20 09:28 UTC−07:00",
        "Seated",
        "Alcohol",
        "25G × 1.5 in",
        "Pincer palpation",
        "fanning",
        "LD24117",
        "2027-06-30",
        "TK3391",
        "2027-03-31",
        "Lidocaine HCl 80 mg (8 mL)",
        "Triamcinolone acetonide 40 mg (1 mL)",
        "27.8 % of maximum",
        "288 mg maximum",
        "7 → 2",
        "COMPLICATIONS",
        "TOLERANCE",
        "Tolerated well",
        "Written instructions given",
        "Reassess in 6 weeks",
        "20553",
        "J3301 × 4",
        "ptx_risk_site",
        "multi_region",
        "Acknowledged",
        "Reason: Reviewed with the patient",
        "Signed in TPI Chart by Dr. Alex Chen, MD",
        "Signed at 2026-11-20 10:05 UTC−07:00",
        group_hash(content_hash(signed)),
        "Page 1 of",
    ]
    missing = [item for item in expected if item not in flat]
    assert not missing, f"missing from the note: {missing}"
    for muscle, side in [
        ("Upper trapezius", "Left"),
        ("Upper trapezius", "Right"),
        ("Levator scapulae", "Left"),
        ("Levator scapulae", "Right"),
        ("Rhomboid major", "Right"),
        ("Infraspinatus", "Right"),
    ]:
        assert re.search(rf"{muscle}( PTX risk)?\s+{side}", text), (muscle, side)
    total = page_count(pdf)
    assert f"Page {total} of {total}" in flat
    assert "DRAFT" not in flat


def test_unsigned_note_is_a_clear_draft(reference: ProcedureDocument, tmp_path: Path) -> None:
    flat = " ".join(pdftotext(render_note(reference, OPTIONS), tmp_path).split())
    assert "DRAFT — not signed" in flat
    assert "Not signed." in flat
    assert "Signed in TPI Chart" not in flat


def test_same_document_gives_identical_bytes(signed: ProcedureDocument) -> None:
    first = render_note(signed, OPTIONS)
    second = render_note(ProcedureDocument.model_validate(signed.to_json_dict()), OPTIONS)
    assert first == second
    assert b"CreationDate" not in first or b"D:20000101000000" in first


def test_options_change_the_output(signed: ProcedureDocument) -> None:
    letter = render_note(signed, OPTIONS)
    a4 = render_note(signed, NoteOptions(clinic_name=OPTIONS.clinic_name, page_size="a4"))
    assert b"/MediaBox [ 0 0 612 792 ]" in letter
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in a4


def test_document_and_render_info_are_embedded(signed: ProcedureDocument) -> None:
    files = extract_embedded_files(render_note(signed, OPTIONS))
    assert set(files) == {DOCUMENT_ATTACHMENT, RENDER_ATTACHMENT}
    embedded = ProcedureDocument.model_validate_json(files[DOCUMENT_ATTACHMENT])
    assert embedded == signed
    info = json.loads(files[RENDER_ATTACHMENT])
    assert info["options"]["clinic_name"] == OPTIONS.clinic_name


def test_metadata_names_mrn_and_date_but_not_the_patient(signed: ProcedureDocument) -> None:
    pdf = render_note(signed, OPTIONS)
    info = next(
        obj.head
        for obj in read_pdf_objects(pdf).values()
        if obj.raw_stream is None and b"/Producer" in obj.head
    )
    assert b"D1001 2026-11-20" in info
    assert b"Dr. Alex Chen, MD" in info
    assert b"TPI Chart" in info
    assert b"Lopez" not in info
    assert b"Maria" not in info
    assert b"Lopez" not in pdf.split(b"stream")[0]


def test_forty_sites_break_across_pages_with_a_repeated_header(tmp_path: Path) -> None:
    document = signed_copy(forty_site_document())
    pdf = render_note(document, OPTIONS)
    pages = page_count(pdf)
    assert pages > 1
    header = re.compile(r"#\s+Muscle\s+Side\s+Prep\s+mL")
    pages_with_header = [
        number for number in range(1, pages + 1) if header.search(pdftotext(pdf, tmp_path, number))
    ]
    assert len(pages_with_header) >= 2
    text = pdftotext(pdf, tmp_path)
    assert "Total injected" in text
    assert f"Page {pages} of {pages}" in text
    for number in (1, 20, 40):
        assert re.search(rf"^\s*{number}\s+\S", text, re.MULTILINE)


def test_unicode_names_print(tmp_path: Path) -> None:
    document = signed_copy(forty_site_document())
    text = pdftotext(render_note(document, OPTIONS), tmp_path)
    assert "Nguyễn-Ødegård, 李 Thị" in text


def test_addenda_print_below_with_their_own_hash(signed: ProcedureDocument, tmp_path: Path) -> None:
    amended = with_addendum(
        signed, "Patient called: soreness resolved next day.", "Dr. Alex Chen, MD"
    )
    addendum = amended.procedure.addenda[0]
    assert addendum.content_hash is not None
    flat = " ".join(pdftotext(render_note(amended, OPTIONS), tmp_path).split())
    assert "Addendum 1" in flat
    assert "Patient called: soreness resolved next day." in flat
    assert "By Dr. Alex Chen, MD at 2026-11-21 05:30 UTC−07:00" in flat
    assert group_hash(addendum.content_hash) in flat
    assert flat.index("Addendum 1") > flat.index("Signed in TPI Chart")


def test_five_drugs_list_their_doses_in_one_column_instead_of_overflowing(
    reference: ProcedureDocument, tmp_path: Path
) -> None:
    """Found when signing began to draw the note: five agents gave one column each, wider than
    the page, and reportlab refused to draw the table."""
    data = reference.to_json_dict()
    data["procedure"]["preparations"] = [
        {
            "id": "A",
            "components": [
                {"agent": "lidocaine", "concentration": "1%", "volume_ml": 4},
                {"agent": "ropivacaine", "concentration": "0.5%", "volume_ml": 2},
                {"agent": "dexamethasone", "concentration": "10 mg/mL", "volume_ml": 1},
            ],
        },
        {
            "id": "B",
            "components": [
                {"agent": "bupivacaine", "concentration": "0.25%", "volume_ml": 4},
                {"agent": "betamethasone", "concentration": "6 mg/mL", "volume_ml": 1},
            ],
        },
    ]
    for index, site in enumerate(data["procedure"]["sites"]):
        site["preparation"] = "AB"[index % 2]
    document = ProcedureDocument.model_validate(data)
    text = pdftotext(render_note(document), tmp_path, layout=False)
    assert "Doses (mg)" in text
    assert "Ropivacaine" in text or "Ropivacaine".lower() in text.lower()
