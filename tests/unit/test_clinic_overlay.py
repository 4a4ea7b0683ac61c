"""The clinic folder: payer profiles added, maxima tightened (looser only with a reason), bad
files refused naming file and field, and the catalog passed into validation explicitly."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tpi_chart.app import main as app_main
from tpi_chart.domain.catalog import load_catalog, read_shipped_catalog, validation_context
from tpi_chart.domain.clinic_overlay import apply_clinic_folder
from tpi_chart.domain.errors import InvalidInput
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.parsing import parse_document
from tpi_chart.domain.rules import evaluate

EXAMPLES = Path(__file__).parents[1] / "examples"
CLINIC_PAYER = {
    "id": "acme-ppo",
    "name": "Acme PPO",
    "effective": "2026-01-01",
    "source": "Acme provider manual 2026, section 7",
    "max_sessions_per_365_days": 4,
    "min_days_same_muscle_side": 28,
}


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _reference(payer: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / "reference-visit.json").read_text("utf-8"))
    document["procedure"]["payer_profile"] = payer
    return document


def _lidocaine_max() -> tuple[float | None, float]:
    dose = read_shipped_catalog().agents["lidocaine"].max_dose
    assert dose is not None
    return dose.mg_per_kg, dose.max_mg


def test_no_folder_changes_nothing(tmp_path: Path) -> None:
    shipped = read_shipped_catalog()
    clinic = apply_clinic_folder(shipped, tmp_path / "absent")
    assert clinic.changes == ()
    assert clinic.catalog == shipped


def test_payer_profile_is_added_and_named(tmp_path: Path) -> None:
    _write(tmp_path / "payers" / "acme.json", CLINIC_PAYER)
    clinic = apply_clinic_folder(read_shipped_catalog(), tmp_path)
    assert clinic.catalog.payers["acme-ppo"].max_sessions_per_365_days == 4
    assert set(read_shipped_catalog().payers) < set(clinic.catalog.payers)
    assert clinic.changes == (
        "adds payer profile 'acme-ppo' (Acme PPO, effective 2026-01-01) from payers/acme.json",
    )


def test_stricter_maximum_is_applied(tmp_path: Path) -> None:
    per_kg, max_mg = _lidocaine_max()
    assert per_kg is not None
    override = {"max_mg": max_mg / 2, "mg_per_kg": per_kg / 2, "source": "clinic policy 2026"}
    _write(tmp_path / "formulary.json", {"maxima": {"lidocaine": override}})
    clinic = apply_clinic_folder(read_shipped_catalog(), tmp_path)
    dose = clinic.catalog.agents["lidocaine"].max_dose
    assert dose is not None
    assert (dose.mg_per_kg, dose.max_mg) == (per_kg / 2, max_mg / 2)
    assert dose.source == "clinic formulary: clinic policy 2026"
    (change,) = clinic.changes
    assert change.startswith("lidocaine maximum: ")
    assert change.endswith(f"-> {per_kg / 2:g} mg/kg, at most {max_mg / 2:g} mg (stricter)")


def test_looser_maximum_is_refused_naming_the_field(tmp_path: Path) -> None:
    per_kg, max_mg = _lidocaine_max()
    override = {"max_mg": max_mg + 100, "mg_per_kg": per_kg, "source": "we think it is fine"}
    _write(tmp_path / "formulary.json", {"maxima": {"lidocaine": override}})
    with pytest.raises(InvalidInput) as refused:
        apply_clinic_folder(read_shipped_catalog(), tmp_path)
    (line,) = refused.value.problems
    assert line.startswith('formulary.json: maxima["lidocaine"]: max_mg ')
    assert "only a stricter maximum is accepted" in line


def test_looser_maximum_needs_a_reason(tmp_path: Path) -> None:
    per_kg, max_mg = _lidocaine_max()
    override = {"max_mg": max_mg + 100, "mg_per_kg": per_kg, "source": "s", "allow_looser": True}
    _write(tmp_path / "formulary.json", {"maxima": {"lidocaine": override}})
    with pytest.raises(InvalidInput) as refused:
        apply_clinic_folder(read_shipped_catalog(), tmp_path)
    assert refused.value.problems == (
        "formulary.json: maxima.lidocaine.reason: is required when allow_looser is true",
    )


def test_looser_maximum_with_reason_is_applied_and_flagged_unverified(tmp_path: Path) -> None:
    per_kg, max_mg = _lidocaine_max()
    override = {
        "max_mg": max_mg + 100,
        "mg_per_kg": per_kg,
        "source": "medical director memo 12",
        "allow_looser": True,
        "reason": "tumescent protocol under monitoring",
    }
    _write(tmp_path / "formulary.json", {"maxima": {"lidocaine": override}})
    clinic = apply_clinic_folder(read_shipped_catalog(), tmp_path)
    dose = clinic.catalog.agents["lidocaine"].max_dose
    assert dose is not None
    assert dose.max_mg == max_mg + 100
    assert dose.verified is False
    assert "tumescent protocol" in dose.source
    assert "LOOSER" in clinic.changes[0]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"payers/bad.json": {**CLINIC_PAYER, "max_sessions_per_365_days": "often"}},
            "payers/bad.json: max_sessions_per_365_days: ",
        ),
        (
            {"payers/bad.json": {**CLINIC_PAYER, "colour": "red"}},
            "payers/bad.json: colour: unknown field; it is not part of the clinic folder's format",
        ),
        (
            {"payers/medicare.json": {**CLINIC_PAYER, "id": "medicare-2024"}},
            "payers/medicare.json: id: 'medicare-2024' is a shipped payer profile",
        ),
        (
            {"payers/a.json": CLINIC_PAYER, "payers/b.json": CLINIC_PAYER},
            "payers/b.json: id: 'acme-ppo' is also the id in payers/a.json",
        ),
        (
            {"formulary.json": {"maxima": {"unobtainium": {"max_mg": 1, "source": "s"}}}},
            'formulary.json: maxima["unobtainium"]: unknown agent; allowed: ',
        ),
        (
            {"formulary.json": {"maxima": {"lidocaine": {"max_mg": -5, "source": "s"}}}},
            "formulary.json: maxima.lidocaine.max_mg: must be greater than 0",
        ),
        ({"formulary.json": [1, 2]}, "formulary.json: expected a JSON object"),
    ],
)
def test_bad_files_are_refused_naming_file_and_field(
    tmp_path: Path, files: dict[str, Any], expected: str
) -> None:
    for name, data in files.items():
        _write(tmp_path / name, data)
    with pytest.raises(InvalidInput) as refused:
        apply_clinic_folder(read_shipped_catalog(), tmp_path)
    assert any(line.startswith(expected) for line in refused.value.problems), refused.value.problems


def test_not_json_is_refused_with_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "payers").mkdir()
    (tmp_path / "payers" / "broken.json").write_text('{"id": "x",\n  oops}', encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        apply_clinic_folder(read_shipped_catalog(), tmp_path)
    (line,) = refused.value.problems
    assert line.startswith("payers/broken.json: not valid JSON: line 2 column 3")


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(min_value=0.01, max_value=1.0), per_kg_fraction=st.floats(0.01, 1.0))
def test_any_stricter_maximum_is_accepted(
    tmp_path_factory: pytest.TempPathFactory, fraction: float, per_kg_fraction: float
) -> None:
    folder = tmp_path_factory.mktemp("clinic")
    per_kg, max_mg = _lidocaine_max()
    assert per_kg is not None
    override = {"max_mg": max_mg * fraction, "mg_per_kg": per_kg * per_kg_fraction, "source": "s"}
    _write(folder / "formulary.json", {"maxima": {"lidocaine": override}})
    dose = apply_clinic_folder(read_shipped_catalog(), folder).catalog.agents["lidocaine"].max_dose
    assert dose is not None
    assert dose.max_mg <= max_mg
    assert dose.mg_per_kg is not None
    assert dose.mg_per_kg <= per_kg


def test_validation_uses_the_catalog_passed_in(tmp_path: Path) -> None:
    _write(tmp_path / "payers" / "acme.json", CLINIC_PAYER)
    clinic = apply_clinic_folder(read_shipped_catalog(), tmp_path).catalog
    document = _reference("acme-ppo")
    # The catalog in force (shipped) does not know the clinic's payer ...
    _, problems = parse_document(json.dumps(document).encode(), "doc.json")
    assert problems == [
        "procedure.payer_profile: unknown payer profile 'acme-ppo'; allowed: medicare-2024, none"
    ]
    # ... the catalog passed in does, without anything put in force.
    parsed = ProcedureDocument.model_validate(document, context=validation_context(clinic))
    assert parsed.procedure.payer_profile == "acme-ppo"
    assert evaluate(parsed, catalog=clinic).payer_profile == "acme-ppo"
    assert "acme-ppo" not in load_catalog().payers


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = app_main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_command_uses_the_clinic_payer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clinic = tmp_path / "clinic"
    _write(clinic / "payers" / "acme.json", CLINIC_PAYER)
    document = _write(tmp_path / "visit.json", _reference("acme-ppo"))
    code, _, err = _cli(capsys, "check", str(document))
    assert code == 2
    assert "unknown payer profile 'acme-ppo'" in err

    monkeypatch.setenv("TPI_CHART_CLINIC_DIR", str(clinic))
    code, out, err = _cli(capsys, "check", str(document))
    assert (code, err) == (0, "")
    assert json.loads(out)["payer_profile"] == "acme-ppo"


def test_catalog_check_prints_the_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TPI_CHART_CLINIC_DIR", str(tmp_path))
    code, out, _ = _cli(capsys, "catalog", "check")
    assert (code, out.strip()) == (
        0,
        f"clinic folder: {tmp_path}\n  no changes: the shipped catalog is used as it is",
    )
    _write(tmp_path / "payers" / "acme.json", CLINIC_PAYER)
    code, out, _ = _cli(capsys, "catalog", "check")
    assert code == 0
    assert "adds payer profile 'acme-ppo' (Acme PPO" in out


def test_a_bad_clinic_folder_is_exit_2_naming_the_field_and_stops_other_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TPI_CHART_CLINIC_DIR", str(tmp_path))
    _write(tmp_path / "payers" / "acme.json", {**CLINIC_PAYER, "min_days_same_muscle_side": "x"})
    code, out, err = _cli(capsys, "catalog", "check")
    assert (code, out) == (2, "")
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"tpi-chart: the clinic folder {tmp_path} has 1 problem(s)")
    assert lines[1].startswith(str(tmp_path / "payers" / "acme.json: min_days_same_muscle_side"))
    assert "Traceback" not in err

    code, out, err = _cli(capsys, "check", str(EXAMPLES / "reference-visit.json"))
    assert (code, out) == (2, "")
    assert "min_days_same_muscle_side" in err


def test_catalog_check_without_a_folder_says_where_one_would_go(
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = Path(os.environ["HOME"])
    code, out, _ = _cli(capsys, "catalog", "check")
    assert code == 0
    assert out == (
        f"clinic folder: none (neither {home / '.config' / 'tpi-chart' / 'clinic'} nor "
        f"{home / 'etc' / 'xdg' / 'tpi-chart' / 'clinic'} exists); the shipped catalog is used "
        "as it is\n"
    )
