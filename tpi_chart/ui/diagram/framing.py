"""What part of the figure the diagram frames: a body region (the zoom presets) or the sites of
the procedure, never smaller than a fingertip can chart on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QRect, QRectF

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import Site
from tpi_chart.ui.diagram.scene import DiagramScene, site_position

#: Smallest muscle zone on screen at a region preset's frame, px (34 px fingertip + slack).
ZONE_MIN_PX = 36.0

#: Zoom presets by body region (id, button text, key, catalog regions, view used when the
#: current view has none of those muscles). A preset frames the zones of those muscles.
PRESET_NAMES = {
    "neck_shoulders": "neck and shoulders",
    "upper_back": "upper back",
    "low_back_hip": "low back and hip",
    "jaw_head": "jaw and head",
}
REGION_PRESETS: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    ("neck_shoulders", "Neck", "S", ("neck",), "posterior"),
    ("upper_back", "Upper back", "U", ("shoulder", "chest"), "posterior"),
    ("low_back_hip", "Low back", "L", ("lower_back", "hip"), "posterior"),
    ("jaw_head", "Jaw", "H", ("jaw", "head"), "head_left"),
)

#: Framing the sites: margin around the markers and the smallest part of the figure shown,
#: as fractions of the figure's height and width.
FRAME_MARGIN = 0.08
FRAME_MIN_WIDTH = 0.5
FRAME_MIN_HEIGHT = 0.3


def region_rect(scene: DiagramScene, regions: Iterable[str]) -> QRectF | None:
    """The scene rectangle around this view's zones of muscles in ``regions``."""
    wanted = set(regions)
    muscles = load_catalog().muscles
    rect: QRectF | None = None
    for item in scene.zone_items:
        entry = muscles.get(item.zone.muscle)
        if entry is not None and entry.region in wanted:
            bounds = item.sceneBoundingRect()
            rect = bounds if rect is None else rect.united(bounds)
    return rect


def fingertip_frame(
    scene: DiagramScene, viewport: QRect, rect: QRectF, regions: Sequence[str]
) -> QRectF:
    """``rect``, narrowed around its centre until the smallest zone of ``regions`` shows at
    least ZONE_MIN_PX across."""
    muscles = load_catalog().muscles
    sizes = [
        min(item.sceneBoundingRect().width(), item.sceneBoundingRect().height())
        for item in scene.zone_items
        if (entry := muscles.get(item.zone.muscle)) is not None and entry.region in regions
    ]
    if not sizes or viewport.isEmpty():
        return rect
    needed = ZONE_MIN_PX / min(sizes)
    scale = min(viewport.width() / rect.width(), viewport.height() / rect.height())
    if scale >= needed:
        return rect
    width, height = viewport.width() / needed, viewport.height() / needed
    centre = rect.center()
    return QRectF(centre.x() - width / 2, centre.y() - height / 2, width, height)


def sites_frame(scene: DiagramScene, sites: Iterable[Site]) -> QRectF | None:
    """The body regions of the shown view's sites (a neck-and-shoulder procedure fills the
    panel instead of sitting at the top of a full-length figure); None: the whole figure."""
    markers = list(scene.markers.values())
    if not markers:
        return None
    figure = scene.figure_rect()
    bounds = markers[0].sceneBoundingRect()
    for marker in markers[1:]:
        bounds = bounds.united(marker.sceneBoundingRect())
    muscles = load_catalog().muscles
    regions = {
        muscles[site.muscle].region
        for site in sites
        if site.muscle in muscles and (site_position(site) or ("",))[0] == scene.view_id
    }
    around = region_rect(scene, sorted(regions)) if regions else None
    if around is not None:
        bounds = bounds.united(around)
    margin = figure.height() * FRAME_MARGIN
    rect = bounds.adjusted(-margin, -margin, margin, margin)
    width = max(rect.width(), figure.width() * FRAME_MIN_WIDTH)
    height = max(rect.height(), figure.height() * FRAME_MIN_HEIGHT)
    center = rect.center()
    return QRectF(center.x() - width / 2, center.y() - height / 2, width, height)
