"""User interaction modes of the diagram view, one class each (after Orange's canvas).

The view starts an interaction on a mouse press and forwards the following mouse events to it
until it finishes or is cancelled:

* :class:`PlaceSiteInteraction`: left press on the figure away from any marker; a release
  without dragging places a site there (muscle and side resolved from the click).
* :class:`MoveMarkerInteraction`: left press on a marker selects it; dragging moves it and the
  drop stores the new position (muscle and side re-resolved). Escape cancels.
* :class:`PanInteraction`: middle button, or left button while Space is held, drags the picture.

Interactions change stored data only through the controller (the widget), which pushes undo
commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tpi_chart.ui.diagram.items import MarkerItem

if TYPE_CHECKING:
    from tpi_chart.ui.diagram.view import DiagramGraphicsView


class Controller(Protocol):
    def place_site(self, x: float, y: float, *, deep: bool = False) -> int | None: ...
    def request_recode(self, site_id: int) -> None: ...
    def move_site(self, site_id: int, x: float, y: float) -> bool: ...
    def user_selected(self, site_id: int | None) -> None: ...
    def activate_site(self, site_id: int) -> bool: ...
    def is_read_only(self) -> bool: ...


class UserInteraction(QObject):
    """Base class: receives mouse events from the view while it is active."""

    #: The interaction completed (it may have changed stored data).
    finished = Signal()
    #: The interaction was abandoned; nothing was changed.
    canceled = Signal()

    def __init__(self, view: DiagramGraphicsView, controller: Controller) -> None:
        super().__init__(view)
        self.view = view
        self.controller = controller
        self.press_pos = QPoint()
        self.dragging = False

    def _moved_far(self, pos: QPoint) -> bool:
        return (pos - self.press_pos).manhattanLength() >= QApplication.startDragDistance()

    def mouse_press(self, event: QMouseEvent) -> None:
        self.press_pos = event.position().toPoint()

    def mouse_move(self, event: QMouseEvent) -> None:
        pass

    def mouse_release(self, event: QMouseEvent) -> None:
        self.finished.emit()

    def cancel(self) -> None:
        self.canceled.emit()


class PlaceSiteInteraction(UserInteraction):
    def mouse_move(self, event: QMouseEvent) -> None:
        if self._moved_far(event.position().toPoint()):
            self.dragging = True

    def mouse_release(self, event: QMouseEvent) -> None:
        if not self.dragging and not self.controller.is_read_only():
            point = self.view.mapToScene(event.position().toPoint())
            x, y = self.view.diagram_scene.to_normalised(point)
            # Alt held: the deep muscle where zones overlap (pectoralis minor under the major).
            deep = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            self.controller.place_site(x, y, deep=deep)
        self.finished.emit()


class MoveMarkerInteraction(UserInteraction):
    def __init__(
        self, view: DiagramGraphicsView, controller: Controller, marker: MarkerItem
    ) -> None:
        super().__init__(view, controller)
        self.marker = marker
        self.start = marker.pos()
        self.grab_offset = QPointF()

    def mouse_press(self, event: QMouseEvent) -> None:
        super().mouse_press(event)
        self.controller.user_selected(self.marker.site_id)
        self.grab_offset = self.marker.pos() - self.view.mapToScene(self.press_pos)

    def mouse_move(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if not self.dragging and self._moved_far(pos) and not self.controller.is_read_only():
            self.dragging = True
            self.marker.setCursor(Qt.CursorShape.ClosedHandCursor)
        if self.dragging:
            self.marker.setPos(self.view.mapToScene(pos) + self.grab_offset)

    def mouse_release(self, event: QMouseEvent) -> None:
        if self.dragging:
            drop = self.view.mapToScene(event.position().toPoint()) + self.grab_offset
            scene = self.view.diagram_scene
            x, y = scene.to_normalised(drop)
            moved = scene.on_body(drop) and self.controller.move_site(self.marker.site_id, x, y)
            if not moved:
                self._restore()
        self.finished.emit()

    def cancel(self) -> None:
        if self.dragging:
            self._restore()
        self.canceled.emit()

    def _restore(self) -> None:
        # The marker may have been rebuilt by a refresh; only touch it while it is in a scene.
        if self.marker.scene() is not None:
            self.marker.setPos(self.start)
            self.marker.setCursor(Qt.CursorShape.OpenHandCursor)


class PanInteraction(UserInteraction):
    def mouse_press(self, event: QMouseEvent) -> None:
        super().mouse_press(event)
        self.last = event.position().toPoint()
        self.view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouse_move(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        delta = pos - self.last
        self.last = pos
        self.view.pan_by(delta.x(), delta.y())

    def mouse_release(self, event: QMouseEvent) -> None:
        self.view.viewport().unsetCursor()
        self.finished.emit()
