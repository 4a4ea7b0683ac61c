"""The screen's markers are drawn from the domain's MarkerSpec, like the printed ones."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QPainter

from tpi_chart.domain.models import Site
from tpi_chart.domain.presentation import (
    LEGEND,
    RISK_COLOUR,
    UNCODED_COLOUR,
    legend_entries,
    marker_spec,
)
from tpi_chart.ui.diagram.items import (
    DRAWN_FEATURES,
    LEGEND_SAMPLES,
    MarkerStyle,
    legend_samples,
    paint_marker,
)


def _site(muscle: str, state: str = "injected") -> Site:
    return Site.model_validate({"muscle": muscle, "side": "left", "state": state})


def _colours(style: MarkerStyle) -> set[tuple[int, int, int]]:
    image = QImage(60, 60, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    paint_marker(painter, QPointF(30, 30), style)
    painter.end()
    return {
        (c.red(), c.green(), c.blue())
        for x in range(60)
        for y in range(60)
        if (c := image.pixelColor(x, y))
    }


def test_a_style_carries_the_spec_it_was_made_from() -> None:
    spec = marker_spec(_site("unspecified", "planned"), 4)
    style = MarkerStyle.from_spec(spec, selected=True)
    assert style.spec == spec
    assert style.selected
    assert style.uncoded
    assert not style.risk


def test_risk_and_uncoded_rings_use_the_shared_hues(qapp: object) -> None:
    risk = QColor(RISK_COLOUR)
    uncoded = QColor(UNCODED_COLOUR)
    drawn_risk = _colours(MarkerStyle.from_spec(marker_spec(_site("upper_trapezius"), 1)))
    drawn_uncoded = _colours(MarkerStyle.from_spec(marker_spec(_site("unspecified"), 2)))
    assert (risk.red(), risk.green(), risk.blue()) in drawn_risk
    assert (uncoded.red(), uncoded.green(), uncoded.blue()) not in drawn_risk
    assert (uncoded.red(), uncoded.green(), uncoded.blue()) in drawn_uncoded
    assert (risk.red(), risk.green(), risk.blue()) not in drawn_uncoded


def test_every_legend_entry_has_a_sample_showing_that_feature() -> None:
    for entry in LEGEND:
        assert entry.feature in LEGEND_SAMPLES[entry.feature].features
    entries = legend_entries([marker_spec(_site("unspecified", "planned"), 1)], DRAWN_FEATURES)
    assert [label for label, _ in legend_samples(entries)] == [
        "Planned, not injected",
        "Not coded to a muscle",
    ]
