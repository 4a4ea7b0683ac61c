"""The body diagram in the note: vector drawing of one view with numbered site markers.

Drawn from the shared geometry (:mod:`tpi_chart.domain.diagram`), the same data the screen uses.
Each panel shows the part of the view that holds its markers (with some anatomy around them for
orientation), the patient's left and right, and the markers: planned hollow, injected filled,
numbered as in the site table; pneumothorax-risk sites get a ring in the warning colour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.platypus import Flowable

from tpi_chart.domain.diagram import DiagramView, Path
from tpi_chart.pdf import styles as st
from tpi_chart.pdf.fonts import SANS_BOLD

#: Marker radius in points (the printed size does not depend on the zoom).
MARKER_RADIUS = 6.2
#: Smallest crop, as a fraction of the view height (keeps enough anatomy to orient by).
MIN_CROP_HEIGHT = {"anterior": 0.30, "posterior": 0.30, "head_left": 1.0, "head_right": 1.0}
TITLE_HEIGHT = 14.0


@dataclass(frozen=True)
class Marker:
    number: int
    x: float
    y: float
    injected: bool
    warning: bool
    muscle: str
    side: str


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


def crop_for(view: DiagramView, markers: Sequence[Marker]) -> Crop:
    """The region of the view to draw: markers and their zones, padded, at least a minimum size,
    with an aspect ratio between 0.6 and 1.5, inside the view."""
    aspect = view.aspect
    points: list[tuple[float, float]] = [(m.x * aspect, m.y) for m in markers]
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


def spread_markers(markers: Sequence[Marker], scale: float) -> list[tuple[Marker, float, float]]:
    """Marker positions in points relative to the crop, nudged apart where they would overlap
    (several sites in one muscle without coordinates share a default position)."""
    placed: list[tuple[Marker, float, float]] = []
    min_gap = MARKER_RADIUS * 2.1
    for marker in markers:
        x, y = marker.x * scale, marker.y * scale
        step = 0
        while any(math.hypot(x - px, y - py) < min_gap for _, px, py in placed) and step < 60:
            step += 1
            angle = step * 2.399963  # golden angle: a deterministic spiral
            radius = min_gap * (0.55 + 0.22 * step)
            x = marker.x * scale + radius * math.cos(angle)
            y = marker.y * scale + radius * math.sin(angle)
        placed.append((marker, x, y))
    return placed


class DiagramPanel(Flowable):  # type: ignore[misc]
    """One view, cropped to its markers, drawn ``height`` points tall (title included)."""

    def __init__(self, view: DiagramView, markers: Sequence[Marker], height: float) -> None:
        super().__init__()
        self.view = view
        self.markers = list(markers)
        self.crop = crop_for(view, markers)
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
        for zone in self.view.zones:
            highlighted = (zone.muscle, zone.side) in used
            canvas.setStrokeColor(st.ZONE if not highlighted else st.ACCENT)
            canvas.setLineWidth(0.45 if not highlighted else 0.7)
            canvas.setDash([2, 1.6] if zone.deep else [])
            canvas.setFillColor(st.ZONE_USED)
            canvas.drawPath(self._path(canvas, zone.path), stroke=1, fill=1 if highlighted else 0)
        canvas.setDash([])
        canvas.setStrokeColor(st.OUTLINE)
        canvas.setLineWidth(0.5)
        for detail in self.view.details:
            canvas.drawPath(self._path(canvas, detail), stroke=1, fill=0)
        self._draw_sides(canvas)

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

    def _draw_markers(self, canvas: Any) -> None:
        offset_x = self.crop.left * self.scale
        offset_y = self.crop.top * self.scale
        height_scale = self.scale
        aspect = self.view.aspect
        placed = spread_markers(
            [
                Marker(m.number, m.x * aspect, m.y, m.injected, m.warning, m.muscle, m.side)
                for m in self.markers
            ],
            height_scale,
        )
        for marker, x, y in placed:
            true_x, true_y = marker.x * height_scale, marker.y * height_scale
            cx, cy = x - offset_x, self.drawing_height - (y - offset_y)
            if (x, y) != (true_x, true_y):
                # Nudged: a leader line back to the recorded point.
                canvas.setStrokeColor(st.MUTED)
                canvas.setLineWidth(0.5)
                canvas.line(cx, cy, true_x - offset_x, self.drawing_height - (true_y - offset_y))
                canvas.setFillColor(st.MUTED)
                canvas.circle(
                    true_x - offset_x,
                    self.drawing_height - (true_y - offset_y),
                    1.1,
                    stroke=0,
                    fill=1,
                )
            if marker.warning:
                canvas.setStrokeColor(st.WARNING)
                canvas.setLineWidth(1.6)
                canvas.setFillColor(st.WHITE)
                canvas.circle(cx, cy, MARKER_RADIUS + 2.0, stroke=1, fill=1)
            canvas.setLineWidth(1.1)
            canvas.setStrokeColor(st.ACCENT)
            canvas.setFillColor(st.ACCENT if marker.injected else st.WHITE)
            canvas.circle(cx, cy, MARKER_RADIUS, stroke=1, fill=1)
            label = str(marker.number)
            size = 6.8 if len(label) < 2 else 5.8
            canvas.setFont(SANS_BOLD, size)
            canvas.setFillColor(st.WHITE if marker.injected else st.ACCENT)
            canvas.drawCentredString(cx, cy - size * 0.36, label)

    def _draw_title(self, canvas: Any) -> None:
        canvas.setFont(SANS_BOLD, 7.5)
        canvas.setFillColor(st.MUTED)
        canvas.drawString(0, self.drawing_height + 4, self.view.title.upper())
