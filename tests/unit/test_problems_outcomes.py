"""Issue 12 below the window: the diagnosis data, the completeness check and its clinic setting,
the time-out's checks and date of service, follow-up outcomes, voids and entered-in-error notes,
and the demo kept out of a clinic's database."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.accounts import signing_physician
from tests.engines import open_clinic
from tests.unit.auth_support import reference_document
from tests.users import staff
from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagnoses import load_diagnoses
from tpi_chart.domain.models import FollowUp, Procedure
from tpi_chart.domain.resources import resource_path
from tpi_chart.domain.signing import NOTE_FIELDS, missing_items, not_documented
from tpi_chart.domain.users import User
from tpi_chart.services.access import PermissionDenied
from tpi_chart.services.context import open_services
from tpi_chart.services.errors import InvalidInput, ProcedureLocked

MST = timezone(timedelta(hours=-7))
CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
RIVERA = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))
ACKS = {"ptx_risk_site": "pincer technique", "multi_region": "one pain pattern"}


@pytest.fixture
def services(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Any]:
    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    with open_clinic(engine, tmp_path, request, staff("rivera")) as opened:
        yield opened


def _stored(services: Any, **changes: Any) -> int:
    document = reference_document(**changes)
    patient = services.patients.by_mrn(document.patient.mrn)
    if patient is None:
        patient = services.patients.create(document.patient)
    return int(services.charting.create(patient.id, document.procedure).id)


# ---- the diagnosis data ---------------------------------------------------------------------


def test_the_bundled_codes_cover_the_reference_and_the_lcd_list_with_valid_regions() -> None:
    catalog = load_diagnoses()
    reference = Path(__file__).parents[2] / "resources" / "catalog" / "diagnoses.json"
    assert reference == resource_path("catalog/diagnoses.json")
    lcd = set(load_catalog().payers["medicare-2024"].covered_diagnoses)
    assert lcd <= set(catalog.by_code)
    section_3 = {"M54.2", "M54.50", "M54.51", "M54.59", "M54.6", "M25.511", "M25.552", "M26.621"}
    assert section_3 <= set(catalog.by_code)
    regions = {region.id for region in load_catalog().regions.values()}
    for diagnosis in catalog.by_code.values():
        assert diagnosis.regions, diagnosis.code
        assert set(diagnosis.regions) <= regions, diagnosis.code
        # Every code is one the procedure model accepts.
        Procedure(performed_at=datetime(2026, 1, 1, tzinfo=MST), diagnoses=(diagnosis.code,))
    assert "M79.7" in catalog.by_code
    assert not catalog.by_code["M79.7"].verified  # the reference marks its text UNVERIFIED
    assert json.loads(reference.read_text())["source"]


def test_type_ahead_finds_by_code_prefix_or_by_every_word() -> None:
    catalog = load_diagnoses()
    assert [d.code for d in catalog.search("m25.55")] == ["M25.551", "M25.552", "M25.559"]
    assert catalog.search("auxiliary neck")[0].code == "M79.12"
    assert catalog.search("") == []
    assert catalog.label("Z99.9") == "Z99.9"  # outside the subset: shown as the code


# ---- completeness ---------------------------------------------------------------------------


def test_not_documented_follows_the_note_order_and_the_required_setting(services: Any) -> None:
    blank = Procedure(performed_at=datetime(2026, 11, 20, 9, tzinfo=MST))
    keys = [field.key for field in not_documented(blank)]
    order = [field.key for field in NOTE_FIELDS]
    assert keys == [key for key in order if key in keys]
    assert "prior_relief" not in keys  # an initial session has no previous relief
    required = [item.field for item in missing_items(blank)]
    assert required[:3] == ["procedure.diagnoses", "procedure.consent", "procedure.safety_screen"]
    assert "procedure.technique" not in required
    assert "procedure.technique" in [
        item.field for item in missing_items(blank, required=frozenset({"technique"}))
    ]
    # A repeat under medicare-2024 needs the relief with its date and scale and a function score.
    repeat = reference_document(prior_relief_scale=None, functional_scores=[]).procedure
    fields = [item.field for item in missing_items(repeat)]
    assert fields == ["procedure.prior_relief", "procedure.functional_score"]


def test_the_clinic_chooses_what_is_required_to_sign(services: Any) -> None:
    procedure_id = _stored(services, technique=[])
    assert services.signing.readiness(procedure_id).missing == ()
    services.settings.update(required_to_sign=frozenset({"diagnoses", "technique"}))
    assert services.settings.required_to_sign() == frozenset({"diagnoses", "technique"})
    readiness = services.signing.readiness(procedure_id)
    assert [item.field for item in readiness.missing] == ["procedure.technique"]
    with pytest.raises(InvalidInput, match=r"settings.required_to_sign: unknown field\(s\) x"):
        services.settings.update(required_to_sign=frozenset({"x"}))


# ---- the time-out ---------------------------------------------------------------------------


def test_the_time_out_needs_a_physician_a_site_and_consent_and_sets_the_date_of_service(
    services: Any,
) -> None:
    planned_for = datetime(2026, 11, 20, 9, 30, tzinfo=MST)
    procedure_id = _stored(
        services,
        performed_at=planned_for.isoformat(),
        time_out=None,
        consent=None,
        status="planned",
        sites=[],
    )
    at = planned_for + timedelta(minutes=47)
    with pytest.raises(PermissionDenied):
        services.charting.record_time_out(procedure_id, RIVERA, site_marked=True, at=at)
    with pytest.raises(InvalidInput) as refused:
        services.charting.record_time_out(procedure_id, CHEN, site_marked=True, at=at)
    assert list(refused.value.problems) == [
        "procedure.time_out: plan at least one site first (sites and sides are part of the "
        "time-out)",
        "procedure.time_out: record the consent first (consent is part of the time-out)",
    ]
    assert services.charting.get(procedure_id).procedure.time_out is None
    services.charting.add_site(
        procedure_id,
        reference_document().procedure.sites[0].model_copy(update={"state": "planned"}),
    )
    services.charting.update(procedure_id, {"consent": reference_document().procedure.consent})
    stored = services.charting.record_time_out(procedure_id, CHEN, site_marked=False, at=at)
    procedure = stored.procedure
    assert procedure.performed_at == at
    assert procedure.planned_at == planned_for
    assert procedure.status == "in_progress"
    assert procedure.time_out is not None
    assert procedure.time_out.performed_by == CHEN.display_name
    assert procedure.time_out.elements[0] == "Patient: Lopez, Maria · DOB 1974-05-12 · MRN D1001"
    assert procedure.time_out.elements[-1] == "Sites marked on the skin: no"
    with pytest.raises(InvalidInput, match="already recorded"):
        services.charting.record_time_out(procedure_id, CHEN, site_marked=True, at=at)


# ---- follow-up, void, entered in error -----------------------------------------------------


def test_a_follow_up_is_the_relief_the_next_visit_and_the_history_see(services: Any) -> None:
    first = _stored(services, performed_at="2026-09-01T10:00:00-07:00", prior_relief_percent=None)
    second = _stored(
        services,
        prior_relief_percent=None,
        prior_relief_weeks=None,
        prior_relief_scale=None,
        prior_relief_measured_on=None,
    )
    assert services.charting.document(second).prior_procedures[0].relief_percent is None
    with pytest.raises(InvalidInput, match="on or after the visit"):
        services.charting.record_follow_up(
            first, FollowUp(measured_on=date(2026, 8, 1), relief_percent=40)
        )
    services.charting.record_follow_up(
        first, FollowUp(measured_on=date(2026, 10, 20), relief_percent=60, relief_weeks=8)
    )
    prior = services.charting.document(second).prior_procedures[0]
    assert (prior.relief_percent, prior.relief_weeks, prior.relief_scale) == (60, 8, "NRS")
    assert prior.relief_measured_on == date(2026, 10, 20)
    patient_id = services.charting.get(first).patient_id
    summaries = services.charting.list_for_patient(patient_id)
    assert {s.id: s.relief_percent for s in summaries}[first] == 60
    assert services.store.procedures.history(patient_id)[0].follow_up is not None


def test_voiding_keeps_the_procedure_hides_it_and_refuses_changes(services: Any) -> None:
    procedure_id = _stored(services)
    with pytest.raises(InvalidInput, match=r"void\.reason"):
        services.charting.void(procedure_id, "  ")
    services.charting.void(procedure_id, "opened for the wrong patient")
    patient_id = services.charting.get(procedure_id).patient_id
    assert services.charting.list_for_patient(patient_id) == []
    hidden = services.charting.list_for_patient(patient_id, include_voided=True)
    assert [(s.id, s.voided) for s in hidden] == [(procedure_id, True)]
    assert services.store.procedures.history(patient_id) == []
    with pytest.raises(ProcedureLocked, match="voided"):
        services.charting.update(procedure_id, {"pain_after": 1})
    rows = services.store.audit.rows(mrn="D1001")
    voids = [row for row in rows if row.action == "void"]
    assert len(voids) == 1
    assert voids[0].procedure_id == procedure_id


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")
def test_a_signed_note_entered_in_error_carries_the_banner_and_leaves_the_history(
    services: Any, tmp_path: Path
) -> None:
    procedure_id = _stored(services)
    chen = signing_physician(services)
    physician = services.as_user(chen)
    physician.signing.sign(procedure_id, chen, ACKS)
    with pytest.raises(ProcedureLocked, match="entered in error"):
        services.charting.void(procedure_id, "wrong patient")
    physician.signing.add_addendum(
        procedure_id, chen, "Charted for the wrong patient", entered_in_error=True
    )
    patient_id = services.charting.get(procedure_id).patient_id
    assert services.store.procedures.history(patient_id) == []
    path = tmp_path / "note.pdf"
    path.write_bytes(services.notes.render(procedure_id))
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "ENTERED IN ERROR." in text
    assert "Charted for the wrong patient" in text


def test_the_demo_is_never_seeded_into_a_clinic_s_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On files (`tpi-chart demo` makes a demo file; a server clinic is never seeded)."""
    from tpi_chart.cli.main import main

    monkeypatch.setenv("TPI_CHART_KEY_DIR", str(tmp_path / "keys"))
    database = str(tmp_path / "clinic.db")
    with open_services(Path(database), staff("rivera")) as services:
        clinic_patient = reference_document().patient.model_copy(update={"mrn": "C9001"})
        services.patients.create(clinic_patient)
    assert main(["demo", "--db", database]) == 1
    assert "already holds a clinic's patients" in capsys.readouterr().err
    assert main(["demo", "--db", str(tmp_path / "demo.db")]) == 0
    assert main(["demo", "--db", str(tmp_path / "demo.db")]) == 0  # already there: nothing done
