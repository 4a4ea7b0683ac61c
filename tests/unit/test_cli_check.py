"""`tpi-chart check`: the evaluation as JSON on stdout; bad input exits 2 naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tpi_chart.app import main

EXAMPLES = Path(__file__).parents[1] / "examples"
EXPECTED = EXAMPLES / "expected"
DOCUMENTS = sorted(EXAMPLES.glob("*.json"))


def test_every_example_has_an_expected_result() -> None:
    assert len(DOCUMENTS) >= 6
    assert sorted(p.name for p in EXPECTED.glob("*.json")) == [p.name for p in DOCUMENTS]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.stem)
def test_check_gives_the_expected_json(document: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The examples' clinic is in Denver: its local dates and clock times make the messages.
    assert main(["check", "--timezone", "America/Denver", str(document)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert json.loads(captured.out) == json.loads((EXPECTED / document.name).read_text())
    # Byte-for-byte stable: the expected files are the command's own output.
    assert captured.out == (EXPECTED / document.name).read_text()


def test_reference_visit_headline_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(EXAMPLES / "reference-visit.json")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is True
    assert result["muscle_count"] == 6
    assert result["cpt"] == "20553"
    assert result["anesthetic"]["percent_of_max"] == 27.8
    assert result["hcpcs"][0]["code"] == "J3301"
    assert result["hcpcs"][0]["units"] == 4
    assert [w["code"] for w in result["warnings"]] == ["ptx_risk_site", "multi_region"]


def run_bad(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.splitlines()


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nope.json"
    assert run_bad(["check", str(path)], capsys) == [f"{path}: no such file"]


def test_malformed_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"format": "tpi-chart.procedure/1",\n  "patient": }\n')
    assert run_bad(["check", str(path)], capsys) == [
        f"{path}: not valid JSON: line 2 column 14: Expecting value"
    ]


def test_not_an_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "list.json"
    path.write_text("[]")
    assert run_bad(["check", str(path)], capsys) == [
        f"{path}: not a procedure document: expected a JSON object"
    ]


def test_invalid_document_names_each_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((EXAMPLES / "reference-visit.json").read_text())
    data["procedure"]["sites"][2]["volume_ml"] = 0
    data["patient"]["shoe_size"] = 42
    path = tmp_path / "invalid.json"
    path.write_text(json.dumps(data))
    assert run_bad(["check", str(path)], capsys) == [
        "patient.shoe_size: unknown field; it is not part of the tpi-chart.procedure/1 format",
        "procedure.sites[2].volume_ml: must be greater than 0",
    ]
