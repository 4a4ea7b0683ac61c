"""BodyDiagram: the interactive body diagram widget (view tabs, zoom, markers, warnings, legend).

Flow of one edit (the scene only mirrors stored data)::

    click → PlaceSiteInteraction → BodyDiagram.place_site → PlaceSiteCommand (undo stack)
          → ProcedureDocument.place_site → ChartingOps.plan_site / inject_site (commits,
            returns the Changes) → ProcedureDocument.sites_changed
          → DiagramScene.set_sites (adds that one marker; the others stay)

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

from collections.abc import Sequence

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent, QUndoStack
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import VIEW_IDS
from tpi_chart.domain.models import PainStroke
from tpi_chart.domain.referral import Suggestion, suggest_muscles
from tpi_chart.services.charting import ChartingService
from tpi_chart.ui.commands import site_label
from tpi_chart.ui.diagram import controls, framing
from tpi_chart.ui.diagram.controls import TAB_TITLES
from tpi_chart.ui.diagram.editing import DiagramEditing, Mode
from tpi_chart.ui.diagram.framing import REGION_PRESETS
from tpi_chart.ui.diagram.legend import DiagramLegend
from tpi_chart.ui.diagram.overlays import HereChooser, WarningBanner, warnings_for
from tpi_chart.ui.diagram.pain import (
    BRUSH_WIDTH,
    AddStrokeCommand,
    ClearStrokesCommand,
    PainBar,
    PainDocument,
)
from tpi_chart.ui.diagram.scene import DiagramScene, site_position
from tpi_chart.ui.diagram.view import DiagramGraphicsView
from tpi_chart.ui.document import ProcedureDocument

#: Referral suggestions offered at most (two rows of buttons under the picture).
SUGGESTIONS = 4


class BodyDiagram(DiagramEditing):
    """The body diagram for one procedure: click to place, drag to move, Delete to remove.

    Construct with the open procedure's :class:`~tpi_chart.ui.document.ProcedureDocument`
    (the workspace's), or with the charting service for a diagram of its own; then
    :meth:`set_procedure` (a diagram of its own) or ``document.open``.
    """

    #: The diagram changed stored sites (place, move, remove, undo, redo).
    sites_changed = Signal()
    #: The shown view changed (view id).
    view_changed = Signal(str)
    #: A warning was shown for a placed or moved site: (kind "risk"/"caution", text).
    warning_shown = Signal(str, str)

    hover_label: QLabel
    zoom_out_button: QToolButton
    zoom_in_button: QToolButton
    fit_button: QToolButton
    region_buttons: dict[str, QToolButton]

    def __init__(
        self,
        source: ProcedureDocument | ChartingService,
        parent: QWidget | None = None,
        *,
        undo_stack: QUndoStack | None = None,
        show_view_tabs: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("bodyDiagram")
        # A diagram of its own (tests, screenshots) owns its document and says what it
        # refused; in the workspace the host does.
        owned = not isinstance(source, ProcedureDocument)
        if isinstance(source, ProcedureDocument):
            self.document = source
        else:
            self.document = ProcedureDocument(source, self)
        self.undo_stack = undo_stack if undo_stack is not None else QUndoStack(self)
        self.new_site_defaults = None
        self.mode: Mode = "chart"
        self.selected_id = None
        self._read_only = False
        #: Pain drawing: while on, a drag on the figure shades instead of placing a site.
        self.pain = PainDocument(self.document, self)
        self.pain_mode = False
        self.pain_intensity = 2
        self.here_menu = None
        self._suggested: tuple[list[PainStroke], list[Suggestion]] | None = None

        self.scene = DiagramScene(self)
        self.view = DiagramGraphicsView(self.scene, self, self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)

        top = QHBoxLayout()
        top.setSpacing(4)
        self.tabs = controls.view_tabs(self)
        if not show_view_tabs:  # never show() it here: without a parent yet it would be a window
            self.tabs.hide()
        top.addWidget(self.tabs)
        top.addStretch(1)
        layout.addLayout(top)

        layout.addWidget(self.view, 1)
        bottom = controls.zoom_row(self)
        layout.addLayout(bottom)
        layout.addLayout(controls.region_row(self))
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

        self.document.opened.connect(self._opened)
        self.document.reloaded.connect(self._reloaded)
        self.document.sites_changed.connect(self._sites_changed)
        if owned:
            self.document.failed.connect(self._not_saved)
        self.scene.hovered_zone_changed.connect(self._show_hovered)
        self.pain.changed.connect(self._redraw_pain)
        self.pain.failed.connect(self._not_saved)

        self.set_view("posterior")

    def _not_saved(self, text: str) -> None:
        self._warn("error", text if text.startswith("Not saved") else f"Not saved: {text}")

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

    # -- public API ----------------------------------------------------------------------------

    def set_procedure(self, procedure_id: int | None) -> None:
        """Open a procedure in the diagram's own document (clears the selection, keeps the undo
        stack)."""
        self.document.open(procedure_id)

    def refresh(self) -> None:
        """Redraw after edits made elsewhere: the document reads the procedure again."""
        self.document.reload()

    def _opened(self) -> None:
        """Another procedure (or the same one opened again): shown from the start."""
        self.selected_id = None
        self.banner.hide()
        self.here.hide()
        self.pain.set_procedure(self.document.procedure_id)
        self._reloaded()
        self.frame_sites()

    def _reloaded(self) -> None:
        self._redraw()
        self._show_suggestions()

    def _sites_changed(self, _changes: object) -> None:
        self._reloaded()
        self.sites_changed.emit()

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
            stored = self.document.stored_site(site_id)
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

    def frame_region(self, preset_id: str) -> None:
        """One of REGION_PRESETS: its muscles fill the panel (in this view when it has them),
        and never smaller than a fingertip: when the region does not fit at that size, its
        centre is shown at it (pan or zoom out for the rest)."""
        preset = next(p for p in REGION_PRESETS if p[0] == preset_id)
        regions, fallback = preset[3], preset[4]
        head = self.current_view().startswith("head")
        if framing.region_rect(self.scene, regions) is None or head != fallback.startswith("head"):
            self.set_view(fallback)
        rect = framing.region_rect(self.scene, regions)
        if rect is None:
            return
        margin = self.scene.figure_rect().height() * 0.015
        rect = rect.adjusted(-margin, -margin, margin, margin)
        viewport = self.view.viewport().rect()
        self.view.frame(framing.fingertip_frame(self.scene, viewport, rect, regions))
        self.region_framed = preset_id

    def frame_sites(self) -> None:
        """Zoom to the body regions of this view's sites; the whole figure when the view has
        none. F shows the whole figure again."""
        self.region_framed = ""
        rect = framing.sites_frame(self.scene, (s.site for s in self.document.sites))
        if rect is None:
            self.view.fit()
        else:
            self.view.frame(rect)

    def zoom_in(self) -> None:
        self.view.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.view.zoom_by(1 / 1.25)

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
        return self._push(AddStrokeCommand(self.pain, stroke))

    def clear_pain_drawing(self) -> None:
        if self._read_only or not self.pain.strokes:
            return
        self.undo_stack.push(ClearStrokesCommand(self.pain))

    def pain_strokes(self) -> list[PainStroke]:
        return [stored.stroke for stored in self.pain.strokes]

    def _redraw_pain(self) -> None:
        self.scene.set_strokes(self.pain_strokes())
        self._show_suggestions()

    def _show_suggestions(self) -> None:
        charted = {(s.site.muscle, s.site.side) for s in self.document.sites}
        strokes = self.pain_strokes()
        # Every edit of the sites asks again; the suggestions change only with the drawing.
        kept = self._suggested
        if (
            kept is None
            or len(kept[0]) != len(strokes)
            or any(a is not b for a, b in zip(kept[0], strokes, strict=True))
        ):
            kept = self._suggested = (strokes, suggest_muscles(strokes, limit=SUGGESTIONS))
        self.pain_bar.show_suggestions(
            kept[1],
            editable=not self._read_only,
            charted=charted,
        )

    # -- controller hooks (called by the view and its interactions) --------------------------

    def request_recode(self, site_id: int) -> None:
        self.user_selected(site_id)
        self.recode_requested.emit(site_id)

    def user_selected(self, site_id: int | None) -> None:
        if site_id != self.here.site_id:
            self.here.hide()
        if site_id == self.selected_id:
            return
        self.selected_id = site_id
        self.scene.select_marker(site_id)
        self.site_selected.emit(site_id if site_id is not None else -1)

    def handle_key(self, event: QKeyEvent) -> bool:
        return controls.handle_key(self, event)

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
            text = f"{title} ({count})" if count else title
            # Setting a tab's text lays the tab bar out again even when it is the same (a third
            # of a millisecond each, four per click): only a count that changed is set.
            if self.tabs.tabText(index) != text:
                self.tabs.setTabText(index, text)

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


__all__ = ["BodyDiagram", "DiagramLegend", "WarningBanner", "site_label", "warnings_for"]
