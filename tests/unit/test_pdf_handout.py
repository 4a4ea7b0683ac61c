"""The aftercare handout: one page, plain language, pneumothorax signs only when relevant."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.pdf.attachments import read_pdf_objects
from tpi_chart.pdf.handout import injected_areas, pneumothorax_risk, render_handout
from tpi_chart.pdf.note import NoteOptions

OPTIONS = NoteOptions(clinic_name="Riverside Pain & Spine Clinic", clinic_phone="(555) 010-2030")


def text_of(pdf: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils is required"
    path = tmp_path / "handout.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout
    return " ".join(out.decode("utf-8").split())


def pages(pdf: bytes) -> int:
    return sum(
        1
        for o in read_pdf_objects(pdf).values()
        if o.raw_stream is None and re.search(rb"/Type\s*/Page\b", o.head)
    )


@pytest.fixture
def reference(examples_dir: Path) -> ProcedureDocument:
    data = json.loads((examples_dir / "reference-visit.json").read_text(encoding="utf-8"))
    return ProcedureDocument.model_validate(data)


def test_reference_handout(reference: ProcedureDocument, tmp_path: Path) -> None:
    pdf = render_handout(reference, OPTIONS)
    assert pages(pdf) == 1
    text = text_of(pdf, tmp_path)
    for expected in [
        "Riverside Pain & Spine Clinic",
        "(555) 010-2030",
        "Maria Lopez",
        "November 20, 2026",
        "Neck and shoulder area (upper back)",
        "within a few days",
        "1 to 2 days",
        "72 hours",
        "fever, redness, or oozing",
        "chest pain",
        "shortness of breath",
    ]:
        assert expected in text, expected
    assert render_handout(reference, OPTIONS) == pdf


def test_no_pneumothorax_section_without_a_risk_muscle(
    reference: ProcedureDocument, tmp_path: Path
) -> None:
    data = reference.to_json_dict()
    data["procedure"]["sites"] = [
        s
        for s in data["procedure"]["sites"]
        if s["muscle"] in ("infraspinatus", "levator_scapulae")
    ]
    document = ProcedureDocument.model_validate(data)
    assert not pneumothorax_risk(document)
    text = text_of(render_handout(document, NoteOptions(clinic_name="Clinic")), tmp_path)
    assert "shortness of breath" not in text
    assert "Questions? Call Clinic." in text


def test_areas_are_plain_region_names(reference: ProcedureDocument) -> None:
    assert injected_areas(reference) == ["neck", "shoulder area (upper back)"]
