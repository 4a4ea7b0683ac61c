"""The note's paragraphs are laid out once per width (`pdf.paragraph.LaidOutOnce`): the PDF
bytes are exactly those of reportlab's own Paragraph, which lays a paragraph out again at every
request for its size, and the repeated requests no longer break its lines again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from reportlab.platypus import Paragraph

from tests.sample_documents import forty_site_document
from tests.strategies import documents
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.pdf.handout import render_handout
from tpi_chart.pdf.note import ProcedureNoteRenderer
from tpi_chart.pdf.paragraph import LaidOutOnce
from tpi_chart.pdf.styles import styles

REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "reference-visit.json"


def note(document: ProcedureDocument) -> bytes:
    return bytes(ProcedureNoteRenderer(document).render())


def as_reportlab_draws(render: Callable[[], bytes], monkeypatch: pytest.MonkeyPatch) -> bytes:
    """`render` with every paragraph laid out at each request, as reportlab's Paragraph does."""
    with monkeypatch.context() as patched:
        patched.setattr(LaidOutOnce, "wrap", Paragraph.wrap)
        return render()


def test_the_reference_note_the_forty_site_note_and_the_handout_are_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference = ProcedureDocument.model_validate_json(REFERENCE.read_text())
    forty = forty_site_document()
    for render in (
        lambda: note(reference),
        lambda: note(forty),
        lambda: bytes(render_handout(reference)),
    ):
        assert render() == as_reportlab_draws(render, monkeypatch)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents())
def test_any_note_is_the_same_bytes(document: ProcedureDocument) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert note(document) == as_reportlab_draws(lambda: note(document), monkeypatch)


def test_a_second_request_at_the_same_width_breaks_no_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken: list[float] = []
    break_lines = Paragraph.breakLines

    def counted(self: Paragraph, widths: list[float]) -> object:
        broken.append(widths[0])
        return break_lines(self, widths)

    monkeypatch.setattr(Paragraph, "breakLines", counted)
    text = LaidOutOnce("Trapezius, upper fibers: local twitch response, " * 8, styles().body)
    first = text.wrap(200, 800)
    assert text.wrap(200, 10) == first  # the height offered does not change a layout
    assert len(broken) == 1
    narrower = text.wrap(120, 800)
    assert narrower[1] > first[1]
    assert text.wrap(200, 800) == first  # a new width lays it out again
    assert len(broken) == 3
    assert text.wrap(0, 800) == (0, 0x7FFFFFFF)  # too narrow: nothing laid out, nothing kept
    assert text.wrap(0, 800) == (0, 0x7FFFFFFF)
    assert len(broken) == 3


def test_a_layout_reportlab_dropped_is_made_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """`split` drops a paragraph's layout when no line fits (it moves on whole); asked again at
    the same width, the paragraph lays itself out again rather than answer from nothing (found
    by the generated notes above: 'LaidOutOnce' object has no attribute 'blPara')."""
    text = LaidOutOnce("Upper trapezius, left: taut band, local twitch. " * 20, styles().body)
    size = text.wrap(200, 800)
    assert text.split(200, 5) == []  # no room for a line here
    assert not hasattr(text, "blPara")
    assert text.wrap(200, 800) == size
    first, rest = text.split(200, 100)
    assert first.wrap(200, 800)[1] + rest.wrap(200, 800)[1] == pytest.approx(size[1])
