"""The body diagram as data: views, outline artwork, muscle zones, hit-testing.

The geometry lives in one file, ``resources/diagram/body.json``, compiled from the editable SVG
artwork in ``resources/diagram/src/`` by ``tools/compile_diagram.py`` (format documented in
``resources/diagram/README.md``). The screen
(``tpi_chart.ui.diagram``) and the PDF note both draw from this module, so they show the same
picture. Pure Python: no Qt, no SQL.

Coordinates are normalised per view: x in 0..1 left to right, y in 0..1 top to bottom. A view's
``aspect`` is width / height, so a view drawn ``h`` units tall is ``aspect * h`` wide.

Paths are tuples of commands, each a tuple whose first item is the operator:

* ``("M", x, y)`` move to, ``("L", x, y)`` line to,
* ``("C", x1, y1, x2, y2, x, y)`` cubic Bézier to ``(x, y)`` with control points 1 and 2,
* ``("Z",)`` close the current sub-path.

Sides are the **patient's** sides. On the anterior view the patient's left is on the screen's
right; on the posterior view the patient's left is on the screen's left; ``head_left`` shows only
the patient's left side, ``head_right`` only the right.

Zones are listed bottom to top; a deep muscle is drawn inside the superficial one over it (e.g.
pectoralis minor inside pectoralis major, piriformis inside gluteus maximus). Where zones overlap
a click codes the superficial muscle (:meth:`DiagramView.zones_at`), the deep one when asked for
(``deep=True``: Alt held). Each zone's ``label_point`` lies inside the zone and outside every zone
above it, so it hit-tests to its own muscle and side (a deep zone's with ``deep=True``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Literal, cast

from tpi_chart.domain.models import Site
from tpi_chart.domain.resources import resource_path

ViewId = Literal["anterior", "posterior", "head_left", "head_right"]
VIEW_IDS: tuple[ViewId, ...] = ("anterior", "posterior", "head_left", "head_right")

Side = Literal["left", "right", "midline"]
Point = tuple[float, float]
PathCommand = tuple[str | float, ...]
Path = tuple[PathCommand, ...]

UNSPECIFIED = "unspecified"
#: Half-width (normalised x) of the band around a body view's centre line that counts as midline.
MIDLINE_BAND = 0.012
#: Segments used to flatten one cubic Bézier for hit-testing.
BEZIER_STEPS = 10
Bounds = tuple[float, float, float, float]  # min x, min y, max x, max y

_RESOURCE = "diagram/body.json"
_FORMAT = "tpi-chart.diagram/1"


@dataclass(frozen=True)
class Zone:
    """The clickable area of one muscle on one side in one view.

    ``polygon`` (the flattened path used for hit-testing) is computed on first use: loading the
    diagram stays cheap, and a hit test flattens only the zones whose ``bounds`` (the box around
    the path's points and control points, which holds every Bézier segment) hold the point.
    """

    muscle: str
    side: Side
    view: ViewId
    path: Path
    deep: bool
    label_point: Point
    bounds: Bounds
    #: A few strokes along the muscle's fibre direction (artwork only, never hit-tested).
    fibres: tuple[Path, ...] = ()

    @cached_property
    def polygon(self) -> tuple[Point, ...]:
        return flatten_path(self.path)

    def contains(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self.bounds
        if x < x0 or x > x1 or y < y0 or y > y1:
            return False
        return point_in_polygon(x, y, self.polygon)


@dataclass(frozen=True)
class Landmark:
    """A bony landmark clinicians place and describe trigger points by (C7, PSIS, mastoid ...)."""

    id: str
    name: str
    side: Side
    point: Point


@dataclass(frozen=True)
class DiagramView:
    """One picture: silhouette outline(s), detail lines and muscle zones (bottom to top).

    ``skeleton`` holds the light bone lines (scapula, spine, iliac crest ...), ``sheets`` outlines
    drawn over the zones (the whole trapezius), ``landmarks`` the named points of the skeleton.
    ``height_cm`` is the real height the view's y 0..1 spans (for landmark-relative distances).
    """

    id: ViewId
    title: str
    aspect: float
    outline: tuple[Path, ...]
    details: tuple[Path, ...]
    zones: tuple[Zone, ...]
    skeleton: tuple[Path, ...] = ()
    sheets: tuple[Path, ...] = ()
    landmarks: tuple[Landmark, ...] = ()
    height_cm: float = 0.0

    def zones_at(self, x: float, y: float) -> list[Zone]:
        """Every zone containing the point, the one a click codes first: superficial muscles
        before deep ones (a click over pectoralis major is pectoralis major, not the minor
        beneath it), then the topmost drawn."""
        found = [zone for zone in reversed(self.zones) if zone.contains(x, y)]
        return sorted(found, key=lambda zone: zone.deep)

    def zone_at(self, x: float, y: float, *, deep: bool = False) -> Zone | None:
        """The zone a click at the point codes, or None; ``deep``: the deep one there if any
        (the click was made with the modifier held)."""
        zones = self.zones_at(x, y)
        if deep:
            zones = [z for z in zones if z.deep] or zones
        return zones[0] if zones else None

    def zone_for(self, muscle: str, side: str) -> Zone | None:
        for zone in self.zones:
            if zone.muscle == muscle and zone.side == side:
                return zone
        return None

    def side_at(self, x: float) -> Side:
        """The patient's side for a point outside every zone, from its x in this view."""
        if self.id == "head_left":
            return "left"
        if self.id == "head_right":
            return "right"
        if abs(x - 0.5) <= MIDLINE_BAND:
            return "midline"
        screen_right = x > 0.5
        if self.id == "anterior":
            return "left" if screen_right else "right"
        return "right" if screen_right else "left"


@dataclass(frozen=True)
class Diagram:
    views: dict[ViewId, DiagramView]

    def view(self, view_id: str) -> DiagramView:
        if view_id not in self.views:
            raise KeyError(f"unknown diagram view: {view_id!r}")
        return self.views[view_id]

    @property
    def muscles(self) -> frozenset[str]:
        return frozenset(z.muscle for v in self.views.values() for z in v.zones)


# --------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------


@cache
def _bernstein(steps: int) -> tuple[tuple[float, float, float, float], ...]:
    """The cubic Bernstein weights at t = 1/steps … 1 (the same for every segment)."""
    weights = []
    for i in range(1, steps + 1):
        t = i / steps
        u = 1.0 - t
        weights.append((u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t))
    return tuple(weights)


def flatten_path(
    path: Iterable[Sequence[str | float]], steps: int = BEZIER_STEPS
) -> tuple[Point, ...]:
    """Polygonise a path's first closed sub-path (lines kept, Béziers sampled)."""
    points: list[Point] = []
    current: Point = (0.0, 0.0)
    weights = _bernstein(steps)
    for command in path:
        op = command[0]
        nums = [float(v) for v in command[1:]]
        if op == "M":
            if points:
                break
            current = (nums[0], nums[1])
            points.append(current)
        elif op == "L":
            current = (nums[0], nums[1])
            points.append(current)
        elif op == "C":
            x0, y0 = current
            x1, y1, x2, y2, x3, y3 = nums
            points.extend(
                (a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3)
                for a, b, c, d in weights
            )
            current = (x3, y3)
        elif op == "Z":
            break
        else:
            raise ValueError(f"unknown path command {op!r}")
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    return tuple(points)


def ray_crossings(y: float, polygon: Sequence[Point]) -> list[float]:
    """Where the polygon's edges cross the horizontal line at ``y`` (their x): a point (x, y) is
    inside by the even-odd rule when an odd number of them lie right of x. A grid of points
    computes them once per row (`pdf.diagram`) instead of once per point."""
    crossings = []
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y):
            crossings.append(xi + (y - yi) * (xj - xi) / (yj - yi))
        j = i
    return crossings


def point_in_polygon(x: float, y: float, polygon: Sequence[Point]) -> bool:
    """Even-odd rule ray cast."""
    return sum(x < crossing for crossing in ray_crossings(y, polygon)) % 2 == 1


def polygon_area(polygon: Sequence[Point]) -> float:
    area = 0.0
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        area += x1 * y2 - x2 * y1
    return abs(area) / 2


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


_ARITY = {"M": 2, "L": 2, "C": 6, "Z": 0}


def _path(raw: object) -> Path:
    if not isinstance(raw, list):
        raise ValueError("a diagram path must be a list of commands")
    commands: list[PathCommand] = []
    for item in raw:
        if not isinstance(item, list) or not item or item[0] not in _ARITY:
            raise ValueError(f"bad path command: {item!r}")
        arity = _ARITY[item[0]]
        if len(item) != arity + 1:
            raise ValueError(f"path command {item[0]} takes {arity} numbers: {item!r}")
        commands.append((str(item[0]), *map(float, item[1:])))
    return tuple(commands)


def path_bounds(path: Path) -> Bounds:
    """The box around every point and control point of a path (it holds the whole curve)."""
    xs: list[float] = []
    ys: list[float] = []
    for command in path:
        numbers = command[1:]
        xs.extend(numbers[0::2])  # type: ignore[arg-type]
        ys.extend(numbers[1::2])  # type: ignore[arg-type]
    if not xs:
        return (0.0, 0.0, 0.0, 0.0)
    # Padded a little: a flattened Bézier point can round a hair beyond its control points.
    pad = 1e-9
    return (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def _view(raw: dict[str, object]) -> DiagramView:
    view_id = raw["id"]
    if view_id not in VIEW_IDS:
        raise ValueError(f"unknown diagram view {view_id!r}")
    vid: ViewId = view_id
    zones: list[Zone] = []
    raw_zones = raw["zones"]
    assert isinstance(raw_zones, list)
    for z in raw_zones:
        side = z["side"]
        if side not in ("left", "right", "midline"):
            raise ValueError(f"bad side {side!r} in view {vid}")
        path = _path(z["path"])
        lx, ly = z["label_point"]
        fibres = z.get("fibres", [])
        assert isinstance(fibres, list)
        zones.append(
            Zone(
                muscle=str(z["muscle"]),
                side=cast(Side, side),
                view=vid,
                path=path,
                deep=bool(z["deep"]),
                label_point=(float(lx), float(ly)),
                bounds=path_bounds(path),
                fibres=tuple(_path(f) for f in fibres),
            )
        )
    outline = raw["outline"]
    details = raw.get("details", [])
    assert isinstance(outline, list)
    assert isinstance(details, list)
    aspect = raw["aspect"]
    assert isinstance(aspect, int | float)
    skeleton = raw.get("skeleton", [])
    sheets = raw.get("sheets", [])
    raw_landmarks = raw.get("landmarks", [])
    height_cm = raw.get("height_cm", 0.0)
    assert isinstance(skeleton, list)
    assert isinstance(sheets, list)
    assert isinstance(raw_landmarks, list)
    assert isinstance(height_cm, int | float)
    landmarks = []
    for lm in raw_landmarks:
        side = lm["side"]
        if side not in ("left", "right", "midline"):
            raise ValueError(f"bad landmark side {side!r} in view {vid}")
        px, py = lm["point"]
        landmarks.append(
            Landmark(
                id=str(lm["id"]),
                name=str(lm["name"]),
                side=cast(Side, side),
                point=(float(px), float(py)),
            )
        )
    return DiagramView(
        id=vid,
        title=str(raw["title"]),
        aspect=float(aspect),
        outline=tuple(_path(p) for p in outline),
        details=tuple(_path(p) for p in details),
        zones=tuple(zones),
        skeleton=tuple(_path(p) for p in skeleton),
        sheets=tuple(_path(p) for p in sheets),
        landmarks=tuple(landmarks),
        height_cm=float(height_cm),
    )


@cache
def load_diagram() -> Diagram:
    """The shipped diagram (read once, then cached)."""
    with resource_path(_RESOURCE).open(encoding="utf-8") as handle:
        data = json.load(handle)
    if data.get("format") != _FORMAT:
        raise ValueError(f"{_RESOURCE}: expected format {_FORMAT!r}")
    views = {v.id: v for v in (_view(raw) for raw in data["views"])}
    missing = [v for v in VIEW_IDS if v not in views]
    if missing:
        raise ValueError(f"{_RESOURCE}: missing views {missing}")
    return Diagram(views={v: views[v] for v in VIEW_IDS})


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


def resolve_point(view: str, x: float, y: float, *, deep: bool = False) -> tuple[str, str]:
    """The (muscle id, patient side) at a point of a view.

    Outside every zone: ``("unspecified", side)`` with the side taken from x and the view's
    orientation (``"midline"`` within :data:`MIDLINE_BAND` of a body view's centre line).
    """
    diagram_view = load_diagram().view(view)
    zone = diagram_view.zone_at(x, y, deep=deep)
    if zone is not None:
        return zone.muscle, zone.side
    return UNSPECIFIED, diagram_view.side_at(x)


def _view_preference(side: str) -> tuple[ViewId, ...]:
    if side == "right":
        return ("posterior", "anterior", "head_right", "head_left")
    return ("posterior", "anterior", "head_left", "head_right")


@cache  # the shipped diagram is read once: the answer never changes
def default_position(muscle: str, side: str) -> tuple[str, float, float] | None:
    """Where to draw a site that has no stored coordinates (e.g. an imported document).

    The first view (posterior, anterior, then the head view of that side) with a zone for the
    muscle on that side, at the zone's label point. A ``midline`` site of a paired muscle goes on
    the centre line between the two zones of a body view. None if the muscle has no zone.
    """
    diagram = load_diagram()
    for view_id in _view_preference(side):
        view = diagram.views[view_id]
        zone = view.zone_for(muscle, side)
        if zone is not None:
            return view_id, zone.label_point[0], zone.label_point[1]
        if side == "midline":
            left, right = view.zone_for(muscle, "left"), view.zone_for(muscle, "right")
            if left is not None and right is not None:
                y = (left.label_point[1] + right.label_point[1]) / 2
                return view_id, 0.5, y
    return None


def views_for_muscle(muscle: str) -> tuple[str, ...]:
    """The views in which the muscle has a zone, in :data:`VIEW_IDS` order."""
    diagram = load_diagram()
    return tuple(v for v in VIEW_IDS if any(z.muscle == muscle for z in diagram.views[v].zones))


# --------------------------------------------------------------------------------------------
# Landmark-relative location
# --------------------------------------------------------------------------------------------

#: Closer than this (cm) to a landmark, a site is "at" it; smaller offsets are left out.
AT_LANDMARK_CM = 1.0


def _landmark_phrase(name: str) -> str:
    """'Superior angle of the scapula' → 'the superior angle of the scapula'; 'C7 …' stays."""
    if len(name) > 1 and name[1].islower():
        name = name[0].lower() + name[1:]
    return f"the {name}"


def nearest_landmark(view: str, x: float, y: float, side: str) -> tuple[Landmark, float] | None:
    """The landmark of the site's side (or of the midline) nearest the point, with its distance
    in cm; None if the view has no landmarks or no real-world scale."""
    diagram_view = load_diagram().view(view)
    if not diagram_view.landmarks or diagram_view.height_cm <= 0:
        return None
    cm = diagram_view.height_cm
    aspect = diagram_view.aspect
    best: tuple[Landmark, float] | None = None
    for landmark in diagram_view.landmarks:
        if landmark.side not in (side, "midline") and side != "midline":
            continue
        lx, ly = landmark.point
        distance = math.hypot((x - lx) * aspect * cm, (y - ly) * cm)
        if best is None or distance < best[1]:
            best = (landmark, distance)
    return best


def describe_location(view: str, x: float, y: float, side: str) -> str | None:
    """Where a point lies relative to the nearest bony landmark, as a clinician writes it:
    ``"2 cm medial and 1 cm superior to the inferior angle of the scapula, right"``.

    Body views use medial/lateral (towards/away from the midline) and superior/inferior; head
    views anterior/posterior and superior/inferior. Distances are whole centimetres from the
    view's real-world scale (a standard adult figure), so they are estimates to orient by.
    """
    found = nearest_landmark(view, x, y, side)
    if found is None:
        return None
    landmark, distance = found
    diagram_view = load_diagram().view(view)
    cm = diagram_view.height_cm
    lx, ly = landmark.point
    dx_cm = (x - lx) * diagram_view.aspect * cm
    dy_cm = (y - ly) * cm
    suffix = "" if side not in ("left", "right") else f", {side}"
    target = _landmark_phrase(landmark.name)
    if distance < AT_LANDMARK_CM:
        return f"at {target}{suffix}"
    parts: list[str] = []
    if view in ("head_left", "head_right"):
        # head_left faces the screen's left: a smaller x is further forward.
        forward = -dx_cm if view == "head_left" else dx_cm
        horizontal = ("anterior" if forward > 0 else "posterior", abs(dx_cm))
    else:
        away = abs(x - 0.5) - abs(lx - 0.5)
        horizontal = ("lateral" if away > 0 else "medial", abs(away) * diagram_view.aspect * cm)
    vertical = ("inferior" if dy_cm > 0 else "superior", abs(dy_cm))
    for word, amount in (horizontal, vertical):
        rounded = round(amount)
        if rounded >= 1:
            parts.append(f"{rounded} cm {word}")
    if not parts:
        return f"at {target}{suffix}"
    return f"{' and '.join(parts)} to {target}{suffix}"


def computed_location(view: str | None, x: float | None, y: float | None, side: str) -> str | None:
    """:func:`describe_location` for a site's stored placement (None when it has none)."""
    if view is None or x is None or y is None or view not in VIEW_IDS:
        return None
    return describe_location(view, x, y, side)


def with_location(site: Site, before: Site | None = None) -> Site:
    """The site with its landmark-relative location filled in from its placement.

    Only when the site is placed (``before`` is None) or moved (view, x, y or side changed): a
    location the clinician wrote is kept; an automatic one (absent, or the text computed for the
    previous placement) follows the site.
    """
    if before is not None and (before.view, before.x, before.y, before.side) == (
        site.view,
        site.x,
        site.y,
        site.side,
    ):
        return site  # not moved: an edit of volume or findings leaves the location alone
    computed = computed_location(site.view, site.x, site.y, site.side)
    if computed is None or site.location == computed:
        return site
    automatic_before = None
    if before is not None:
        automatic_before = computed_location(before.view, before.x, before.y, before.side)
    if site.location is None or site.location == automatic_before:
        return site.model_copy(update={"location": computed})
    return site
