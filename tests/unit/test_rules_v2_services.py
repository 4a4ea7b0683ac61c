"""Rules version 2 through the services: the database history, storage of the new fields, the
clinic's time zone setting and the exported claim lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.engines import open_clinic
from tests.users import staff
from tpi_chart.domain.localdates import clinic_zone, set_clinic_zone
from tpi_chart.domain.models import Component, Preparation, Procedure, ProcedureDocument, Site
from tpi_chart.domain.rules import evaluate
from tpi_chart.services.context import Services
from tpi_chart.services.errors import InvalidInput

EXAMPLES = Path(__file__).parents[1] / "examples"
DENVER = ZoneInfo("America/Denver")


@pytest.fixture
def services(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Services]:
    before = clinic_zone()
    opened = open_clinic(engine, tmp_path, request, staff("ma.rivera"))
    opened.settings.set_time_zone("America/Denver")
    yield opened
    opened.close()
    set_clinic_zone(before)


def _procedure(hour: int, day: int, sites: tuple[Site, ...]) -> Procedure:
    return Procedure(
        performed_at=datetime(2026, 11, day, hour, 0, tzinfo=DENVER),
        payer_profile="medicare-2024",
        diagnoses=("M79.18",),
        preparations=(
            Preparation(
                id="A",
                components=(
                    Component(
                        agent="triamcinolone",
                        concentration="40 mg/mL",
                        volume_ml=1.0,
                        container="single_dose",
                        container_ml=1.0,
                    ),
                ),
            ),
        ),
        sites=sites,
    )


def _patient(services: Services) -> int:
    document = ProcedureDocument.model_validate_json(
        (EXAMPLES / "reference-visit.json").read_text()
    )
    return services.patients.create(document.patient).id


def test_time_zone_setting_is_checked_and_applied(services: Services) -> None:
    assert services.settings.time_zone() == "America/Denver"
    assert clinic_zone() == DENVER
    with pytest.raises(InvalidInput) as raised:
        services.settings.set_time_zone("Mars/Olympus")
    assert raised.value.problems[0].startswith("settings.time_zone: ")
    services.settings.set_time_zone("")
    assert clinic_zone() is None  # the machine's zone


def test_same_day_procedures_in_the_database_see_each_other(services: Services) -> None:
    patient = _patient(services)
    morning = services.charting.create(
        patient,
        _procedure(
            9, 20, (Site(muscle="upper_trapezius", side="left", preparation="A", volume_ml=1.0),)
        ),
    )
    # 18:00 in Denver the day before is 01:00 UTC on the 20th: another local day.
    services.charting.create(
        patient,
        _procedure(
            18, 19, (Site(muscle="levator_scapulae", side="left", preparation="A", volume_ml=1.0),)
        ),
    )
    afternoon = services.charting.create(
        patient,
        _procedure(
            15, 20, (Site(muscle="gluteus_medius", side="left", preparation="A", volume_ml=1.0),)
        ),
    )
    for procedure_id, other in ((afternoon.id, "09:00"), (morning.id, "15:00")):
        result = evaluate(services.charting.document(procedure_id))
        same_day = [w for w in result.warnings if w.code == "same_day_procedure"]
        assert len(same_day) == 1
        assert f"at {other}" in same_day[0].message
        # Neck (morning) and hip (afternoon): two regions in the day's session.
        assert "multi_region" in result.warning_codes


def test_dry_needling_and_containers_are_stored_and_dry_needling_is_no_session(
    services: Services,
) -> None:
    patient = _patient(services)
    dry = services.charting.create(
        patient,
        _procedure(9, 20, (Site(muscle="quadratus_lumborum", side="left", dry_needling=True),)),
    )
    stored = services.charting.document(dry.id).procedure
    assert stored.sites[0].dry_needling is True
    assert stored.preparations[0].components[0].container == "single_dose"
    assert stored.preparations[0].components[0].container_ml == 1.0
    later = services.charting.create(
        patient,
        _procedure(
            15, 20, (Site(muscle="gluteus_medius", side="left", preparation="A", volume_ml=1.0),)
        ),
    )
    # The dry-needling visit injected nothing: it is no session in the later one's history.
    assert services.charting.document(later.id).prior_procedures == ()


def test_export_carries_the_claim_lines_and_imports_again(
    services: Services, tmp_path: Path
) -> None:
    ids = services.documents.import_documents([EXAMPLES / "coverage-claims-medicare.json"])
    out = tmp_path / "claim.json"
    services.documents.export_json(ids[0], out)
    data = json.loads(out.read_text())
    lines = [(line["code"], line["units"], line["modifiers"]) for line in data["billing"]["lines"]]
    assert lines[:3] == [("20553", 1, ["GZ"]), ("J3301", 3, ["GZ"]), ("J3301", 1, ["JW", "GZ"])]
    assert data["billing"]["lines"][0]["diagnosis_pointers"] == [1]
    again = services.documents.import_documents([out])
    assert services.charting.document(again[0]).procedure.sites == (
        services.charting.document(ids[0]).procedure.sites
    )


def test_abn_answer_is_a_header_field_and_decides_ga_or_gz(services: Services) -> None:
    patient = _patient(services)
    stored = services.charting.create(
        patient,
        _procedure(
            9, 20, (Site(muscle="upper_trapezius", side="left", preparation="A", volume_ml=1.0),)
        ).model_copy(update={"image_guidance": "ultrasound"}),
    )
    billing = evaluate(services.charting.document(stored.id)).billing
    assert billing is not None
    assert billing.abn_needed
    services.charting.update(stored.id, {"abn_on_file": True})
    billing = evaluate(services.charting.document(stored.id)).billing
    assert billing is not None
    assert billing.non_coverage_modifier == "GA"
    assert billing.lines[0].modifiers == ("GA",)


def test_copy_forward_keeps_dry_needling_and_containers(services: Services) -> None:
    patient = _patient(services)
    services.charting.create(
        patient,
        _procedure(9, 20, (Site(muscle="quadratus_lumborum", side="left", dry_needling=True),)),
    )
    copied = services.charting.copy_forward(patient, datetime(2026, 12, 4, 9, tzinfo=DENVER))
    procedure = services.charting.document(copied.id).procedure
    assert procedure.sites[0].dry_needling
    assert procedure.sites[0].state == "planned"
    assert procedure.preparations[0].components[0].container == "single_dose"


def test_a_volume_on_a_dry_needled_site_is_refused_not_stored(services: Services) -> None:
    patient = _patient(services)
    stored = services.charting.create(
        patient,
        _procedure(9, 20, (Site(muscle="quadratus_lumborum", side="left", dry_needling=True),)),
    )
    (site,) = services.charting.sites(stored.id)
    # model_copy skips validation, as a widget's quick edit might.
    bad = site.site.model_copy(update={"volume_ml": 1.0})
    with pytest.raises(InvalidInput) as raised:
        services.charting.update_site(site.id, bad)
    assert raised.value.problems[0].startswith("site.dry_needling: ")
    assert services.charting.sites(stored.id)[0].site.volume_ml is None
