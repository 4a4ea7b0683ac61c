"""The free spots a crowded note's markers move to (`pdf.diagram._search_grid`): found row by row
from each row's edge crossings, they are exactly the points the point-by-point even-odd ray cast
(the diagram compiler's own) finds, for every zone of the shipped diagram; and
`point_in_polygon` agrees with that ray cast on generated polygons, points on a vertex's row
included."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.test_diagram_art import _compiler
from tpi_chart.domain.diagram import DiagramView, load_diagram, point_in_polygon
from tpi_chart.domain.presentation import MarkerSpec
from tpi_chart.pdf import diagram as pdf_diagram
from tpi_chart.pdf.diagram import Marker

Point = tuple[float, float]


def ray_cast(x: float, y: float, polygon: Sequence[Point]) -> bool:
    """The even-odd ray cast, point by point: the diagram compiler's own (`tools/
    compile_diagram.py`), written apart from the app's."""
    return bool(_compiler().inside(x, y, polygon))


def grid_point_by_point(view: DiagramView, marker: Marker) -> list[Point]:
    zone = view.zone_for(marker.muscle, marker.side)
    assert zone is not None
    box, steps = zone.bounds, pdf_diagram._SEARCH_STEPS
    points = []
    for i in range(steps + 1):
        for j in range(steps + 1):
            x = box[0] + (box[2] - box[0]) * i / steps
            y = box[1] + (box[3] - box[1]) * j / steps
            if not ray_cast(x, y, zone.polygon):
                continue
            if pdf_diagram._same_side(view, marker, x) and (
                not pdf_diagram._paired(view, marker) or abs(x - 0.5) > 0.012
            ):
                points.append((x, y))
    return points


def test_every_zones_free_spots_are_the_ray_casts() -> None:
    spec = MarkerSpec(number=1, injected=True, pneumothorax_risk=False, uncoded=False)
    zones = 0
    for view in load_diagram().views.values():
        for zone in view.zones:
            marker = Marker(spec, 0.5, 0.5, zone.muscle, zone.side)
            expected = grid_point_by_point(view, marker)
            assert pdf_diagram._search_grid(view, marker, 0.0) == expected, (view.id, zone.muscle)
            zones += 1
    assert zones > 100


coordinate = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
polygons = st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=12)


@given(polygon=polygons, x=coordinate, y=coordinate, on_a_vertex_row=st.booleans())
def test_point_in_polygon_is_the_ray_cast(
    polygon: list[Point], x: float, y: float, on_a_vertex_row: bool
) -> None:
    if on_a_vertex_row:
        y = polygon[0][1]
    assert point_in_polygon(x, y, polygon) == ray_cast(x, y, polygon)
