"""The QGraphicsView showing the diagram scene: zoom, pan, fit, and routing of user input.

Mouse input goes to the current :mod:`~tpi_chart.ui.diagram.interactions` object; keys go to the
controller (the widget), which owns the edits. Everything is vector and antialiased, so the
drawing stays crisp at any zoom and on high-DPI screens.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsView, QWidget

from tpi_chart.ui.diagram.interactions import (
    Controller,
    MoveMarkerInteraction,
    PanInteraction,
    PlaceSiteInteraction,
    UserInteraction,
)
from tpi_chart.ui.diagram.items import MarkerItem
from tpi_chart.ui.diagram.pain import DrawPainInteraction
from tpi_chart.ui.diagram.scene import DiagramScene

#: Zoom limits relative to "fit to window".
MIN_ZOOM = 1.0
MAX_ZOOM = 10.0
ZOOM_STEP = 1.25


class KeyController(Controller, Protocol):
    def handle_key(self, event: QKeyEvent) -> bool: ...


class DiagramGraphicsView(QGraphicsView):
    #: Emitted when the zoom factor (relative to fit) changes.
    zoom_changed = Signal(float)

    def __init__(
        self, scene: DiagramScene, controller: KeyController, parent: QWidget | None = None
    ) -> None:
        super().__init__(scene, parent)
        self.diagram_scene = scene
        self.controller = controller
        self.interaction: UserInteraction | None = None
        self.zoom = 1.0
        self._frame: QRectF | None = None
        self._space_down = False
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setBackgroundBrush(Qt.GlobalColor.white)
        self.setMinimumSize(180, 240)
        self.setAccessibleName("Body diagram")

    # -- zoom / pan ----------------------------------------------------------------------------

    def fit(self) -> None:
        """Show the whole figure (key F)."""
        self._frame = None
        self._show(self.diagram_scene.sceneRect())

    def frame(self, rect: QRectF) -> None:
        """Show `rect` (scene coordinates) as large as the viewport allows: the part of the
        figure where the sites are. It stays framed through resizes until the next zoom or fit."""
        self._frame = rect
        self._show(rect)

    def _show(self, rect: QRectF) -> None:
        figure = self.diagram_scene.sceneRect()
        if rect.isEmpty() or figure.isEmpty():
            return
        self.resetTransform()
        viewport = self.viewport().rect()
        scale = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        if scale > 0:
            self.scale(scale, scale)
        self.centerOn(rect.center())
        full = min(viewport.width() / figure.width(), viewport.height() / figure.height())
        # Markers are drawn full size (24 px across) on every screen: smaller, the number and the
        # twitch letter would not be read at arm's length.
        self.diagram_scene.set_marker_size(1.0)
        self._set_zoom(scale / full if full > 0 else 1.0)

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        target = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom * factor))
        if abs(target - self.zoom) < 1e-6:
            return
        if target <= MIN_ZOOM + 1e-6:
            self.fit()
            return
        self._frame = None
        step = target / self.zoom
        if anchor is None:
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
            self.scale(step, step)
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        else:
            before = self.mapToScene(anchor)
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
            self.scale(step, step)
            after = self.mapToScene(anchor)
            delta: QPointF = after - before
            self.translate(delta.x(), delta.y())
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self._set_zoom(target)

    def _set_zoom(self, zoom: float) -> None:
        self.zoom = zoom
        self.zoom_changed.emit(zoom)

    def reset_scene_rect(self) -> None:
        """Pannable area: the figure plus half its size on every side (call after a view switch)."""
        rect = self.diagram_scene.sceneRect()
        pad_w, pad_h = rect.width() * 0.5, rect.height() * 0.5
        self.setSceneRect(rect.adjusted(-pad_w, -pad_h, pad_w, pad_h))

    def pan_by(self, dx: int, dy: int) -> None:
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - dx)
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - dy)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._frame is not None:
            self._show(self._frame)
        elif self.zoom <= 1.0 + 1e-6:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(ZOOM_STEP ** (delta / 120.0), event.position().toPoint())
        event.accept()

    # -- mouse ---------------------------------------------------------------------------------

    def marker_at(self, pos: QPoint) -> MarkerItem | None:
        """The marker whose touch target contains ``pos``; the nearest one where targets overlap."""
        hits = [item for item in self.items(pos) if isinstance(item, MarkerItem)]
        if not hits:
            return None
        point = QPointF(pos)

        def distance(item: MarkerItem) -> float:
            delta = QPointF(self.mapFromScene(item.pos())) - point
            return delta.x() ** 2 + delta.y() ** 2

        return min(hits, key=distance)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if self.interaction is not None:
            self.interaction.cancel()
            self.interaction = None
        pos = event.position().toPoint()
        button = event.button()
        interaction: UserInteraction | None = None
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_down
        ):
            interaction = PanInteraction(self, self.controller)
        elif button == Qt.MouseButton.LeftButton and getattr(self.controller, "pain_mode", False):
            interaction = DrawPainInteraction(self, self.controller)
        elif button == Qt.MouseButton.LeftButton:
            marker = self.marker_at(pos)
            if marker is not None:
                interaction = MoveMarkerInteraction(self, self.controller, marker)
            elif self.diagram_scene.on_body(self.mapToScene(pos)):
                interaction = PlaceSiteInteraction(self, self.controller)
            else:
                self.controller.user_selected(None)
        elif button == Qt.MouseButton.RightButton:
            marker = self.marker_at(pos)
            if marker is not None:  # a marker's muscle is re-coded from the picker
                self.controller.request_recode(marker.site_id)
            elif self.diagram_scene.on_body(self.mapToScene(pos)):
                # "Here:" the muscles under the pointer (superficial and deep), to place one.
                x, y = self.diagram_scene.to_normalised(self.mapToScene(pos))
                offer = getattr(self.controller, "offer_here", None)
                if offer is not None:
                    offer(x, y, self.viewport().mapToGlobal(pos))
        if interaction is None:
            event.accept()
            return
        self.interaction = interaction
        interaction.mouse_press(event)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.interaction is not None:
            self.interaction.mouse_move(event)
            event.accept()
            return
        self.diagram_scene.hover_at(self.mapToScene(event.position().toPoint()))
        super().mouseMoveEvent(event)  # hover events and tooltips for the markers

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        interaction, self.interaction = self.interaction, None
        if interaction is not None:
            interaction.mouse_release(event)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        # A double click never places a second site (the first click already acted); on a
        # planned marker it marks the site injected.
        if event.button() == Qt.MouseButton.LeftButton:
            marker = self.marker_at(event.position().toPoint())
            if marker is not None:
                self.controller.activate_site(marker.site_id)
        event.accept()

    def leaveEvent(self, event: QEvent) -> None:
        self.diagram_scene.hover_at(None)
        super().leaveEvent(event)

    # -- keys ----------------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
            and self.controller.handle_key(event)
        ):
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape and self.interaction is not None:
            self.interaction.cancel()
            self.interaction = None
            event.accept()
            return
        if self.controller.handle_key(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)
