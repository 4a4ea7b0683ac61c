"""The note prints the version 2 rules: dry needling, same-day, label cautions, claim modifiers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_pdf_note import pdftotext
from tpi_chart.domain.localdates import clinic_zone, set_clinic_zone, zone_named
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.pdf.note import render_note

EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.fixture(autouse=True)
def denver() -> object:
    before = clinic_zone()
    set_clinic_zone(zone_named("America/Denver"))
    yield
    set_clinic_zone(before)


def note_text(name: str, tmp_path: Path) -> str:
    document = ProcedureDocument.model_validate_json((EXAMPLES / name).read_text())
    text = pdftotext(render_note(document), tmp_path, layout=False)
    return " ".join(text.split())


def test_dry_needling_note(tmp_path: Path) -> None:
    text = note_text("dry-needling-medicare.json", tmp_path)
    assert "Dry needling — procedure note" in text
    assert "Trigger point injection — procedure note" not in text
    assert "20561 — needle insertion(s) without injection (dry needling), 3 or more muscles" in text
    assert "not a trigger point injection" in text
    assert "trigger point injection(s), 1 or 2" not in text
    assert "Dry needling (no injectate)" in text  # the site table
    assert "0 injected in 0 muscles; 3 dry-needled (no injectate) in 3 muscles" in text
    assert "20561-GA × 1" in text
    assert "GA — ABN on file" in text
    assert "dry_needling_not_tpi" in text


def test_same_day_and_label_caution_note(tmp_path: Path) -> None:
    text = note_text("same-day-child.json", tmp_path)
    assert "same_day_procedure" in text
    assert "at 09:00: Levator scapulae (right)" in text
    assert "one 20553 for the day" in text
    assert "drug_label_caution" in text
    assert "NOT for intravenous, intramuscular" in text
    assert "S138" in text
    assert "pediatric_patient" in text
    assert "allergy_cross_reactivity" in text


def test_claim_modifiers_note(tmp_path: Path) -> None:
    text = note_text("coverage-claims-medicare.json", tmp_path)
    assert "20553-GZ × 1" in text
    assert "J3301-GZ × 3" in text
    assert "J3301-JW-GZ × 1 (discarded, single-dose container), NDC 0003-0293-20" in text
    assert "J1885-JZ-GZ × 2" in text
    assert "GZ — no ABN on file" in text
    assert "J1010 (Methylprednisolone acetate): no NDC recorded" in text
    assert "avoid deltoid injection" in text
    assert "image_guidance_not_covered" in text
    assert "volume_exceeds_drawn" in text
