"""The body diagram geometry: coverage of the catalog, unambiguous hit-testing, symmetry, sides."""

from __future__ import annotations

import json

import pytest

from tpi_chart.domain import diagram as dg
from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.resources import resource_path

CATALOG_MUSCLES = [
    "temporalis", "frontalis", "occipitalis",
    "masseter", "lateral_pterygoid", "medial_pterygoid",
    "upper_trapezius", "levator_scapulae", "splenius_capitis", "splenius_cervicis",
    "semispinalis_capitis", "sternocleidomastoid", "suboccipitals", "anterior_scalene",
    "middle_scalene", "posterior_scalene", "cervical_multifidus",
    "middle_trapezius", "lower_trapezius", "rhomboid_major", "rhomboid_minor", "supraspinatus",
    "infraspinatus", "teres_major", "teres_minor", "deltoid",
    "pectoralis_major", "pectoralis_minor", "serratus_anterior",
    "quadratus_lumborum", "iliocostalis_lumborum", "longissimus_thoracis", "lumbar_multifidus",
    "gluteus_maximus", "gluteus_medius", "gluteus_minimus", "piriformis",
    "tensor_fasciae_latae", "iliopsoas",
]  # fmt: skip

DEEP = {
    "lateral_pterygoid", "medial_pterygoid", "piriformis", "iliopsoas", "gluteus_minimus",
    "pectoralis_minor", "suboccipitals", "cervical_multifidus", "lumbar_multifidus",
}  # fmt: skip

ALL_ZONES = [z for v in dg.load_diagram().views.values() for z in v.zones]


def _zone_id(zone: dg.Zone) -> str:
    return f"{zone.view}:{zone.muscle}:{zone.side}"


def test_views_and_aspects() -> None:
    diagram = dg.load_diagram()
    assert (
        tuple(diagram.views) == dg.VIEW_IDS == ("anterior", "posterior", "head_left", "head_right")
    )
    for view in diagram.views.values():
        assert 0.3 < view.aspect < 1.0
        assert view.title
        assert view.outline
        assert view.details
        assert view.zones
    assert diagram.views["anterior"].title == "Anterior"


def test_catalog_ids_match_product_spec() -> None:
    assert set(load_catalog().muscles) == set(CATALOG_MUSCLES)


@pytest.mark.parametrize("muscle", CATALOG_MUSCLES)
def test_every_catalog_muscle_has_a_zone_on_both_sides(muscle: str) -> None:
    views = dg.views_for_muscle(muscle)
    assert views, f"{muscle} has no zone"
    sides = {z.side for z in ALL_ZONES if z.muscle == muscle}
    assert sides == {"left", "right"}


def test_no_zone_for_unknown_muscles() -> None:
    assert dg.load_diagram().muscles <= set(CATALOG_MUSCLES)


@pytest.mark.parametrize("zone", ALL_ZONES, ids=_zone_id)
def test_label_point_resolves_to_its_own_zone(zone: dg.Zone) -> None:
    x, y = zone.label_point
    assert zone.contains(x, y)
    # A deep muscle under a superficial one is coded with the modifier held (or the chooser).
    assert dg.resolve_point(zone.view, x, y, deep=zone.deep) == (zone.muscle, zone.side)


@pytest.mark.parametrize("zone", ALL_ZONES, ids=_zone_id)
def test_centre_of_a_zone_hits_that_zone_or_a_deep_zone_inside_it(zone: dg.Zone) -> None:
    """At a zone's centroid the hit test answers that zone, never a neighbouring muscle.

    Layering: where a deep zone lies inside a superficial one (piriformis inside gluteus
    maximus) a plain click codes the superficial muscle and a click with the modifier the deep
    one; both are offered in the "here:" chooser.
    """
    poly = zone.polygon
    cx = sum(p[0] for p in poly) / len(poly)
    cy = sum(p[1] for p in poly) / len(poly)
    view = dg.load_diagram().views[zone.view]
    here = view.zones_at(cx, cy)
    assert zone in here or (not zone.deep and any(z.deep for z in here)), _zone_id(zone)
    hit = view.zone_at(cx, cy, deep=zone.deep)
    assert hit is not None
    if hit is not zone:
        assert hit.side == zone.side
        assert hit.deep != zone.deep or zone not in here, _zone_id(hit)


def test_overlaps_only_where_a_deep_zone_lies_on_top() -> None:
    for view in dg.load_diagram().views.values():
        for i, lower in enumerate(view.zones):
            for upper in view.zones[i + 1 :]:
                if any(upper.contains(x, y) for x, y in lower.polygon) or any(
                    lower.contains(x, y) for x, y in upper.polygon
                ):
                    assert upper.deep, (view.id, lower.muscle, upper.muscle)
                    assert not lower.deep
                    assert upper.side == lower.side


def test_deep_muscles_are_flagged_deep() -> None:
    for zone in ALL_ZONES:
        if zone.muscle in DEEP:
            assert zone.deep, _zone_id(zone)


@pytest.mark.parametrize("view_id", ["anterior", "posterior"])
def test_body_views_left_and_right_are_mirror_images(view_id: str) -> None:
    view = dg.load_diagram().views[view_id]
    for zone in view.zones:
        other_side = "right" if zone.side == "left" else "left"
        twin = view.zone_for(zone.muscle, other_side)
        assert twin is not None
        assert len(twin.polygon) == len(zone.polygon)
        assert _same_points([(1 - x, y) for x, y in zone.polygon], twin.polygon)
        assert twin.label_point[1] == pytest.approx(zone.label_point[1], abs=0.01)
    pts = dg.flatten_path(view.outline[0])
    assert _same_points([(1 - x, y) for x, y in pts], pts)


def _same_points(
    a: list[tuple[float, float]] | tuple[tuple[float, float], ...],
    b: tuple[tuple[float, float], ...],
) -> bool:
    """Same point set, to 1e-4 (the JSON keeps 5 decimals)."""
    remaining = list(b)
    for p in a:
        match = next(
            (q for q in remaining if abs(p[0] - q[0]) < 1e-4 and abs(p[1] - q[1]) < 1e-4), None
        )
        if match is None:
            return False
        remaining.remove(match)
    return not remaining


def test_head_right_mirrors_head_left() -> None:
    diagram = dg.load_diagram()
    left, right = diagram.views["head_left"], diagram.views["head_right"]
    assert [z.muscle for z in left.zones] == [z.muscle for z in right.zones]
    assert {z.side for z in left.zones} == {"left"}
    assert {z.side for z in right.zones} == {"right"}
    for a, b in zip(left.zones, right.zones, strict=True):
        assert _same_points([(1 - x, y) for x, y in a.polygon], b.polygon)


def test_anterior_patient_left_is_screen_right() -> None:
    view = dg.load_diagram().views["anterior"]
    left = view.zone_for("pectoralis_major", "left")
    right = view.zone_for("pectoralis_major", "right")
    assert left is not None
    assert right is not None
    assert left.label_point[0] > 0.5 > right.label_point[0]
    assert dg.resolve_point("anterior", *left.label_point) == ("pectoralis_major", "left")


def test_posterior_patient_left_is_screen_left() -> None:
    view = dg.load_diagram().views["posterior"]
    left = view.zone_for("upper_trapezius", "left")
    assert left is not None
    assert left.label_point[0] < 0.5
    assert dg.resolve_point("posterior", *left.label_point) == ("upper_trapezius", "left")


def test_superficial_zone_wins_unless_the_deep_one_is_asked_for() -> None:
    view = dg.load_diagram().views["anterior"]
    minor = view.zone_for("pectoralis_minor", "left")
    major = view.zone_for("pectoralis_major", "left")
    assert minor is not None
    assert major is not None
    x, y = minor.label_point
    assert major.contains(x, y)  # it really lies inside pectoralis major
    assert dg.resolve_point("anterior", x, y) == ("pectoralis_major", "left")
    assert dg.resolve_point("anterior", x, y, deep=True) == ("pectoralis_minor", "left")
    assert [z.muscle for z in view.zones_at(x, y)] == ["pectoralis_major", "pectoralis_minor"]
    assert dg.resolve_point("anterior", *major.label_point) == ("pectoralis_major", "left")


@pytest.mark.parametrize(
    ("view", "x", "expected"),
    [
        ("anterior", 0.9, "left"),
        ("anterior", 0.1, "right"),
        ("anterior", 0.5, "midline"),
        ("posterior", 0.9, "right"),
        ("posterior", 0.1, "left"),
        ("posterior", 0.505, "midline"),
        ("head_left", 0.95, "left"),
        ("head_right", 0.05, "right"),
    ],
)
def test_outside_every_zone_is_unspecified_with_a_side(view: str, x: float, expected: str) -> None:
    assert dg.resolve_point(view, x, 0.995) == ("unspecified", expected)


def test_unknown_view_is_an_error() -> None:
    with pytest.raises(KeyError):
        dg.resolve_point("lateral", 0.5, 0.5)


def test_default_position_prefers_body_views_and_lands_in_the_zone() -> None:
    for muscle in CATALOG_MUSCLES:
        for side in ("left", "right"):
            pos = dg.default_position(muscle, side)
            assert pos is not None, (muscle, side)
            view, x, y = pos
            zone = dg.load_diagram().views[view].zone_for(muscle, side)
            assert zone is not None
            assert dg.resolve_point(view, x, y, deep=zone.deep) == (muscle, side)
    assert dg.default_position("upper_trapezius", "left") is not None
    assert dg.default_position("upper_trapezius", "left")[0] == "posterior"  # type: ignore[index]
    assert dg.default_position("pectoralis_major", "right")[0] == "anterior"  # type: ignore[index]
    assert dg.default_position("masseter", "right")[0] == "head_right"  # type: ignore[index]
    assert dg.default_position("masseter", "left")[0] == "head_left"  # type: ignore[index]


def test_default_position_midline_and_unknown() -> None:
    pos = dg.default_position("lumbar_multifidus", "midline")
    assert pos is not None
    assert pos[0] == "posterior"
    assert pos[1] == 0.5
    assert dg.default_position("unspecified", "left") is None
    assert dg.default_position("biceps", "left") is None


def test_views_for_muscle() -> None:
    assert dg.views_for_muscle("masseter") == ("head_left", "head_right")
    assert "posterior" in dg.views_for_muscle("upper_trapezius")
    assert dg.views_for_muscle("nope") == ()


def test_path_format_is_simple_commands() -> None:
    raw = json.loads(resource_path("diagram/body.json").read_text(encoding="utf-8"))
    arity = {"M": 2, "L": 2, "C": 6, "Z": 0}
    for view in raw["views"]:
        paths = view["outline"] + view["details"] + [z["path"] for z in view["zones"]]
        for path in paths:
            assert path[0][0] == "M"
            for command in path:
                assert len(command) == arity[command[0]] + 1
                assert all(0.0 <= v <= 1.0 for v in command[1:])


def test_zones_lie_inside_the_silhouette() -> None:
    for view in dg.load_diagram().views.values():
        silhouette = dg.flatten_path(view.outline[0])
        for zone in view.zones:
            outside = [p for p in zone.polygon if not dg.point_in_polygon(*p, silhouette)]
            assert not outside, _zone_id(zone)


def test_flatten_and_point_in_polygon() -> None:
    square = (("M", 0.0, 0.0), ("L", 1.0, 0.0), ("L", 1.0, 1.0), ("L", 0.0, 1.0), ("Z",))
    poly = dg.flatten_path(square)
    assert poly == ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    assert dg.point_in_polygon(0.5, 0.5, poly)
    assert not dg.point_in_polygon(1.5, 0.5, poly)
    assert dg.polygon_area(poly) == pytest.approx(1.0)
    curve = (("M", 0.0, 0.0), ("C", 0.0, 1.0, 1.0, 1.0, 1.0, 0.0), ("Z",))
    assert len(dg.flatten_path(curve)) == dg.BEZIER_STEPS + 1
