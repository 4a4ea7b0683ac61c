"""BodyDiagram: the interactive body diagram widget (view tabs, zoom, markers, warnings, legend).

Flow of one edit (the scene only mirrors stored data)::

    click → PlaceSiteInteraction → BodyDiagram.place_site → AddSiteCommand (undo stack)
          → SiteDocument.add → ChartingService.add_site (commits, returns the stored row)
          → sites_changed → DiagramScene.set_sites (adds that one marker; the others stay)

Keys (while the diagram has focus):

==========================  ======================================================
F1 / F2 / F3 / F4           anterior / posterior / head left / head right view
Ctrl+1 … Ctrl+4             the same (for keyboards whose F-keys are taken)
+ / -, mouse wheel          zoom in / out (wheel zooms around the pointer)
F or 0                      fit the figure to the window
middle drag, Space + drag   pan
Tab / Shift+Tab             select the next / previous site in number order
Delete / Backspace          remove the selected site (undoable)
Ctrl+Z / Ctrl+Shift+Z       undo / redo (Ctrl+Y also redoes)
Escape                      cancel a drag, else clear the selection
==========================  ======================================================

A double click on a planned site's marker marks it injected.

Pain drawing (the "Pain drawing" switch under the picture, or Ctrl+D): a drag shades where the
patient hurts, with the chosen intensity; each stroke is stored and undoable. The muscles whose
referral patterns cover the shaded area are offered as hints; one click plans a site there.
A right click where zones overlap offers "Here:" the muscles under the pointer.

A click on the figure places a site (inside a muscle zone: that muscle and the patient's side;
elsewhere on the figure: ``unspecified``, flagged until coded). A click on the empty background
clears the selection and places nothing. A click within a marker's 34 px touch target selects
that marker instead of placing a new one: zoom in to place sites closer together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Literal

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTabBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import UNSPECIFIED, load_catalog
from tpi_chart.domain.diagram import VIEW_IDS, default_position, load_diagram, resolve_point
from tpi_chart.domain.models import PainStroke, Site
from tpi_chart.domain.referral import suggest_muscles
from tpi_chart.ui.diagram.commands import (
    AddSiteCommand,
    ChangeSiteCommand,
    MoveSiteCommand,
    RemoveSiteCommand,
    site_label,
)
from tpi_chart.ui.diagram.items import MarkerStyle, paint_marker
from tpi_chart.ui.diagram.model import SiteDocument, SiteService
from tpi_chart.ui.diagram.pain import (
    BRUSH_WIDTH,
    AddStrokeCommand,
    ClearStrokesCommand,
    PainBar,
    PainDocument,
)
from tpi_chart.ui.diagram.scene import DiagramScene, site_position
from tpi_chart.ui.diagram.view import DiagramGraphicsView

Mode = Literal["plan", "chart"]
#: Referral suggestions offered at most (two rows of buttons under the picture).
SUGGESTIONS = 4
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

TAB_TITLES = {
    "anterior": "Front",
    "posterior": "Back",
    "head_left": "Head L",
    "head_right": "Head R",
}
VIEW_KEYS = {
    Qt.Key.Key_F1: "anterior",
    Qt.Key.Key_F2: "posterior",
    Qt.Key.Key_F3: "head_left",
    Qt.Key.Key_F4: "head_right",
}
CTRL_VIEW_KEYS = {
    Qt.Key.Key_1: "anterior",
    Qt.Key.Key_2: "posterior",
    Qt.Key.Key_3: "head_left",
    Qt.Key.Key_4: "head_right",
}


def warnings_for(muscle: str) -> list[tuple[str, str]]:
    """(kind, text) messages shown when a site lands on ``muscle``; kind "risk" or "caution"."""
    catalog = load_catalog()
    if muscle == UNSPECIFIED:
        return [("caution", catalog.unspecified_message)]
    entry = catalog.muscles.get(muscle)
    if entry is None:
        return []
    name = entry.name
    out: list[tuple[str, str]] = []
    for risk in entry.risks:
        kind = "risk" if risk.flag == "pneumothorax" else "caution"
        out.append((kind, f"{name}: {risk.message}"))
    return out


#: Framing the sites: margin around the markers and the smallest part of the figure shown,
#: as fractions of the figure's height and width.
FRAME_MARGIN = 0.08
FRAME_MIN_WIDTH = 0.5
FRAME_MIN_HEIGHT = 0.3


class WarningBanner(QFrame):
    """A non-modal warning strip over the diagram; it never blocks charting.

    A placement warning (risk, caution) goes away by itself after `SHOW_MS`, or when another
    view is shown: the rules panel keeps listing it, and the strip must not go on hiding the
    picture the physician charts on. "Not saved" errors stay until dismissed."""

    SHOW_MS = 6000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.setObjectName("diagramWarning")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setObjectName("diagramWarningText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.dismiss.clicked.connect(self.hide)
        layout.addWidget(self.dismiss)
        self.kind = ""
        self._sheet = ""
        self.hide()

    def show_message(self, text: str, kind: str) -> None:
        self.kind = kind
        colours = {
            "risk": ("#fdecea", "#b3261e"),
            "caution": ("#fff4e0", "#a15c00"),
            "error": ("#fdecea", "#b3261e"),
        }
        background, ink = colours.get(kind, ("#eef4fa", "#1f6fb2"))
        sheet = (
            f"QFrame#diagramWarning {{ background: {background}; border: 1px solid {ink};"
            f" border-radius: 6px; }} QLabel#diagramWarningText {{ color: {ink};"
            " font-weight: 600; }"
        )
        if sheet != self._sheet:  # setting a style sheet re-polishes the strip: only on change
            self._sheet = sheet
            self.setStyleSheet(sheet)
        self.label.setText(text)
        self.show()
        self.keep_showing()

    def keep_showing(self) -> None:
        if self.kind == "error":
            self._timer.stop()
        else:
            self._timer.start(self.SHOW_MS)


class DiagramLegend(QWidget):
    """The marker legend, drawn with the same painter code as the markers themselves."""

    ENTRIES: tuple[tuple[str, MarkerStyle], ...] = (
        ("Planned", MarkerStyle(1, True, None, False, False)),
        ("Injected", MarkerStyle(2, False, None, False, False)),
        ("No twitch", MarkerStyle(3, False, "none", False, False)),
        ("Weak", MarkerStyle(4, False, "weak", False, False)),
        ("Brisk", MarkerStyle(5, False, "brisk", False, False)),
        ("Risk (solid ring)", MarkerStyle(6, False, None, True, False)),
        ("Not coded (dashed)", MarkerStyle(7, True, None, False, True)),
    )

    ROW_HEIGHT = 24

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagramLegend")
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setToolTip(
            "Markers: hollow = planned, filled = injected, number = charting order.\n"
            "Twitch: letter N / W / B (none, weak, brisk); rim solid, hatched, cross-hatched.\n"
            "Solid red outer ring = pneumothorax-risk muscle; dashed amber outer ring and ? = "
            "not coded to a muscle yet."
        )

    def _entry_width(self, text: str) -> int:
        return 31 + self.fontMetrics().horizontalAdvance(text) + 12

    def _rows(self, width: int) -> list[list[tuple[str, MarkerStyle]]]:
        """Entries packed into rows that fit ``width`` (the legend wraps on a narrow panel)."""
        rows: list[list[tuple[str, MarkerStyle]]] = [[]]
        used = 0
        for entry in self.ENTRIES:
            needed = self._entry_width(entry[0])
            if rows[-1] and used + needed > width:
                rows.append([])
                used = 0
            rows[-1].append(entry)
            used += needed
        return rows

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return len(self._rows(width)) * self.ROW_HEIGHT + 4

    def sizeHint(self) -> QSize:
        width = sum(self._entry_width(t) for t, _ in self.ENTRIES)
        return QSize(width, self.ROW_HEIGHT + 4)

    def minimumSizeHint(self) -> QSize:
        return QSize(max(self._entry_width(t) for t, _ in self.ENTRIES), self.ROW_HEIGHT + 4)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        height = self.heightForWidth(self.width())
        if self.minimumHeight() != height:
            self.setMinimumHeight(height)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        ascent = self.fontMetrics().ascent()
        for index, row in enumerate(self._rows(self.width())):
            y = 2 + index * self.ROW_HEIGHT + self.ROW_HEIGHT / 2
            x = 2.0
            for text, style in row:
                paint_marker(painter, QPointF(x + 12, y), replace(style, size=0.72))
                painter.setPen(QColor("#1d2731"))
                painter.drawText(int(x + 31), int(y + ascent / 2 - 1), text)
                x += self._entry_width(text)
        painter.end()


class HereChooser(QFrame):
    """After a click where zones overlap: "Here: pectoralis major / pectoralis minor", the coded
    one checked; a click on another re-codes the site just placed (one undoable step)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hereChooser")
        self.setStyleSheet(
            "QFrame#hereChooser { background: #eef4fa; border: 1px solid #1f6fb2;"
            " border-radius: 6px; }"
        )
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 2, 4, 2)
        self.buttons: list[QPushButton] = []
        self.site_id: int | None = None
        self.hide()

    def offer(
        self,
        site_id: int,
        choices: Sequence[tuple[str, str]],
        chosen: tuple[str, str],
        pick: Callable[[int, str, str], None],
    ) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.site_id = site_id
        label = QLabel("Here:")
        label.setStyleSheet("color: #175a91; font-weight: 600;")
        self._layout.addWidget(label)
        catalog = load_catalog()
        self.buttons = []
        for muscle, side in choices:
            button = QPushButton(catalog.muscle_name(muscle))
            button.setCheckable(True)
            button.setChecked((muscle, side) == chosen)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAccessibleName(f"Code this site as {catalog.muscle_name(muscle)}")
            button.clicked.connect(
                lambda _c=False, m=muscle, s=side: (pick(site_id, m, s), self.hide())
            )
            self._layout.addWidget(button)
            self.buttons.append(button)
        self.adjustSize()
        self.move(6, 6)
        self.show()
        self.raise_()


class BodyDiagram(QWidget):
    """The body diagram for one procedure: click to place, drag to move, Delete to remove.

    Construct with the charting service (anything with ``sites``, ``add_site``, ``update_site``,
    ``remove_site`` and ``restore_site``); then :meth:`set_procedure`.
    """

    #: A site was selected on the diagram by the user (site id; -1 when the selection was
    #: cleared). Also emitted with the new id right after a click placed a site.
    site_selected = Signal(int)
    #: The diagram changed stored sites through the service (place, move, remove, undo, redo).
    sites_changed = Signal()
    #: The shown view changed (view id).
    view_changed = Signal(str)
    #: A warning was shown for a placed or moved site: (kind "risk"/"caution", text).
    warning_shown = Signal(str, str)
    #: The user asked to re-code a site's muscle (right-click on its marker): site id.
    recode_requested = Signal(int)

    def __init__(
        self,
        service: SiteService,
        parent: QWidget | None = None,
        *,
        undo_stack: QUndoStack | None = None,
        show_view_tabs: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("bodyDiagram")
        self.document = SiteDocument(service, self)
        self.undo_stack = undo_stack if undo_stack is not None else QUndoStack(self)
        #: Fills in new sites placed by a click: receives the resolved draft, returns the site
        #: to store (e.g. with the syringe's preparation and default volume). None: unchanged.
        self.new_site_defaults: Callable[[Site], Site] | None = None
        self.mode: Mode = "chart"
        self.selected_id: int | None = None
        self._read_only = False
        #: Pain drawing: while on, a drag on the figure shades instead of placing a site.
        self.pain = PainDocument(service, self)
        self.pain_mode = False
        self.pain_intensity = 2
        self.here_menu: QMenu | None = None

        self.scene = DiagramScene(self)
        self.view = DiagramGraphicsView(self.scene, self, self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)

        top = QHBoxLayout()
        top.setSpacing(4)
        self.tabs = QTabBar()
        self.tabs.setObjectName("diagramViewTabs")
        self.tabs.setAccessibleName("Diagram views")
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        for index, view_id in enumerate(VIEW_IDS):
            self.tabs.addTab(TAB_TITLES[view_id])
            self.tabs.setTabToolTip(
                index, f"{load_diagram().views[view_id].title} view (F{index + 1})"
            )
        self.tabs.currentChanged.connect(lambda index: self.set_view(VIEW_IDS[index]))
        if not show_view_tabs:  # never show() it here: without a parent yet it would be a window
            self.tabs.hide()
        top.addWidget(self.tabs)
        top.addStretch(1)
        layout.addLayout(top)

        layout.addWidget(self.view, 1)

        # Below the picture: what is under the pointer, and the zoom controls (the view tabs
        # above need the panel's whole width).
        bottom = QHBoxLayout()
        bottom.setSpacing(4)
        self.hover_label = QLabel(" ")
        self.hover_label.setObjectName("diagramHover")
        self.hover_label.setProperty("role", "muted")
        bottom.addWidget(self.hover_label, 1)
        self.zoom_out_button = self._tool_button("−", "Zoom out (-)", self.zoom_out)
        self.zoom_in_button = self._tool_button("+", "Zoom in (+ or mouse wheel)", self.zoom_in)
        self.fit_button = self._tool_button("Fit", "Whole figure (F)", self.fit)
        for button in (self.zoom_out_button, self.zoom_in_button, self.fit_button):
            bottom.addWidget(button)
        layout.addLayout(bottom)
        presets = QHBoxLayout()
        presets.setSpacing(4)
        self.region_buttons: dict[str, QToolButton] = {}
        for preset_id, text, letter, _regions, _view in REGION_PRESETS:
            button = self._tool_button(
                text,
                f"Zoom to the {PRESET_NAMES[preset_id]} ({letter})",
                lambda p=preset_id: self.frame_region(p),
            )
            button.setObjectName(f"region_{preset_id}")
            button.setAccessibleName(f"Zoom to the {PRESET_NAMES[preset_id]}")
            self.region_buttons[preset_id] = button
            presets.addWidget(button)
        presets.addStretch(1)
        layout.addLayout(presets)
        self.pain_bar = PainBar()
        # The switch sits beside the zoom buttons, where the row has room at 1366 px.
        bottom.insertWidget(1, self.pain_bar.toggle)
        self.pain_bar.mode_toggled.connect(self.set_pain_mode)
        self.pain_bar.intensity_chosen.connect(self.set_pain_intensity)
        self.pain_bar.clear_requested.connect(self.clear_pain_drawing)
        self.pain_bar.suggestion_chosen.connect(self.plan_suggested)
        layout.addWidget(self.pain_bar)
        self.region_framed = ""
        # The warning floats over the bottom of the picture so showing it never re-fits the view.
        self.banner = WarningBanner(self.view)
        self.here = HereChooser(self.view)
        self.legend = DiagramLegend(self)
        layout.addWidget(self.legend)

        self.document.sites_changed.connect(self._redraw)
        self.document.edited.connect(self.sites_changed)
        self.document.failed.connect(lambda text: self._warn("error", f"Not saved: {text}"))
        self.scene.hovered_zone_changed.connect(self._show_hovered)
        self.pain.changed.connect(self._redraw_pain)
        self.document.sites_changed.connect(self._show_suggestions)
        self.pain.failed.connect(lambda text: self._warn("error", f"Not saved: {text}"))

        self.set_view("posterior")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_banner()

    def _place_banner(self) -> None:
        """At the bottom of the picture; at the top when it would cover the selected marker."""
        margin = 6
        width = max(120, self.view.width() - 2 * margin)
        self.banner.setFixedWidth(width)
        self.banner.adjustSize()
        height = self.banner.sizeHint().height()
        bottom = QRect(margin, self.view.height() - height - margin, width, height)
        marker = self.scene.markers.get(self.selected_id) if self.selected_id is not None else None
        if marker is not None:
            shown = self.view.mapFromScene(marker.sceneBoundingRect()).boundingRect()
            if shown.intersects(bottom):
                bottom.moveTop(margin)
        self.banner.setGeometry(bottom)
        self.banner.raise_()

    def _tool_button(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setMinimumSize(34, 34)
        button.setStyleSheet("QToolButton { padding: 0 6px; }")
        button.clicked.connect(slot)
        return button

    # -- public API ----------------------------------------------------------------------------

    def set_procedure(self, procedure_id: int | None, sites: Sequence[Any] | None = None) -> None:
        """Show the sites of a procedure (clears the selection, keeps the undo stack). ``sites``:
        the procedure's stored sites when the caller has just read them (else they are read)."""
        self.selected_id = None
        self.banner.hide()
        self.document.set_procedure(procedure_id, sites)
        self.pain.set_procedure(procedure_id)
        self.frame_sites()

    def refresh(self, sites: Sequence[Any] | None = None) -> None:
        """Redraw after edits made elsewhere: from ``sites`` when the caller has just read them,
        else re-read the stored sites."""
        if sites is None:
            self.document.reload()
        else:
            self.document.show(sites)

    def set_view(self, view_id: str) -> None:
        if view_id not in VIEW_IDS:
            raise ValueError(f"unknown diagram view {view_id!r}")
        changed = self.scene.view_id != view_id
        self.scene.show_view(view_id)
        index = VIEW_IDS.index(view_id)
        if self.tabs.currentIndex() != index:
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex(index)
            self.tabs.blockSignals(False)
        if changed:
            if self.banner.kind != "error":
                self.banner.hide()  # it named a site on the view that was left
            self.hover_label.setText(" ")  # it named a muscle of the view that was left
            self.view.reset_scene_rect()
            self._redraw()
            self._redraw_pain()
            self.frame_sites()
            self.view_changed.emit(view_id)

    def set_view_tabs_visible(self, visible: bool) -> None:
        """Hide the diagram's own view tabs when the host has its own view buttons."""
        self.tabs.setVisible(visible)

    def current_view(self) -> str:
        return str(self.scene.view_id)

    def set_mode(self, mode: Mode) -> None:
        """ "plan": new sites are planned (hollow); "chart": new sites are injected."""
        if mode not in ("plan", "chart"):
            raise ValueError(f"mode must be 'plan' or 'chart', not {mode!r}")
        self.mode = mode

    def set_read_only(self, read_only: bool) -> None:
        """A signed procedure: markers still show and select, but nothing can be edited."""
        self._read_only = read_only
        if read_only:
            self.set_pain_mode(False)
        self.pain_bar.set_editable(not read_only)

    def is_read_only(self) -> bool:
        return self._read_only

    def select_site(self, site_id: int | None) -> None:
        """Select a site's marker (switching to the view it is drawn in). Emits nothing."""
        self.selected_id = site_id
        if site_id is not None:
            stored = self.document.stored(site_id)
            place = site_position(stored.site) if stored is not None else None
            if place is not None and place[0] != self.scene.view_id:
                self.set_view(place[0])
        self.scene.select_marker(site_id)
        marker = self.scene.markers.get(site_id) if site_id is not None else None
        if marker is not None:
            self.view.ensureVisible(marker, 40, 40)

    def selected_site_id(self) -> int | None:
        return self.selected_id

    def fit(self) -> None:
        self.view.fit()

    def region_rect(self, regions: Sequence[str]) -> QRectF | None:
        """The scene rectangle around this view's zones of muscles in ``regions``."""
        muscles = load_catalog().muscles
        rect: QRectF | None = None
        for item in self.scene.zone_items:
            entry = muscles.get(item.zone.muscle)
            if entry is not None and entry.region in regions:
                bounds = item.sceneBoundingRect()
                rect = bounds if rect is None else rect.united(bounds)
        return rect

    def frame_region(self, preset_id: str) -> None:
        """One of REGION_PRESETS: its muscles fill the panel (in this view when it has them),
        and never smaller than a fingertip: when the region does not fit at that size, its
        centre is shown at it (pan or zoom out for the rest)."""
        preset = next(p for p in REGION_PRESETS if p[0] == preset_id)
        regions, fallback = preset[3], preset[4]
        head = self.current_view().startswith("head")
        if self.region_rect(regions) is None or head != fallback.startswith("head"):
            self.set_view(fallback)
        rect = self.region_rect(regions)
        if rect is None:
            return
        margin = self.scene.figure_rect().height() * 0.015
        rect = rect.adjusted(-margin, -margin, margin, margin)
        self.view.frame(self._fingertip_frame(rect, regions))
        self.region_framed = preset_id

    def _fingertip_frame(self, rect: QRectF, regions: Sequence[str]) -> QRectF:
        """``rect``, narrowed around its centre until the smallest zone of ``regions`` shows at
        least ZONE_MIN_PX across."""
        muscles = load_catalog().muscles
        sizes = [
            min(item.sceneBoundingRect().width(), item.sceneBoundingRect().height())
            for item in self.scene.zone_items
            if (entry := muscles.get(item.zone.muscle)) is not None and entry.region in regions
        ]
        viewport = self.view.viewport().rect()
        if not sizes or viewport.isEmpty():
            return rect
        needed = ZONE_MIN_PX / min(sizes)
        scale = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        if scale >= needed:
            return rect
        width, height = viewport.width() / needed, viewport.height() / needed
        centre = rect.center()
        return QRectF(centre.x() - width / 2, centre.y() - height / 2, width, height)

    def frame_sites(self) -> None:
        """Zoom to the body regions of this view's sites (a neck-and-shoulder procedure fills
        the panel instead of sitting at the top of a full-length figure); the whole figure when
        the view has none. F shows the whole figure again."""
        self.region_framed = ""
        markers = list(self.scene.markers.values())
        if not markers:
            self.view.fit()
            return
        figure = self.scene.figure_rect()
        bounds = markers[0].sceneBoundingRect()
        for marker in markers[1:]:
            bounds = bounds.united(marker.sceneBoundingRect())
        muscles = load_catalog().muscles
        regions = {
            muscles[s.site.muscle].region
            for s in self.document.sites
            if s.site.muscle in muscles
            and (site_position(s.site) or ("",))[0] == self.current_view()
        }
        around = self.region_rect(sorted(regions)) if regions else None
        if around is not None:
            bounds = bounds.united(around)
        margin = figure.height() * FRAME_MARGIN
        rect = bounds.adjusted(-margin, -margin, margin, margin)
        width = max(rect.width(), figure.width() * FRAME_MIN_WIDTH)
        height = max(rect.height(), figure.height() * FRAME_MIN_HEIGHT)
        center = rect.center()
        self.view.frame(QRectF(center.x() - width / 2, center.y() - height / 2, width, height))

    def zoom_in(self) -> None:
        self.view.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.view.zoom_by(1 / 1.25)

    # -- edits (each is one undo command) ------------------------------------------------------

    def place_site(
        self, x: float, y: float, *, deep: bool = False, code: tuple[str, str] | None = None
    ) -> int | None:
        """Place a new site at normalised (x, y) of the current view; returns its id. Where
        zones overlap the superficial muscle is coded (``deep``: the deep one; ``code``: the
        muscle and side picked from the right-click "Here:" menu) and the others are offered in
        the "Here:" chooser."""
        if self._read_only or self.document.procedure_id is None:
            return None
        view_id = self.current_view()
        x, y = _clamp(x), _clamp(y)
        muscle, side = code if code is not None else resolve_point(view_id, x, y, deep=deep)
        here = [(z.muscle, z.side) for z in load_diagram().view(view_id).zones_at(x, y)]
        site = Site.model_validate(
            {
                "muscle": muscle,
                "side": side,
                "state": "planned" if self.mode == "plan" else "injected",
                "view": view_id,
                "x": round(x, 4),
                "y": round(y, 4),
            }
        )
        if self.new_site_defaults is not None:
            site = self.new_site_defaults(site)
        command = AddSiteCommand(self.document, site)
        self.undo_stack.push(command)
        if command.site_id is None or command.isObsolete():
            return None
        self.selected_id = command.site_id
        self.scene.select_marker(command.site_id)
        self._warn_for(muscle)
        self.site_selected.emit(command.site_id)
        if len(set(here)) > 1:
            self.here.offer(command.site_id, here, (muscle, side), self.recode_site)
        else:
            self.here.hide()
        return command.site_id

    # -- the pain drawing ----------------------------------------------------------------------

    def set_pain_mode(self, on: bool) -> None:
        """Pain drawing on: a drag shades (with :attr:`pain_intensity`); off: clicks place sites."""
        on = bool(on) and not self._read_only
        self.pain_mode = on
        self.pain_bar.set_drawing_mode(on)
        # The marker legend gives its rows to the brush and the suggestions while shading.
        self.legend.setVisible(not on)
        cursor = Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor
        self.view.viewport().setCursor(cursor)

    def set_pain_intensity(self, level: int) -> None:
        self.pain_intensity = level
        button = self.pain_bar.intensity_buttons.get(level)
        if button is not None and not button.isChecked():
            button.setChecked(True)

    def add_pain_stroke(self, points: Sequence[tuple[float, float]]) -> bool:
        """Store one stroke on the current view (one undoable step)."""
        if self._read_only or self.pain.procedure_id is None or not points:
            return False
        view_id = self.current_view()
        stroke = PainStroke.model_validate(
            {
                "view": view_id,
                "intensity": self.pain_intensity,
                "width": BRUSH_WIDTH.get(view_id, 0.02),
                "points": list(points),
            }
        )
        count = self.undo_stack.count()
        self.undo_stack.push(AddStrokeCommand(self.pain, stroke))
        return self.undo_stack.count() > count

    def clear_pain_drawing(self) -> None:
        if self._read_only or not self.pain.strokes:
            return
        self.undo_stack.push(ClearStrokesCommand(self.pain))

    def pain_strokes(self) -> list[PainStroke]:
        return [stored.stroke for stored in self.pain.strokes]

    def plan_suggested(self, muscle: str, side: str) -> int | None:
        """Turn a referral suggestion into a planned site at the muscle's label point (shown in
        this view when the muscle is drawn here)."""
        if self._read_only or self.document.procedure_id is None:
            return None
        zone = load_diagram().view(self.current_view()).zone_for(muscle, side)
        if zone is not None:
            place: tuple[str, float, float] | None = (self.current_view(), *zone.label_point)
        else:
            place = default_position(muscle, side)
        data: dict[str, Any] = {"muscle": muscle, "side": side, "state": "planned"}
        if place is not None:
            data.update(view=place[0], x=round(place[1], 4), y=round(place[2], 4))
        site = Site.model_validate(data)
        if self.new_site_defaults is not None:  # the syringe and volume a click would get
            site = self.new_site_defaults(site)
        command = AddSiteCommand(self.document, site)
        self.undo_stack.push(command)
        if command.site_id is None or command.isObsolete():
            return None
        self.select_site(command.site_id)
        self._warn_for(muscle)
        self.site_selected.emit(command.site_id)
        return command.site_id

    def _redraw_pain(self) -> None:
        self.scene.set_strokes(self.pain_strokes())
        self._show_suggestions()

    def _show_suggestions(self) -> None:
        charted = {(s.site.muscle, s.site.side) for s in self.document.sites}
        self.pain_bar.show_suggestions(
            suggest_muscles(self.pain_strokes(), limit=SUGGESTIONS),
            editable=not self._read_only,
            charted=charted,
        )

    def offer_here(self, x: float, y: float, at: QPoint) -> QMenu | None:
        """Right click on the figure: a menu of the muscles under the pointer ("Here:
        pectoralis major / pectoralis minor"); picking one places a site coded to it."""
        if self._read_only or self.document.procedure_id is None:
            return None
        zones = load_diagram().view(self.current_view()).zones_at(_clamp(x), _clamp(y))
        if not zones:
            return None
        catalog = load_catalog()
        menu = QMenu(self)
        menu.setObjectName("hereMenu")
        menu.setAccessibleName("Muscles here")
        title = menu.addAction("Place a site here in:")
        title.setEnabled(False)
        for zone in zones:
            name = catalog.muscle_name(zone.muscle)
            depth = ", deep" if zone.deep else ""
            action = menu.addAction(f"{name} ({zone.side}{depth})")
            action.triggered.connect(
                lambda _c=False, m=zone.muscle, s=zone.side: self.place_site(x, y, code=(m, s))
            )
        menu.aboutToHide.connect(menu.deleteLater)
        self.here_menu = menu
        menu.popup(at)
        return menu

    def add_named_site(self, muscle: str, side: str) -> int | None:
        """Add a site chosen by name (the keyboard's way in): drawn where the muscle's zone is,
        planned or injected as a click would be; one undo command. Returns its id."""
        if self._read_only or self.document.procedure_id is None:
            return None
        data: dict[str, object] = {
            "muscle": muscle,
            "side": side,
            "state": "planned" if self.mode == "plan" else "injected",
        }
        position = default_position(muscle, side)
        if position is not None:
            data["view"], data["x"], data["y"] = position
        site = Site.model_validate(data)
        if self.new_site_defaults is not None:
            site = self.new_site_defaults(site)
        command = AddSiteCommand(self.document, site)
        self.undo_stack.push(command)
        if command.site_id is None or command.isObsolete():
            return None
        self.selected_id = command.site_id
        self.scene.select_marker(command.site_id)
        self.site_selected.emit(command.site_id)
        return command.site_id

    def recode_site(self, site_id: int, muscle: str, side: str) -> bool:
        """Code a site as another muscle and side (one undoable step)."""
        return self.change_site(site_id, {"muscle": muscle, "side": side}, "Muscle")

    def request_recode(self, site_id: int) -> None:
        self.user_selected(site_id)
        self.recode_requested.emit(site_id)

    def move_site(self, site_id: int, x: float, y: float) -> bool:
        """Move a site to normalised (x, y) of the current view; re-resolves muscle and side."""
        stored = self.document.stored(site_id)
        if self._read_only or stored is None:
            return False
        view_id = self.current_view()
        x, y = _clamp(x), _clamp(y)
        muscle, side = resolve_point(view_id, x, y)
        before: Site = stored.site
        after = before.model_copy(
            update={
                "muscle": muscle,
                "side": side,
                "view": view_id,
                "x": round(x, 4),
                "y": round(y, 4),
            }
        )
        after = Site.model_validate(after.model_dump())
        if after == before:
            return True
        count = self.undo_stack.count()
        self.undo_stack.push(MoveSiteCommand(self.document, site_id, before, after))
        moved = self.undo_stack.count() > count
        if moved and (muscle, side) != (before.muscle, before.side):
            self._warn_for(muscle)
        return moved

    def remove_site(self, site_id: int) -> bool:
        stored = self.document.stored(site_id)
        if self._read_only or stored is None:
            return False
        count = self.undo_stack.count()
        self.undo_stack.push(RemoveSiteCommand(self.document, site_id, stored.site))
        removed = self.undo_stack.count() > count
        if removed and self.selected_id == site_id:
            self.selected_id = None
            self.site_selected.emit(-1)
        return removed

    def change_site(self, site_id: int, changes: dict[str, Any], text: str) -> bool:
        """Any other edit of one site's fields as an undoable step (e.g. state → injected)."""
        stored = self.document.stored(site_id)
        if self._read_only or stored is None:
            return False
        after = Site.model_validate({**stored.site.model_dump(), **changes})
        count = self.undo_stack.count()
        self.undo_stack.push(ChangeSiteCommand(self.document, site_id, stored.site, after, text))
        return self.undo_stack.count() > count

    def activate_site(self, site_id: int) -> bool:
        """Double click on a marker: a planned site becomes injected (one undoable step)."""
        stored = self.document.stored(site_id)
        if stored is None or stored.site.state != "planned":
            return False
        number = stored.number
        return self.change_site(site_id, {"state": "injected"}, f"Mark site {number} injected")

    # -- controller hooks (called by the view and its interactions) --------------------------

    def user_selected(self, site_id: int | None) -> None:
        if site_id != self.here.site_id:
            self.here.hide()
        if site_id == self.selected_id:
            return
        self.selected_id = site_id
        self.scene.select_marker(site_id)
        self.site_selected.emit(site_id if site_id is not None else -1)

    def handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        modifiers = event.modifiers()
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        if key in VIEW_KEYS and not ctrl:
            self.set_view(VIEW_KEYS[Qt.Key(key)])
            return True
        if ctrl and key in CTRL_VIEW_KEYS:
            self.set_view(CTRL_VIEW_KEYS[Qt.Key(key)])
            return True
        if ctrl and key == Qt.Key.Key_Z:
            (self.undo_stack.redo if shift else self.undo_stack.undo)()
            return True
        if (ctrl and key == Qt.Key.Key_Y) or event.matches(QKeySequence.StandardKey.Redo):
            self.undo_stack.redo()
            return True
        if ctrl and key == Qt.Key.Key_D:  # D for drawing (plain D is dry needling)
            self.set_pain_mode(not self.pain_mode)
            return True
        if ctrl:
            return False
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
            return True
        if key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_out()
            return True
        if key in (Qt.Key.Key_F, Qt.Key.Key_0):
            self.fit()
            return True
        for preset_id, _text, letter, _regions, _view in REGION_PRESETS:
            if key == QKeySequence(letter)[0].key():
                self.frame_region(preset_id)
                return True
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            if self.selected_id is not None:
                self.remove_site(self.selected_id)
            return True
        if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            self.step_selection(-1 if key == Qt.Key.Key_Backtab or shift else 1)
            return True
        if key == Qt.Key.Key_Escape and self.selected_id is not None:
            self.user_selected(None)
            return True
        return False

    def step_selection(self, delta: int) -> None:
        """Select the next (delta 1) or previous (-1) site in number order, wrapping around."""
        ids = [int(s.id) for s in self.document.sites if site_position(s.site) is not None]
        if not ids:
            return
        if self.selected_id not in ids:
            target = ids[0] if delta > 0 else ids[-1]
        else:
            target = ids[(ids.index(self.selected_id) + delta) % len(ids)]
        self.select_site(target)
        self.site_selected.emit(target)

    # -- drawing -------------------------------------------------------------------------------

    def _redraw(self) -> None:
        known = {int(s.id) for s in self.document.sites}
        if self.selected_id is not None and self.selected_id not in known:
            self.selected_id = None
        self.scene.set_sites(self.document.sites, self.selected_id)
        counts = dict.fromkeys(VIEW_IDS, 0)
        for stored in self.document.sites:
            place = site_position(stored.site)
            if place is not None and place[0] in counts:
                counts[place[0]] += 1
        for index, view_id in enumerate(VIEW_IDS):
            count = counts[view_id]
            title = TAB_TITLES[view_id]
            self.tabs.setTabText(index, f"{title} ({count})" if count else title)

    def _show_hovered(self, muscle: str, side: str) -> None:
        if not muscle:
            self.hover_label.setText(" ")
            return
        name = load_catalog().muscle_name(muscle)
        self.hover_label.setText(f"{name} ({side})" if side != "midline" else name)

    def _warn_for(self, muscle: str) -> None:
        messages = warnings_for(muscle)
        if not messages:
            return
        kind = "risk" if any(k == "risk" for k, _ in messages) else "caution"
        text = "  ".join(t for _, t in messages)
        self._warn(kind, text)

    def _warn(self, kind: str, text: str) -> None:
        banner = self.banner
        # The same warning already on screen (a second site in that muscle): nothing to redraw,
        # but it stays a while longer and moves off the new marker.
        if banner.isVisible() and banner.kind == kind and banner.label.text() == text:
            banner.keep_showing()
        else:
            banner.show_message(text, kind)
        self._place_banner()
        self.warning_shown.emit(kind, text)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


__all__ = ["BodyDiagram", "DiagramLegend", "WarningBanner", "site_label", "warnings_for"]
