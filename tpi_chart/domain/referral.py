"""Referral suggestions: which muscles' trigger points commonly refer pain where the patient
shaded the pain drawing (issue 20, 3).

The zones are data, ``resources/diagram/referral_zones.json`` (format and sources described
there): ellipses placed relative to the diagram's landmarks, given for the patient's right side
and mirrored for the left. A suggestion is a hint for the physician's examination, never a
diagnosis, and every pattern carries its sources and whether they were verified.

Pure Python: no Qt, no SQL.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from tpi_chart.domain.diagram import DiagramView, Point, load_diagram
from tpi_chart.domain.models import PainStroke
from tpi_chart.domain.resources import resource_path

_RESOURCE = "diagram/referral_zones.json"
_FORMAT = "tpi-chart.referral-zones/1"
#: The views zones are written for (patient's right side) and their mirror for the left.
_MIRROR = {"posterior": "posterior", "anterior": "anterior", "head_right": "head_left"}
#: A muscle is suggested when at least this share of the shaded points (weighted by intensity)
#: falls in its zones: a stray dab does not bring up every muscle whose zone it grazes.
MIN_SHARE = 0.08


@dataclass(frozen=True)
class ReferralZone:
    """One ellipse of a muscle's referral pattern on one view and side (normalised coords)."""

    muscle: str
    side: str
    view: str
    centre: Point
    radii: Point  # normalised x and y radii
    area: str

    def contains(self, x: float, y: float, pad: Point = (0.0, 0.0)) -> bool:
        """Whether the point, or a brush around it (``pad``: its normalised x and y radii),
        touches the ellipse."""
        rx, ry = self.radii
        cx, cy = self.centre
        return ((x - cx) / (rx + pad[0])) ** 2 + ((y - cy) / (ry + pad[1])) ** 2 <= 1.0


@dataclass(frozen=True)
class ReferralPattern:
    muscle: str
    pattern: str
    sources: tuple[str, ...]
    verified: bool
    zones: tuple[ReferralZone, ...]


@dataclass(frozen=True)
class ReferralData:
    patterns: dict[str, ReferralPattern]
    sources: dict[str, dict[str, object]]


@dataclass(frozen=True)
class Suggestion:
    """A muscle whose common referral pattern covers part of the shaded area."""

    muscle: str
    side: str
    #: Share (0..1) of the shaded points, weighted by intensity, inside its zones.
    share: float
    #: The zones' areas that were shaded ("temple", "posterolateral neck").
    areas: tuple[str, ...]
    pattern: ReferralPattern


def _zone(muscle: str, raw: dict[str, object], side: str) -> ReferralZone:
    view_id = str(raw["view"])
    if view_id not in _MIRROR:
        raise ValueError(f"{_RESOURCE}: {muscle}: zones are written for {sorted(_MIRROR)}")
    view: DiagramView = load_diagram().view(view_id)
    landmark = next(
        (
            lm
            for lm in view.landmarks
            if lm.id == raw["landmark"] and lm.side in ("right", "midline")
        ),
        None,
    )
    if landmark is None:
        raise ValueError(f"{_RESOURCE}: {muscle}: no landmark {raw['landmark']!r} in {view_id}")
    h_cm, v_cm = (float(v) for v in raw["offset_cm"])  # type: ignore[attr-defined]
    rx_cm, ry_cm = (float(v) for v in raw["radius_cm"])  # type: ignore[attr-defined]
    width_cm = view.aspect * view.height_cm
    # Right side: on the posterior view lateral is +x, on the anterior view -x; head_right faces
    # the screen's right, so anterior is +x.
    sign = -1.0 if view_id == "anterior" else 1.0
    x = landmark.point[0] + sign * h_cm / width_cm
    y = landmark.point[1] + v_cm / view.height_cm
    radii = (rx_cm / width_cm, ry_cm / view.height_cm)
    area = str(raw["area"])
    if side == "left":
        return ReferralZone(muscle, "left", _MIRROR[view_id], (1.0 - x, y), radii, area)
    return ReferralZone(muscle, "right", view_id, (x, y), radii, area)


@cache
def load_referral_zones() -> ReferralData:
    """The shipped referral patterns (read once), both sides."""
    with resource_path(_RESOURCE).open(encoding="utf-8") as handle:
        data = json.load(handle)
    if data.get("format") != _FORMAT:
        raise ValueError(f"{_RESOURCE}: expected format {_FORMAT!r}")
    sources: dict[str, dict[str, object]] = data["sources"]
    patterns: dict[str, ReferralPattern] = {}
    for muscle, entry in data["muscles"].items():
        unknown = [s for s in entry["sources"] if s not in sources]
        if unknown or not entry["sources"]:
            raise ValueError(f"{_RESOURCE}: {muscle}: sources {unknown or 'missing'}")
        zones = tuple(
            _zone(muscle, raw, side) for side in ("right", "left") for raw in entry["zones"]
        )
        patterns[muscle] = ReferralPattern(
            muscle=muscle,
            pattern=str(entry["pattern"]),
            sources=tuple(entry["sources"]),
            verified=bool(entry["verified"]),
            zones=zones,
        )
    return ReferralData(patterns=patterns, sources=sources)


def _samples(stroke: PainStroke, aspect: float) -> list[Point]:
    """Points along the stroke about a brush radius apart (a long fast stroke and a slow one
    over the same path weigh the same)."""
    step = max(stroke.width / 2, 0.002)
    points = list(stroke.points)
    out = [points[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot((x1 - x0) * aspect, y1 - y0)
        count = int(length / step)
        out.extend(
            (x0 + (x1 - x0) * i / (count + 1), y0 + (y1 - y0) * i / (count + 1))
            for i in range(1, count + 1)
        )
        out.append((x1, y1))
    return out


def suggest_muscles(strokes: Sequence[PainStroke], limit: int = 8) -> list[Suggestion]:
    """Muscles (with side) whose referral zones the shaded strokes fall in, the best-covered
    first; each must hold at least :data:`MIN_SHARE` of the shading."""
    data = load_referral_zones()
    diagram = load_diagram()
    total = 0.0
    weight: dict[tuple[str, str], float] = {}
    areas: dict[tuple[str, str], list[str]] = {}
    for stroke in strokes:
        view = diagram.view(stroke.view)
        # The brush's width is a share of the view's height; x is a share of its width.
        pad = (stroke.width / 2 / view.aspect, stroke.width / 2)
        zones = [z for p in data.patterns.values() for z in p.zones if z.view == stroke.view]
        for x, y in _samples(stroke, view.aspect):
            total += stroke.intensity
            hit: set[tuple[str, str]] = set()
            for zone in zones:
                key = (zone.muscle, zone.side)
                if zone.contains(x, y, pad):
                    if key not in hit:
                        hit.add(key)
                        weight[key] = weight.get(key, 0.0) + stroke.intensity
                    names = areas.setdefault(key, [])
                    if zone.area not in names:
                        names.append(zone.area)
    if total <= 0:
        return []
    ranked = sorted(weight.items(), key=lambda item: (-item[1], item[0]))
    return [
        Suggestion(muscle, side, share / total, tuple(areas[(muscle, side)]), data.patterns[muscle])
        for (muscle, side), share in ranked
        if share / total >= MIN_SHARE
    ][:limit]
