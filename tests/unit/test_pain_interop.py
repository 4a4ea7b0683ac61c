"""The pain drawing reaches the record system as data: the muscles' areas the patient shaded,
with the worst level shaded there (FHIR Observations with a bodySite, and one HL7 TX OBX)."""

from __future__ import annotations

import json
from pathlib import Path

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from tests.sample_documents import signed_copy
from tpi_chart.domain.diagram import load_diagram, resolve_point
from tpi_chart.domain.models import PainDrawing, PainStroke, ProcedureDocument
from tpi_chart.domain.pain_areas import summarize_pain
from tpi_chart.domain.rules import evaluate
from tpi_chart.interop.charges import charge_lines
from tpi_chart.interop.fhir import build_bundle, validate_bundle
from tpi_chart.interop.hl7v2 import build_mdm, unescape
from tpi_chart.interop.model import SignedNote

PDF = b"%PDF-1.4\n%%EOF\n"


def _inside(view: str, muscle: str, side: str) -> tuple[float, float]:
    """A point where a click (and so a brush) lands on this muscle, not one lying over it."""
    zone = load_diagram().view(view).zone_for(muscle, side)
    assert zone is not None
    x0, y0, x1, y1 = zone.bounds
    for i in range(1, 20):
        for j in range(1, 20):
            point = (x0 + (x1 - x0) * i / 20, y0 + (y1 - y0) * j / 20)
            if resolve_point(view, *point) == (muscle, side):
                return point
    raise AssertionError(f"no point of {muscle} {side} is on top")


def _drawing() -> PainDrawing:
    tx, ty = _inside("posterior", "upper_trapezius", "right")
    lx, ly = _inside("posterior", "infraspinatus", "left")
    return PainDrawing(
        strokes=(
            PainStroke(view="posterior", intensity=1, points=((tx, ty), (tx, ty), (tx, ty))),
            PainStroke(view="posterior", intensity=3, points=((tx, ty),)),
            PainStroke(view="posterior", intensity=2, points=((lx, ly),)),
            PainStroke(view="posterior", intensity=2, points=((0.02, 0.02),)),  # off the body
        )
    )


def _note(examples_dir: Path, drawing: PainDrawing | None) -> SignedNote:
    data = json.loads((examples_dir / "reference-visit.json").read_text(encoding="utf-8"))
    document = ProcedureDocument.model_validate(data)
    document = document.model_copy(
        update={"procedure": document.procedure.model_copy(update={"pain_drawing": drawing})}
    )
    signed = signed_copy(document)
    evaluation = evaluate(signed)
    return SignedNote(
        clinic_id="7c1f0e52-5d0e-4d4e-9a37-0d5f1f7f2b11",
        clinic_name="Riverside Pain Clinic",
        procedure_id=7,
        document=signed,
        evaluation=evaluation,
        charges=charge_lines(signed, evaluation),
        pdf=PDF,
    )


def test_the_summary_names_each_shaded_muscle_with_its_worst_level() -> None:
    summary = summarize_pain(_drawing())
    assert [(a.muscle, a.side, a.intensity_word) for a in summary.areas] == [
        ("upper_trapezius", "right", "severe"),  # 4 of 6 points, worst level 3
        ("infraspinatus", "left", "moderate"),
    ]
    assert summary.areas[0].share == 4 / 6
    assert summary.outside_share == 1 / 6
    assert summary.sentence() == (
        "Upper trapezius (right): severe; Infraspinatus (left): moderate; "
        "17% of the shading outside the muscle zones"
    )


def test_fhir_sends_one_observation_per_shaded_area(examples_dir: Path) -> None:
    bundle = build_bundle(_note(examples_dir, _drawing()))
    assert validate_bundle(bundle) == []
    areas = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["text"] == "Pain location marked by the patient"
    ]
    assert [(o["bodySite"]["text"], o["valueCodeableConcept"]["text"]) for o in areas] == [
        ("Right upper trapezius", "severe"),
        ("Left infraspinatus", "moderate"),
    ]
    assert all(o["status"] == "final" for o in areas)
    assert len({o["id"] for o in areas}) == 2


def test_no_drawing_no_pain_location(examples_dir: Path) -> None:
    note = _note(examples_dir, None)
    assert "Pain location" not in json.dumps(build_bundle(note))
    assert "PAIN-DRAWING" not in build_mdm(note)


def test_hl7_carries_the_summary_in_a_text_observation(examples_dir: Path) -> None:
    text = build_mdm(_note(examples_dir, _drawing()))
    message = parse_message(text.replace("\n", "\r"), validation_level=VALIDATION_LEVEL.STRICT)
    assert message.name == "MDM_T02"
    (obx,) = [s for s in text.split("\r") if s.startswith("OBX|2|")]
    fields = obx.split("|")
    assert fields[2] == "TX"
    assert fields[3].startswith("PAIN-DRAWING^")
    assert unescape(fields[5]).startswith("Upper trapezius (right): severe;")
    assert fields[11] == "F"
