"""The diagram's edits of sites: each one undo command (`ui.commands`) on the procedure
document, never a change of a marker; the scene redraws from what the document stored.

:class:`DiagramEditing` is the base of :class:`~tpi_chart.ui.diagram.widget.BodyDiagram`: the
clicks, drags, double clicks and the right-click "Here:" menu end up here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from PySide6.QtCore import QPoint, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QMenu, QWidget

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import default_position, load_diagram, resolve_point
from tpi_chart.domain.models import Site
from tpi_chart.ui.commands import (
    ChangeSiteCommand,
    PlaceSiteCommand,
    RemoveSiteCommand,
    move_site_command,
)
from tpi_chart.ui.diagram.overlays import HereChooser
from tpi_chart.ui.diagram.scene import DiagramScene, site_position
from tpi_chart.ui.document import ProcedureDocument

Mode = Literal["plan", "chart"]


def clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


class DiagramEditing(QWidget):
    """Site edits from the diagram, as undo commands on :attr:`document`."""

    #: A site was selected on the diagram by the user (site id; -1 when the selection was
    #: cleared). Also emitted with the new id right after a click placed a site.
    site_selected = Signal(int)
    #: The user asked to re-code a site's muscle (right-click on its marker): site id.
    recode_requested = Signal(int)

    document: ProcedureDocument
    undo_stack: QUndoStack
    scene: DiagramScene
    here: HereChooser
    here_menu: QMenu | None
    mode: Mode
    selected_id: int | None
    #: Fills in new sites placed by a click: receives the resolved draft, returns the site
    #: to store (e.g. with the syringe's preparation and default volume). None: unchanged.
    new_site_defaults: Callable[[Site], Site] | None
    _read_only: bool
    #: True while the diagram applies an edit of its own (a click, a drag, a key): the host
    #: may leave slower views for after the frame that shows it.
    editing = False

    # Drawn by BodyDiagram.
    def current_view(self) -> str:
        return str(self.scene.view_id)

    def select_site(self, site_id: int | None) -> None:
        raise NotImplementedError

    def _warn_for(self, muscle: str) -> None:
        raise NotImplementedError

    def _editable(self) -> bool:
        return not self._read_only and self.document.procedure_id is not None

    def _push(self, command: QUndoCommand) -> bool:
        """Apply one edit as an undo command; False when it was refused (then dropped)."""
        count = self.undo_stack.count()
        self.editing = True
        try:
            self.undo_stack.push(command)
        finally:
            self.editing = False
        return self.undo_stack.count() > count

    def _place(self, data: dict[str, Any]) -> int | None:
        """Store a new site (one undo command); its id, or None when it was refused."""
        site = Site.model_validate(data)
        if self.new_site_defaults is not None:
            site = self.new_site_defaults(site)
        command = PlaceSiteCommand(self.document, site)
        if not self._push(command) or command.site_id is None:
            return None
        return command.site_id

    def _new_state(self) -> str:
        return "planned" if self.mode == "plan" else "injected"

    def place_site(
        self, x: float, y: float, *, deep: bool = False, code: tuple[str, str] | None = None
    ) -> int | None:
        """Place a new site at normalised (x, y) of the current view; returns its id. Where
        zones overlap the superficial muscle is coded (``deep``: the deep one; ``code``: the
        muscle and side picked from the right-click "Here:" menu) and the others are offered in
        the "Here:" chooser."""
        if not self._editable():
            return None
        view_id = self.current_view()
        x, y = clamp(x), clamp(y)
        muscle, side = code if code is not None else resolve_point(view_id, x, y, deep=deep)
        here = [(z.muscle, z.side) for z in load_diagram().view(view_id).zones_at(x, y)]
        site_id = self._place(
            {
                "muscle": muscle,
                "side": side,
                "state": self._new_state(),
                "view": view_id,
                "x": round(x, 4),
                "y": round(y, 4),
            }
        )
        if site_id is None:
            return None
        self.selected_id = site_id
        self.scene.select_marker(site_id)
        self._warn_for(muscle)
        self.site_selected.emit(site_id)
        if len(set(here)) > 1:
            self.here.offer(site_id, here, (muscle, side), self.recode_site)
        else:
            self.here.hide()
        return site_id

    def plan_suggested(self, muscle: str, side: str) -> int | None:
        """Turn a referral suggestion into a planned site at the muscle's label point (shown in
        this view when the muscle is drawn here)."""
        if not self._editable():
            return None
        zone = load_diagram().view(self.current_view()).zone_for(muscle, side)
        if zone is not None:
            place: tuple[str, float, float] | None = (self.current_view(), *zone.label_point)
        else:
            place = default_position(muscle, side)
        data: dict[str, Any] = {"muscle": muscle, "side": side, "state": "planned"}
        if place is not None:
            data.update(view=place[0], x=round(place[1], 4), y=round(place[2], 4))
        site_id = self._place(data)
        if site_id is None:
            return None
        self.select_site(site_id)
        self._warn_for(muscle)
        self.site_selected.emit(site_id)
        return site_id

    def add_named_site(self, muscle: str, side: str) -> int | None:
        """Add a site chosen by name (the keyboard's way in): drawn where the muscle's zone is,
        planned or injected as a click would be; one undo command. Returns its id."""
        if not self._editable():
            return None
        data: dict[str, Any] = {"muscle": muscle, "side": side, "state": self._new_state()}
        position = default_position(muscle, side)
        if position is not None:
            data["view"], data["x"], data["y"] = position
        site_id = self._place(data)
        if site_id is None:
            return None
        self.selected_id = site_id
        self.scene.select_marker(site_id)
        self.site_selected.emit(site_id)
        return site_id

    def offer_here(self, x: float, y: float, at: QPoint) -> QMenu | None:
        """Right click on the figure: a menu of the muscles under the pointer ("Here:
        pectoralis major / pectoralis minor"); picking one places a site coded to it."""
        if not self._editable():
            return None
        zones = load_diagram().view(self.current_view()).zones_at(clamp(x), clamp(y))
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

    def recode_site(self, site_id: int, muscle: str, side: str) -> bool:
        """Code a site as another muscle and side (one undoable step)."""
        return self.change_site(site_id, {"muscle": muscle, "side": side}, "Muscle")

    def move_site(self, site_id: int, x: float, y: float) -> bool:
        """Move a site to normalised (x, y) of the current view; re-resolves muscle and side."""
        stored = self.document.stored_site(site_id)
        if self._read_only or stored is None:
            return False
        view_id = self.current_view()
        x, y = clamp(x), clamp(y)
        muscle, side = resolve_point(view_id, x, y)
        before = stored.site
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
        moved = self._push(move_site_command(self.document, site_id, before, after))
        if moved and (muscle, side) != (before.muscle, before.side):
            self._warn_for(muscle)
        return moved

    def remove_site(self, site_id: int) -> bool:
        stored = self.document.stored_site(site_id)
        if self._read_only or stored is None:
            return False
        removed = self._push(RemoveSiteCommand(self.document, site_id, stored.site))
        if removed and self.selected_id == site_id:
            self.selected_id = None
            self.site_selected.emit(-1)
        return removed

    def change_site(self, site_id: int, changes: dict[str, Any], text: str) -> bool:
        """Any other edit of one site's fields as an undoable step (e.g. state → injected)."""
        stored = self.document.stored_site(site_id)
        if self._read_only or stored is None:
            return False
        after = Site.model_validate({**stored.site.model_dump(), **changes})
        return self._push(ChangeSiteCommand(self.document, site_id, stored.site, after, text))

    def activate_site(self, site_id: int) -> bool:
        """Double click on a marker: a planned site becomes injected (one undoable step)."""
        stored = self.document.stored_site(site_id)
        if stored is None or stored.site.state != "planned":
            return False
        number = stored.number
        return self.change_site(site_id, {"state": "injected"}, f"Mark site {number} injected")

    def step_selection(self, delta: int) -> None:
        """Select the next (delta 1) or previous (-1) site in number order, wrapping around."""
        ids = [s.id for s in self.document.sites if site_position(s.site) is not None]
        if not ids:
            return
        if self.selected_id not in ids:
            target = ids[0] if delta > 0 else ids[-1]
        else:
            target = ids[(ids.index(self.selected_id) + delta) % len(ids)]
        self.select_site(target)
        self.site_selected.emit(target)
