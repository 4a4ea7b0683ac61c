"""The procedure document: round-trips, and refusals that name the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from pydantic import ValidationError

from tests.strategies import documents
from tpi_chart.domain.errors import describe_validation_error
from tpi_chart.domain.fields import concentration_mg_per_ml
from tpi_chart.domain.models import ProcedureDocument

REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"


def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def problems(document: dict) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        ProcedureDocument.model_validate(document)
    return describe_validation_error(caught.value)


@settings(max_examples=200, deadline=None)
@given(documents())
def test_any_document_survives_a_json_round_trip(document: ProcedureDocument) -> None:
    text = json.dumps(document.to_json_dict())
    assert ProcedureDocument.model_validate_json(text) == document


def test_reference_visit_parses_and_round_trips() -> None:
    document = ProcedureDocument.model_validate(reference())
    assert document.patient.mrn == "D1001"
    assert len(document.procedure.injected_sites) == 6
    assert ProcedureDocument.model_validate(document.to_json_dict()) == document


@pytest.mark.parametrize(
    ("concentration", "mg_per_ml"),
    [("1%", 10.0), ("0.25 %", 2.5), ("2%", 20.0), ("40 mg/mL", 40.0), ("4 MG/ML", 4.0)],
)
def test_concentrations_convert_percent_at_ten_mg_per_ml(
    concentration: str, mg_per_ml: float
) -> None:
    assert concentration_mg_per_ml(concentration) == pytest.approx(mg_per_ml)


def test_bad_muscle_negative_volume_and_pain_eleven_each_name_their_field() -> None:
    document = reference()
    document["procedure"]["pain_before"] = 11
    document["procedure"]["sites"][2]["muscle"] = "trapezoid"
    document["procedure"]["sites"][3]["volume_ml"] = -1
    lines = problems(document)
    assert "procedure.pain_before: must be at most 10" in lines
    assert any(
        line.startswith("procedure.sites[2].muscle: unknown muscle id 'trapezoid'")
        for line in lines
    )
    assert "procedure.sites[3].volume_ml: must be greater than 0" in lines


def test_unknown_field_is_refused() -> None:
    document = reference()
    document["procedure"]["sites"][0]["colour"] = "red"
    assert problems(document) == [
        "procedure.sites[0].colour: unknown field; "
        "it is not part of the tpi-chart.procedure/1 format"
    ]


def test_site_referring_to_a_missing_preparation_is_refused() -> None:
    document = reference()
    document["procedure"]["sites"][4]["preparation"] = "B"
    assert problems(document) == [
        "procedure.sites[4].preparation: 'B' is not one of the preparations (A)"
    ]


def test_bad_concentration_and_unknown_agent_say_what_is_allowed() -> None:
    document = reference()
    component = document["procedure"]["preparations"][0]["components"][0]
    component["concentration"] = "one percent"
    component["agent"] = "cocaine"
    lines = problems(document)
    assert any("components[0].agent: unknown agent 'cocaine'; allowed:" in line for line in lines)
    assert any(
        "components[0].concentration: 'one percent' is not a concentration" in line
        for line in lines
    )


def test_performed_at_needs_a_time_zone() -> None:
    document = reference()
    document["procedure"]["performed_at"] = "2026-11-20T09:30:00"
    assert problems(document) == [
        "procedure.performed_at: must include a time zone offset, "
        "for example 2026-11-20T09:30:00-07:00"
    ]


def test_coordinates_come_with_a_view() -> None:
    document = reference()
    document["procedure"]["sites"][0]["x"] = 0.4
    assert problems(document) == [
        "procedure.sites[0]: view, x and y go together: give all three or none"
    ]


def test_models_are_frozen() -> None:
    document = ProcedureDocument.model_validate(reference())
    with pytest.raises(ValidationError):
        document.patient.mrn = "X"  # type: ignore[misc]


def test_a_date_of_birth_in_the_future_is_refused() -> None:
    from datetime import date, timedelta

    document = reference()
    tomorrow = date.today() + timedelta(days=1)
    document["patient"]["birth_date"] = tomorrow.isoformat()
    assert problems(document) == [
        f"patient.birth_date: {tomorrow.isoformat()} is in the future; give the date of birth"
    ]


def test_a_number_is_not_a_date_or_a_time() -> None:
    """pydantic would read 0 as 1970-01-01 (seconds since the epoch): a typing mistake."""
    document = reference()
    document["patient"]["birth_date"] = 0
    document["procedure"]["performed_at"] = 1_700_000_000
    document["procedure"]["preparations"][0]["components"][0]["expires"] = 20270531
    lines = problems(document)
    assert "patient.birth_date: type a date like 2027-05-31, not a number" in lines
    assert (
        "procedure.performed_at: type a date and time like 2026-11-20T09:30:00-07:00, not a number"
    ) in lines
    assert (
        "procedure.preparations[0].components[0].expires: type a date like 2027-05-31, not a number"
    ) in lines
