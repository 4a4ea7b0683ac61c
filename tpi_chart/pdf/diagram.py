"""The body diagram in the note: vector drawing of one view with numbered site markers.

Drawn from the shared geometry (:mod:`tpi_chart.domain.diagram`), the same data the screen uses.
Each panel shows the part of the view that holds its markers (with some anatomy around them for
orientation; a head view is always shown whole), the patient's left and right, and the markers:
planned hollow, injected filled, numbered as in the site table; a pneumothorax-risk muscle gets a
solid red outer ring, a site not coded to a muscle a dashed amber one and a "?", as on screen
(what a marker shows is its :class:`~tpi_chart.domain.presentation.MarkerSpec`).

Markers that would overlap are moved to the nearest free point **inside their own zone** (so a
marker never sits over a neighbouring muscle or across the midline on the other side); a site
with recorded coordinates keeps a leader line to the recorded point. Several sites in one muscle
without coordinates are spread over the zone the same way, each at its own point.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.platypus import Flowable

from tpi_chart.domain.diagram import DiagramView, Path, ray_crossings
from tpi_chart.domain.models import PainStroke
from tpi_chart.domain.presentation import (
    PAIN_BRUSH,
    RISK_COLOUR,
    UNCODED_COLOUR,
    MarkerFeature,
    MarkerSpec,
)
from tpi_chart.pdf import styles as st
from tpi_chart.pdf.fonts import SANS_BOLD

#: Marker radius in points (the printed size does not depend on the zoom): 13.4 pt across, with
#: a 7.4 pt bold number, legible on paper.
MARKER_RADIUS = 6.7
MARKER_FONT = 7.4
MARKER_FONT_TWO_DIGITS = 6.4
#: Smallest crop, as a fraction of the view height (keeps enough anatomy to orient by).
MIN_CROP_HEIGHT = {"anterior": 0.30, "posterior": 0.30, "head_left": 1.0, "head_right": 1.0}
#: Views always drawn whole (a cropped profile loses the back of the head).
WHOLE_VIEWS = ("head_left", "head_right")
TITLE_HEIGHT = 14.0
#: Grid used to look for a free spot inside a zone (per axis).
_SEARCH_STEPS = 28


#: What a printed marker shows; its legend names these only (twitch is a column of the table).
DRAWN_FEATURES: tuple[MarkerFeature, ...] = ("planned", "injected", "pneumothorax_risk", "uncoded")


@dataclass(frozen=True)
class Marker:
    spec: MarkerSpec
    x: float
    y: float
    muscle: str
    side: str
    #: No coordinates were recorded: drawn at a spot of the muscle's zone, without a leader line.
    approximate: bool = False

    @property
    def number(self) -> int:
        return self.spec.number


@dataclass(frozen=True)
class Crop:
    """A rectangle of the view in height units (x from 0 to aspect, y from 0 to 1, y down)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def aspect(self) -> float:
        return self.width / self.height


def _bounds(points: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def crop_for(
    view: DiagramView, markers: Sequence[Marker], strokes: Sequence[PainStroke] = ()
) -> Crop:
    """The region of the view to draw: markers and their zones (and pain strokes), padded, at
    least a minimum size, with an aspect ratio between 0.6 and 1.5, inside the view."""
    aspect = view.aspect
    if view.id in WHOLE_VIEWS:
        return Crop(0.0, 0.0, aspect, 1.0)
    points: list[tuple[float, float]] = [(m.x * aspect, m.y) for m in markers]
    points += [(x * aspect, y) for stroke in strokes for x, y in stroke.points]
    for marker in markers:
        zone = view.zone_for(marker.muscle, marker.side)
        if zone is not None:
            points.extend((x * aspect, y) for x, y in zone.polygon)
    if not points:
        return Crop(0.0, 0.0, aspect, 1.0)
    x0, y0, x1, y1 = _bounds(points)
    pad = 0.05
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    # Body views are symmetric: centre the crop on the midline so left and right read evenly.
    if view.id in ("anterior", "posterior"):
        half = max(aspect / 2 - x0, x1 - aspect / 2)
        x0, x1 = aspect / 2 - half, aspect / 2 + half
    min_height = MIN_CROP_HEIGHT.get(view.id, 0.3)
    height = max(y1 - y0, min_height)
    width = x1 - x0
    width = max(width, height * 0.6)
    height = max(height, width / 1.5)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    width = min(width, aspect)
    height = min(height, 1.0)
    left = min(max(cx - width / 2, 0.0), aspect - width)
    top = min(max(cy - height / 2, 0.0), 1.0 - height)
    return Crop(left, top, width, height)


def _same_side(view: DiagramView, marker: Marker, x: float) -> bool:
    """Whether normalised ``x`` is on the marker's side of a body view's midline."""
    if view.id not in ("anterior", "posterior") or marker.side not in ("left", "right"):
        return True
    screen_right = (marker.side == "left") == (view.id == "anterior")
    return x > 0.5 if screen_right else x < 0.5


#: The points inside each zone, by (view, muscle, side), each with its view held so the ``id``
#: stays its own: they depend on the shipped geometry only, and testing the grid point by point
#: against the zone's polygon was most of a note's render time (41 searches in a 40-site note).
#: The rings around a zone (``grow`` > 0) depend on the panel's scale and test no polygon: not
#: kept, so that a batch export does not keep one set per note.
_CANDIDATES: dict[tuple[int, str, str], tuple[DiagramView, list[tuple[float, float]]]] = {}


def _candidates(view: DiagramView, marker: Marker, grow: float = 0.0) -> list[tuple[float, float]]:
    """Normalised points inside the marker's own zone on its own side; with ``grow`` > 0, points
    up to ``grow`` (normalised height units) around the zone, still on the marker's side."""
    if grow > 0:
        return _search_grid(view, marker, grow)
    key = (id(view), marker.muscle, marker.side)
    cached = _CANDIDATES.get(key)
    if cached is None:
        cached = _CANDIDATES[key] = (view, _search_grid(view, marker, grow))
    return cached[1]


def _search_grid(view: DiagramView, marker: Marker, grow: float) -> list[tuple[float, float]]:
    zone = view.zone_for(marker.muscle, marker.side)
    if zone is None or grow > 0:
        if zone is None:
            box = (0.0, 0.0, 1.0, 1.0)
        else:
            gx = grow / view.aspect
            x0, y0, x1, y1 = zone.bounds
            box = (max(x0 - gx, 0.0), max(y0 - grow, 0.0), min(x1 + gx, 1.0), min(y1 + grow, 1.0))
        polygon = None
    else:
        box = zone.bounds
        polygon = zone.polygon
    rows = [box[1] + (box[3] - box[1]) * j / _SEARCH_STEPS for j in range(_SEARCH_STEPS + 1)]
    # Each row's edge crossings, sorted: a point is inside when an odd number lie right of it
    # (`point_in_polygon`'s rule and arithmetic, once per row instead of once per point: the
    # first note with 40 sites spent 180 ms here, 41 zones of 29 × 29 points).
    crossings = [sorted(ray_crossings(y, polygon)) for y in rows] if polygon is not None else []
    points = []
    for i in range(_SEARCH_STEPS + 1):
        x = box[0] + (box[2] - box[0]) * i / _SEARCH_STEPS
        if not _same_side(view, marker, x) or (_paired(view, marker) and abs(x - 0.5) <= 0.012):
            continue
        for j, y in enumerate(rows):
            if crossings and (len(crossings[j]) - bisect_right(crossings[j], x)) % 2 == 0:
                continue
            points.append((x, y))
    return points


def _paired(view: DiagramView, marker: Marker) -> bool:
    return view.id in ("anterior", "posterior") and marker.side in ("left", "right")


def place_markers(
    view: DiagramView,
    markers: Sequence[Marker],
    scale: float,
    crop: Crop | None = None,
) -> list[tuple[Marker, float, float]]:
    """Marker centres in points (``x * aspect * scale``, ``y * scale``), none overlapping where
    the zone leaves room: a marker that would overlap one already placed moves to the nearest
    free point inside its own zone and on its own side, never across the midline."""
    aspect = view.aspect
    min_gap = MARKER_RADIUS * 2.15
    placed: list[tuple[Marker, float, float]] = []

    margin = (MARKER_RADIUS + 2.5) / scale
    if crop is None:
        crop = Crop(0.0, 0.0, aspect, 1.0)

    blocker = 0  # the marker that last blocked a spot: its neighbours are likely blocked by it

    def free(px: float, py: float) -> bool:
        nonlocal blocker
        if blocker < len(placed):
            _, qx, qy = placed[blocker]
            if math.hypot(px - qx, py - qy) < min_gap:
                return False
        for index, (_, qx, qy) in enumerate(placed):
            if math.hypot(px - qx, py - qy) < min_gap:
                blocker = index
                return False
        return True

    def shown(px: float, py: float) -> bool:
        """Whether a moved marker would be drawn whole inside the panel."""
        hx, hy = px / scale, py / scale
        return (
            crop.left + margin <= hx <= crop.left + crop.width - margin
            and crop.top + margin <= hy <= crop.top + crop.height - margin
        )

    for marker in markers:
        x, y = marker.x * aspect * scale, marker.y * scale
        # First inside the zone; if it is full, in widening rings around it (same side only).
        for grow in (0.0, 1.5, 3.0, 5.0, 8.0):
            if free(x, y):
                break
            # The nearest free, shown candidate (the first of equals in grid order): nearest
            # first, so the overlap test runs on a few points, not on the whole grid.
            spots = [
                (math.hypot(px - x, py - y), px, py)
                for px, py in (
                    (cx * aspect * scale, cy * scale)
                    for cx, cy in _candidates(view, marker, grow * min_gap / scale)
                )
            ]
            spots.sort(key=lambda spot: spot[0])
            best = next(((px, py) for _d, px, py in spots if shown(px, py) and free(px, py)), None)
            if best is not None:
                x, y = best
                break
        placed.append((marker, x, y))
    return placed


class DiagramPanel(Flowable):  # type: ignore[misc]
    """One view, cropped to its markers, drawn ``height`` points tall (title included)."""

    def __init__(
        self,
        view: DiagramView,
        markers: Sequence[Marker],
        height: float,
        strokes: Sequence[PainStroke] = (),
        title: str | None = None,
    ) -> None:
        super().__init__()
        self.view = view
        self.markers = list(markers)
        #: The patient's pain drawing on this view (shaded under the markers).
        self.strokes = [s for s in strokes if s.view == view.id]
        self.title = title if title is not None else view.title.upper()
        self.crop = crop_for(view, markers, self.strokes)
        self.drawing_height = height - TITLE_HEIGHT
        self.scale = self.drawing_height / self.crop.height
        self.width = self.crop.width * self.scale
        self.height = height

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    # -- coordinates ---------------------------------------------------------------------

    def _point(self, x: float, y: float) -> tuple[float, float]:
        """Normalised view coordinates → points in this flowable (reportlab y up)."""
        px = (x * self.view.aspect - self.crop.left) * self.scale
        py = (y - self.crop.top) * self.scale
        return px, self.drawing_height - py

    def _path(self, canvas: Any, path: Path) -> Any:
        pdf_path = canvas.beginPath()
        for command in path:
            op = command[0]
            nums = [float(v) for v in command[1:]]
            if op == "M":
                pdf_path.moveTo(*self._point(nums[0], nums[1]))
            elif op == "L":
                pdf_path.lineTo(*self._point(nums[0], nums[1]))
            elif op == "C":
                x1, y1 = self._point(nums[0], nums[1])
                x2, y2 = self._point(nums[2], nums[3])
                x3, y3 = self._point(nums[4], nums[5])
                pdf_path.curveTo(x1, y1, x2, y2, x3, y3)
            elif op == "Z":
                pdf_path.close()
        return pdf_path

    # -- drawing -------------------------------------------------------------------------

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        self._draw_frame(canvas)
        clip = canvas.beginPath()
        clip.rect(0, 0, self.width, self.drawing_height)
        canvas.clipPath(clip, stroke=0, fill=0)
        self._draw_body(canvas)
        self._draw_strokes(canvas)
        self._draw_markers(canvas)
        canvas.restoreState()
        self._draw_title(canvas)

    def _draw_frame(self, canvas: Any) -> None:
        canvas.setFillColor(st.WHITE)
        canvas.setStrokeColor(st.RULE)
        canvas.setLineWidth(0.6)
        canvas.rect(0, 0, self.width, self.drawing_height, stroke=1, fill=1)

    def _draw_body(self, canvas: Any) -> None:
        used = {(m.muscle, m.side) for m in self.markers}
        canvas.setLineJoin(1)
        canvas.setLineCap(1)
        canvas.setFillColor(st.SKIN)
        canvas.setStrokeColor(st.OUTLINE)
        canvas.setLineWidth(0.9)
        for outline in self.view.outline:
            canvas.drawPath(self._path(canvas, outline), stroke=1, fill=1, fillMode=0)
        canvas.setStrokeColor(st.BONE)
        canvas.setLineWidth(0.5)
        for bone in self.view.skeleton:
            canvas.drawPath(self._path(canvas, bone), stroke=1, fill=0)
        for zone in self.view.zones:
            highlighted = (zone.muscle, zone.side) in used
            canvas.setStrokeColor(st.ZONE if not highlighted else st.ACCENT)
            canvas.setLineWidth(0.45 if not highlighted else 0.7)
            canvas.setDash([2, 1.6] if zone.deep else [])
            canvas.setFillColor(st.ZONE_USED)
            canvas.drawPath(self._path(canvas, zone.path), stroke=1, fill=1 if highlighted else 0)
        canvas.setDash([])
        canvas.setStrokeColor(st.ZONE)
        canvas.setLineWidth(0.25)
        for zone in self.view.zones:
            for fibre in zone.fibres:
                canvas.drawPath(self._path(canvas, fibre), stroke=1, fill=0)
        canvas.setStrokeColor(st.OUTLINE)
        canvas.setLineWidth(0.5)
        for detail in self.view.details:
            canvas.drawPath(self._path(canvas, detail), stroke=1, fill=0)
        canvas.setStrokeColor(st.ZONE)
        canvas.setLineWidth(0.7)
        for sheet in self.view.sheets:
            canvas.drawPath(self._path(canvas, sheet), stroke=1, fill=0)
        self._draw_landmarks(canvas)
        self._draw_sides(canvas)

    def _draw_landmarks(self, canvas: Any) -> None:
        canvas.setFillColor(st.BONE)
        for landmark in self.view.landmarks:
            canvas.circle(*self._point(*landmark.point), 0.9, stroke=0, fill=1)

    def _draw_sides(self, canvas: Any) -> None:
        """The patient's left and right, at the panel edges (screen orientation differs by view)."""
        if self.view.id == "anterior":
            left_label, right_label = "R", "L"
        elif self.view.id == "posterior":
            left_label, right_label = "L", "R"
        else:
            return
        canvas.setFont(SANS_BOLD, 8)
        canvas.setFillColor(st.MUTED)
        y = self.drawing_height - 11
        canvas.drawString(4, y, left_label)
        canvas.drawRightString(self.width - 4, y, right_label)

    def _draw_strokes(self, canvas: Any) -> None:
        canvas.saveState()
        canvas.setLineCap(1)
        canvas.setLineJoin(1)
        for stroke in self.strokes:
            colour, alpha = PAIN_BRUSH.get(stroke.intensity, PAIN_BRUSH[2])
            canvas.setStrokeColor(colour)
            canvas.setStrokeAlpha(alpha)
            canvas.setLineWidth(max(stroke.width * self.scale, 1.0))
            path = canvas.beginPath()
            path.moveTo(*self._point(*stroke.points[0]))
            if len(stroke.points) == 1:  # a dab: a dot the brush's size
                x, y = self._point(*stroke.points[0])
                path.lineTo(x + 0.01, y)
            for point in stroke.points[1:]:
                path.lineTo(*self._point(*point))
            canvas.drawPath(path, stroke=1, fill=0)
        canvas.restoreState()

    def _draw_markers(self, canvas: Any) -> None:
        offset_x = self.crop.left * self.scale
        offset_y = self.crop.top * self.scale
        for marker, x, y in place_markers(self.view, self.markers, self.scale, self.crop):
            true_x = marker.x * self.view.aspect * self.scale
            true_y = marker.y * self.scale
            cx, cy = x - offset_x, self.drawing_height - (y - offset_y)
            zone = self.view.zone_for(marker.muscle, marker.side)
            in_zone = zone is not None and zone.contains(
                x / self.scale / self.view.aspect, y / self.scale
            )
            if (x, y) != (true_x, true_y) and (not marker.approximate or not in_zone):
                # Moved off a recorded point: a leader line back to it.
                tx, ty = true_x - offset_x, self.drawing_height - (true_y - offset_y)
                canvas.setStrokeColor(st.MUTED)
                canvas.setLineWidth(0.5)
                canvas.line(cx, cy, tx, ty)
                canvas.setFillColor(st.MUTED)
                canvas.circle(tx, ty, 1.1, stroke=0, fill=1)
            draw_marker(canvas, cx, cy, marker.spec)

    def _draw_title(self, canvas: Any) -> None:
        canvas.setFont(SANS_BOLD, 7.5)
        canvas.setFillColor(st.MUTED)
        canvas.drawString(0, self.drawing_height + 4, self.title)


def draw_marker(canvas: Any, cx: float, cy: float, spec: MarkerSpec) -> None:
    """One marker centred on (cx, cy), drawn from its spec (the screen's ``paint_marker``)."""
    canvas.saveState()
    if spec.pneumothorax_risk or spec.uncoded:
        canvas.setStrokeColor(RISK_COLOUR if spec.pneumothorax_risk else UNCODED_COLOUR)
        canvas.setLineWidth(1.6)
        if not spec.pneumothorax_risk:
            canvas.setDash([2.2, 1.4])
        canvas.setFillColor(st.WHITE)
        canvas.circle(cx, cy, MARKER_RADIUS + 2.0, stroke=1, fill=1)
        canvas.setDash([])
    canvas.setLineWidth(1.1)
    canvas.setStrokeColor(st.ACCENT)
    canvas.setFillColor(st.ACCENT if spec.injected else st.WHITE)
    canvas.circle(cx, cy, MARKER_RADIUS, stroke=1, fill=1)
    label = str(spec.number)
    size = MARKER_FONT if len(label) < 2 else MARKER_FONT_TWO_DIGITS
    canvas.setFont(SANS_BOLD, size)
    canvas.setFillColor(st.WHITE if spec.injected else st.ACCENT)
    canvas.drawCentredString(cx, cy - size * 0.36, label)
    if spec.uncoded:
        # The screen's "?" badge, at the upper left so it never covers the number.
        bx, by, badge = cx - MARKER_RADIUS * 0.85, cy + MARKER_RADIUS * 0.85, 3.4
        canvas.setLineWidth(0.6)
        canvas.setStrokeColor(UNCODED_COLOUR)
        canvas.setFillColor(st.WHITE)
        canvas.circle(bx, by, badge, stroke=1, fill=1)
        canvas.setFont(SANS_BOLD, 5.2)
        canvas.setFillColor(UNCODED_COLOUR)
        canvas.drawCentredString(bx, by - 1.8, "?")
    canvas.restoreState()
