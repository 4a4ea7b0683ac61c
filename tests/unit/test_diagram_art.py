"""The diagram's anatomical art: SVG sources compile to the shipped geometry, landmarks exist on
the right side, the trapezius is one sheet, landmark-relative locations, the note's marker layout.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tpi_chart.domain import diagram as dg
from tpi_chart.domain.models import Site
from tpi_chart.domain.presentation import MarkerSpec
from tpi_chart.pdf.diagram import Marker, crop_for, place_markers

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _compiler() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compile_diagram", ROOT / "tools/compile_diagram.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["compile_diagram"] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def _compiled() -> dict[str, Any]:
    data: dict[str, Any] = _compiler().build()
    return data


def test_body_json_is_compiled_from_the_svg_sources() -> None:
    compiler = _compiler()
    data = _compiled()
    assert [p for v in data["views"] for p in compiler.check(v)] == []
    shipped = (ROOT / "resources/diagram/body.json").read_text(encoding="utf-8")
    assert compiler.render(data) == shipped, "run tools/compile_diagram.py"


def test_every_muscle_is_its_own_layer_named_by_catalog_id() -> None:
    compiler = _compiler()
    for name in compiler.SOURCES:
        source = compiler.Source(ROOT / "resources/diagram/src" / name)
        ids = [m["muscle"] for m in source.muscles]
        assert len(ids) == len(set(ids)), name
        assert set(ids) <= dg.load_diagram().muscles


def test_compiler_reads_relative_and_shorthand_path_commands() -> None:
    compiler = _compiler()
    cmds = compiler.parse_path("m 10,10 h 5 v 5 l -5,0 z M 0 0 c 1 1 2 2 3 3 s 4 4 5 5 q 1 0 2 2")
    assert cmds[0] == ["M", 10.0, 10.0]
    assert cmds[1] == ["L", 15.0, 10.0]
    assert cmds[2] == ["L", 15.0, 15.0]
    assert cmds[3] == ["L", 10.0, 15.0]
    assert cmds[4] == ["Z"]
    assert cmds[6] == ["C", 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert cmds[7][0] == "C"
    assert cmds[7][1:3] == [4.0, 4.0]  # reflected control point
    assert cmds[8][-2:] == [10.0, 10.0]  # the quadratic's end point, as a cubic


REQUIRED_LANDMARKS = {
    "posterior": {
        "c7", "t12", "l4", "external_occipital_protuberance", "mastoid", "acromion",
        "scapula_superior_angle", "scapular_spine_root", "scapula_inferior_angle",
        "iliac_crest", "psis", "greater_trochanter",
    },
    "anterior": {"mandible_angle", "acromion", "jugular_notch", "asis", "greater_trochanter"},
    "head_left": {"mastoid", "mandible_angle", "external_occipital_protuberance", "c7"},
    "head_right": {"mastoid", "mandible_angle", "external_occipital_protuberance", "c7"},
}  # fmt: skip
MIDLINE_LANDMARKS = {"c7", "t3", "t7", "t12", "l4", "external_occipital_protuberance", "coccyx",
                     "jugular_notch", "xiphoid", "umbilicus"}  # fmt: skip


@pytest.mark.parametrize("view_id", dg.VIEW_IDS)
def test_each_landmark_exists_and_lies_on_its_side(view_id: str) -> None:
    view = dg.load_diagram().views[view_id]  # type: ignore[index]
    silhouette = dg.flatten_path(view.outline[0])
    ids = {lm.id for lm in view.landmarks}
    assert REQUIRED_LANDMARKS[view_id] <= ids
    for lm in view.landmarks:
        x, y = lm.point
        assert dg.point_in_polygon(x, y, silhouette), (view_id, lm.id)
        assert lm.name
        if view_id in ("head_left", "head_right"):
            assert lm.side == view_id.removeprefix("head_")
            continue
        if lm.id in MIDLINE_LANDMARKS:
            assert lm.side == "midline"
            assert x == pytest.approx(0.5)
            continue
        assert lm.side in ("left", "right")
        # side_at answers the patient's side a point on that half of the view belongs to
        assert view.side_at(x) == lm.side, (view_id, lm.id, x)
        twin = [o for o in view.landmarks if o.id == lm.id and o.side != lm.side]
        assert len(twin) == 1
        assert twin[0].point == pytest.approx((1 - x, y), abs=1e-5)


def test_posterior_landmarks_are_in_anatomical_order() -> None:
    view = dg.load_diagram().views["posterior"]
    at = {(lm.id, lm.side): lm.point for lm in view.landmarks}
    c7, t12, l4 = at["c7", "midline"], at["t12", "midline"], at["l4", "midline"]
    assert c7[1] < t12[1] < l4[1]
    cm = view.height_cm
    # the intercristal line passes through L4 (within 2 cm)
    assert abs(at["iliac_crest", "right"][1] - l4[1]) * cm < 2
    superior, root, inferior = (
        at["scapula_superior_angle", "right"],
        at["scapular_spine_root", "right"],
        at["scapula_inferior_angle", "right"],
    )
    assert c7[1] < superior[1] < root[1] < inferior[1] < t12[1]
    # the medial border lies 5-11 cm from the spinous processes
    for point in (superior, root):
        assert 5 < (point[0] - 0.5) * view.aspect * cm < 11
    assert at["acromion", "right"][0] > root[0]
    assert at["psis", "right"][1] > l4[1]
    assert at["greater_trochanter", "right"][1] > at["psis", "right"][1]


def test_trapezius_is_one_sheet_of_three_adjacent_parts() -> None:
    view = dg.load_diagram().views["posterior"]
    assert view.sheets, "the whole trapezius is drawn as one sheet"
    sheet = dg.flatten_path(view.sheets[0])
    upper = view.zone_for("upper_trapezius", "right")
    middle = view.zone_for("middle_trapezius", "right")
    lower = view.zone_for("lower_trapezius", "right")
    assert upper is not None
    assert middle is not None
    assert lower is not None
    at = {(lm.id, lm.side): lm.point for lm in view.landmarks}
    # upper: from the nuchal line (above the mastoid's lower end) out to the acromion
    assert min(p[1] for p in upper.polygon) < at["mastoid", "right"][1]
    assert max(p[0] for p in upper.polygon) > at["acromion", "right"][0] - 0.02
    # lower: down to T12
    assert max(p[1] for p in lower.polygon) == pytest.approx(at["t12", "midline"][1], abs=0.003)
    # the parts touch: each shares a boundary (within 2 mm) with the next
    for a, b in ((upper, middle), (middle, lower)):
        gap = min(
            abs(p[0] - q[0]) * view.aspect + abs(p[1] - q[1]) for p in a.polygon for q in b.polygon
        )
        assert gap * view.height_cm < 0.3  # a hair apart, so a click has one answer
    # the sheet spans all three
    ys = [p[1] for p in sheet]
    assert min(ys) <= min(p[1] for p in upper.polygon) + 0.003
    assert max(ys) >= max(p[1] for p in lower.polygon) - 0.003


def test_every_zone_has_fibre_strokes_except_a_few_small_deep_ones() -> None:
    zones = [z for v in dg.load_diagram().views.values() for z in v.zones]
    without = {z.muscle for z in zones if not z.fibres}
    assert without <= {
        "lateral_pterygoid", "medial_pterygoid", "suboccipitals", "splenius_cervicis",
        "cervical_multifidus", "gluteus_minimus",
    }  # fmt: skip


# -- landmark-relative location ---------------------------------------------------------------


def _offset(
    view_id: str, landmark: str, side: str, dx_cm: float, dy_cm: float
) -> tuple[float, float]:
    """A point dx cm to the screen's right and dy cm down from a landmark."""
    view = dg.load_diagram().views[view_id]  # type: ignore[index]
    lm = next(lm for lm in view.landmarks if lm.id == landmark and lm.side == side)
    return (
        lm.point[0] + dx_cm / (view.aspect * view.height_cm),
        lm.point[1] + dy_cm / view.height_cm,
    )


def test_location_medial_to_the_superior_angle_of_the_scapula() -> None:
    # posterior view: the patient's right is the screen's right, so medial is to the screen's left
    x, y = _offset("posterior", "scapula_superior_angle", "right", -2.0, 0.0)
    assert (
        dg.describe_location("posterior", x, y, "right")
        == "2 cm medial to the superior angle of the scapula, right"
    )
    x, y = _offset("posterior", "scapula_superior_angle", "left", -2.0, -1.0)
    assert (
        dg.describe_location("posterior", x, y, "left")
        == "2 cm lateral and 1 cm superior to the superior angle of the scapula, left"
    )


def test_location_at_a_landmark_and_on_the_anterior_and_head_views() -> None:
    x, y = _offset("posterior", "psis", "left", 0.3, 0.3)
    assert dg.describe_location("posterior", x, y, "left") == (
        "at the posterior superior iliac spine, left"
    )
    # anterior: the patient's left is the screen's right, so lateral is further right
    x, y = _offset("anterior", "asis", "left", 2.0, 3.0)
    assert dg.describe_location("anterior", x, y, "left") == (
        "2 cm lateral and 3 cm inferior to the anterior superior iliac spine, left"
    )
    # head_left faces the screen's left: a point to the left is anterior
    x, y = _offset("head_left", "mandible_angle", "left", -2.0, 0.0)
    assert dg.describe_location("head_left", x, y, "left") == (
        "2 cm anterior to the angle of the mandible, left"
    )
    x, y = _offset("head_right", "mandible_angle", "right", -2.0, 0.0)
    assert dg.describe_location("head_right", x, y, "right") == (
        "2 cm posterior to the angle of the mandible, right"
    )


def test_location_uses_landmarks_of_the_sites_side_or_the_midline() -> None:
    x, y = _offset("posterior", "c7", "midline", 1.5, 0.0)
    text = dg.describe_location("posterior", x, y, "left")
    assert text is not None
    assert text.endswith(", left")
    assert "C7" in text or "left" in text


def test_with_location_fills_follows_a_move_and_keeps_the_clinicians_words() -> None:
    x, y = _offset("posterior", "scapula_superior_angle", "right", -2.0, 0.0)
    placed = dg.with_location(
        Site(muscle="levator_scapulae", side="right", view="posterior", x=x, y=y)
    )
    assert placed.location == "2 cm medial to the superior angle of the scapula, right"
    x2, y2 = _offset("posterior", "scapula_superior_angle", "right", -3.0, 0.0)
    moved = dg.with_location(placed.model_copy(update={"x": x2, "y": y2}), placed)
    assert moved.location == "3 cm medial to the superior angle of the scapula, right"
    mine = placed.model_copy(update={"location": "over the levator insertion"})
    kept = dg.with_location(mine.model_copy(update={"x": x2, "y": y2}), mine)
    assert kept.location == "over the levator insertion"
    assert dg.with_location(Site(muscle="deltoid", side="left")).location is None


# -- the note's marker layout -------------------------------------------------------------------


def _marker(number: int, muscle: str, side: str, view: str, approximate: bool = False) -> Marker:
    zone = dg.load_diagram().views[view].zone_for(muscle, side)  # type: ignore[index]
    assert zone is not None
    x, y = zone.label_point
    spec = MarkerSpec(number, injected=True, pneumothorax_risk=False, uncoded=False)
    return Marker(spec, x, y, muscle, side, approximate)


def test_two_sites_of_one_muscle_without_coordinates_get_two_points_in_the_zone() -> None:
    view = dg.load_diagram().views["posterior"]
    markers = [_marker(i, "infraspinatus", "right", "posterior", True) for i in (1, 2, 3)]
    scale = 900.0  # a tall panel: the zone has room for all three
    placed = place_markers(view, markers, scale)
    points = {(round(x, 3), round(y, 3)) for _, x, y in placed}
    assert len(points) == 3
    zone = view.zone_for("infraspinatus", "right")
    assert zone is not None
    for _, x, y in placed:
        assert zone.contains(x / scale / view.aspect, y / scale)


def test_crowded_markers_never_cross_the_midline() -> None:
    view = dg.load_diagram().views["posterior"]
    markers: list[Marker] = []
    number = 0
    for muscle in ("longissimus_thoracis", "lumbar_multifidus", "iliocostalis_lumborum"):
        for side in ("left", "right"):
            for _ in range(3):
                number += 1
                markers.append(_marker(number, muscle, side, "posterior"))
    scale = 180.0  # a small panel: the zones are full and markers must move out of them
    for marker, x, _y in place_markers(view, markers, scale, crop_for(view, markers)):
        nx = x / scale / view.aspect
        assert view.side_at(nx) == marker.side, (marker.number, marker.muscle, nx)


def test_head_views_are_never_cropped() -> None:
    for view_id in ("head_left", "head_right"):
        view = dg.load_diagram().views[view_id]  # type: ignore[index]
        crop = crop_for(view, [_marker(1, "masseter", view_id.removeprefix("head_"), view_id)])
        assert (crop.left, crop.top, crop.width, crop.height) == (0.0, 0.0, view.aspect, 1.0)


def test_the_note_prints_a_sites_location_under_its_muscle(tmp_path: Path) -> None:
    import json
    import shutil
    import subprocess

    from tpi_chart.domain.models import ProcedureDocument
    from tpi_chart.pdf.note import NoteOptions, render_note

    data = json.loads((ROOT / "tests/examples/reference-visit.json").read_text(encoding="utf-8"))
    document = ProcedureDocument.model_validate(data)
    zone = dg.load_diagram().views["posterior"].zone_for("levator_scapulae", "right")
    assert zone is not None
    sites = list(document.procedure.sites)
    index = next(
        i for i, s in enumerate(sites) if (s.muscle, s.side) == ("levator_scapulae", "right")
    )
    x, y = zone.label_point
    sites[index] = dg.with_location(
        sites[index].model_copy(update={"view": "posterior", "x": x, "y": y})
    )
    location = sites[index].location
    assert location is not None
    procedure = document.procedure.model_copy(update={"sites": tuple(sites)})
    pdf = render_note(document.model_copy(update={"procedure": procedure}), NoteOptions())
    assert shutil.which("pdftotext")
    source = tmp_path / "note.pdf"
    source.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(source), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    # the cell wraps: check the description's two halves (offsets, then the landmark)
    offsets, landmark = location.split(" to ", 1)
    assert offsets in text
    assert landmark.removeprefix("the ").split(" of ")[0] in text


def test_an_edit_that_does_not_move_a_site_leaves_its_location_alone() -> None:
    x, y = _offset("posterior", "psis", "right", -2.0, 0.0)
    imported = Site(muscle="gluteus_maximus", side="right", view="posterior", x=x, y=y)
    edited = dg.with_location(imported.model_copy(update={"volume_ml": 1.0}), imported)
    assert edited.location is None
    moved = dg.with_location(imported.model_copy(update={"y": y + 0.01}), imported)
    assert moved.location is not None
