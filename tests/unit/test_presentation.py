"""One presentation spec: the marker of a site and the legend that names what markers show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.test_pdf_note import pdftotext
from tpi_chart.domain.models import ProcedureDocument, Site
from tpi_chart.domain.presentation import (
    LEGEND,
    MarkerSpec,
    legend_entries,
    marker_spec,
    marker_specs,
)
from tpi_chart.pdf.diagram import DRAWN_FEATURES
from tpi_chart.pdf.note import NoteOptions, ProcedureNoteRenderer, render_note

OPTIONS = NoteOptions(clinic_name="Riverside Pain & Spine Clinic")


def _site(**fields: object) -> Site:
    data: dict[str, object] = {"muscle": "infraspinatus", "side": "right", "state": "planned"}
    data.update(fields)
    return Site.model_validate(data)


def _document(examples_dir: Path, name: str) -> dict[str, object]:
    return json.loads((examples_dir / f"{name}.json").read_text("utf-8"))  # type: ignore[no-any-return]


def test_a_site_gives_its_marker() -> None:
    risk = marker_spec(_site(muscle="upper_trapezius", side="left"), 1)
    assert (risk.number, risk.planned, risk.pneumothorax_risk, risk.uncoded) == (
        1,
        True,
        True,
        False,
    )
    uncoded = marker_spec(_site(muscle="unspecified", side="left"), 2)
    assert uncoded.uncoded
    assert not uncoded.pneumothorax_risk
    plain = marker_spec(_site(state="injected", twitch="brisk"), 3)
    assert plain.injected
    assert plain.twitch == "brisk"
    assert not plain.uncoded
    assert plain.features == ("injected", "twitch_brisk")
    assert marker_spec(_site(), 4, removed=True).features == ("planned", "removed")


def test_the_legend_lists_only_what_the_markers_show_in_legend_order() -> None:
    uncoded = MarkerSpec(1, injected=True, pneumothorax_risk=False, uncoded=True, twitch="weak")
    planned = MarkerSpec(2, injected=False, pneumothorax_risk=False, uncoded=False)
    labels = [entry.label for entry in legend_entries([uncoded, planned])]
    assert labels == ["Planned, not injected", "Injected", "Weak twitch", "Not coded to a muscle"]
    # A drawing without twitch letters leaves their entry out.
    assert "Weak twitch" not in [e.label for e in legend_entries([uncoded], DRAWN_FEATURES)]
    assert legend_entries([]) == ()
    assert len({entry.feature for entry in LEGEND}) == len(LEGEND)


def test_note_with_an_uncoded_site_and_no_risk_site_never_says_pneumothorax(
    examples_dir: Path, tmp_path: Path
) -> None:
    data = _document(examples_dir, "safety-flags")
    data["procedure"]["sites"][0].update(view="posterior", x=0.42, y=0.5)  # type: ignore[index]
    document = ProcedureDocument.model_validate(data)
    specs = marker_specs(document.procedure)
    assert any(s.uncoded for s in specs)
    assert not any(s.pneumothorax_risk for s in specs)
    legend = ProcedureNoteRenderer(document, OPTIONS)._legend().getPlainText()
    assert "Not coded to a muscle" in legend
    assert "pneumothorax" not in legend.lower()
    text = pdftotext(render_note(document, OPTIONS), tmp_path, layout=False)
    assert "Not coded to a muscle" in text
    assert "pneumothorax" not in text.lower()


@pytest.mark.parametrize("planned", [False, True])
def test_note_with_a_risk_site_names_it_in_the_legend(
    examples_dir: Path, tmp_path: Path, planned: bool
) -> None:
    data = _document(examples_dir, "reference-visit")
    if planned:
        data["procedure"]["sites"][0]["state"] = "planned"  # type: ignore[index]
    document = ProcedureDocument.model_validate(data)
    legend = ProcedureNoteRenderer(document, OPTIONS)._legend().getPlainText()
    assert "Pneumothorax-risk muscle" in legend
    assert "Not coded" not in legend
    # Planned is listed only when a planned marker is drawn.
    assert ("Planned, not injected" in legend) is planned
    text = pdftotext(render_note(document, OPTIONS), tmp_path, layout=False)
    assert "Pneumothorax-risk muscle" in text
