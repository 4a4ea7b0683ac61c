"""The patient's pain drawing on the diagram: a brush layer of stored strokes, the interaction
that draws one, the undo commands, and the bar with the brush and the referral suggestions.

As for sites, the layer mirrors what is stored: a stroke is drawn on screen for good only once
``ChartingService.add_pain_stroke`` committed it (while the finger moves a provisional path
follows it). Each stroke is one undo step; "Clear" removes every stroke as one step.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainterPath, QPen, QUndoCommand
from PySide6.QtWidgets import (
    QButtonGroup,
    QGraphicsPathItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import PainStroke
from tpi_chart.domain.presentation import PAIN_BRUSH, PAIN_WORDS
from tpi_chart.domain.referral import Suggestion
from tpi_chart.ui.diagram.interactions import Controller, UserInteraction
from tpi_chart.ui.document import ProcedureDocument, describe
from tpi_chart.ui.layouts import take_widgets
from tpi_chart.ui.plain_errors import KNOWN_ERRORS

if TYPE_CHECKING:
    from tpi_chart.ui.diagram.view import DiagramGraphicsView

#: Above the artwork, below the markers: the drawing never hides a site's number.
Z_PAIN = 5.0
#: Brush diameter as a share of the view's height (about 2.5 cm on a body view, 1 cm on a head).
BRUSH_WIDTH = {"anterior": 0.016, "posterior": 0.016, "head_left": 0.03, "head_right": 0.03}
#: A stroke keeps a point only once the pointer moved this far (px): a smooth line, not a
#: record of every mouse event.
MIN_STEP_PX = 4.0
MAX_POINTS = 2000
#: Suggestion buttons per row (they wrap: a 1366 px window leaves the diagram ~600 px).
COLUMNS = 2


def stroke_pen(intensity: int, width: float) -> QPen:
    colour, alpha = PAIN_BRUSH.get(intensity, PAIN_BRUSH[2])
    qcolour = QColor(colour)
    qcolour.setAlphaF(alpha)
    pen = QPen(qcolour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def stroke_path(points: Sequence[QPointF]) -> QPainterPath:
    path = QPainterPath(points[0])
    if len(points) == 1:
        path.lineTo(points[0] + QPointF(0.01, 0))  # a dab: a round dot the brush's size
    for point in points[1:]:
        path.lineTo(point)
    return path


class PainStrokeItem(QGraphicsPathItem):
    """One stored stroke drawn on the scene (never takes a click: sites are placed through it)."""

    def __init__(
        self, stroke: PainStroke, to_scene: Callable[[float, float], QPointF], height: float
    ):
        super().__init__(stroke_path([to_scene(x, y) for x, y in stroke.points]))
        self.stroke = stroke
        self.setPen(stroke_pen(stroke.intensity, stroke.width * height))
        self.setZValue(Z_PAIN)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)


class PainDocument(QObject):
    """The open procedure's pain strokes as stored; edits go through the procedure document
    (which stores them with the charting service and takes the stored drawing)."""

    changed = Signal()
    failed = Signal(str)

    def __init__(self, service: ProcedureDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.procedure_id: int | None = None
        self.strokes: list[Any] = []  # StoredStroke: id, stroke

    def set_procedure(self, procedure_id: int | None) -> None:
        self.procedure_id = procedure_id
        self.reload()

    def reload(self) -> None:
        self.strokes = []
        if self.procedure_id is not None:
            try:
                self.strokes = list(self.service.pain_strokes(self.procedure_id))
            except KNOWN_ERRORS as error:
                self.failed.emit(describe(error))
        self.changed.emit()

    def _commit(self, action: Callable[[], Any]) -> Any | None:
        try:
            result = action()
        except KNOWN_ERRORS as error:
            self.failed.emit(describe(error))
            self.reload()
            return None
        self.reload()
        return result if result is not None else True

    def add(self, stroke: PainStroke) -> Any | None:
        pid = self.procedure_id
        if pid is None:
            return None
        return self._commit(lambda: self.service.add_pain_stroke(pid, stroke))

    def remove(self, stroke_id: int) -> bool:
        return self._commit(lambda: self.service.remove_pain_stroke(stroke_id)) is not None

    def restore(self, stroke_id: int) -> bool:
        return self._commit(lambda: self.service.restore_pain_stroke(stroke_id)) is not None

    def remove_all(self, stroke_ids: Sequence[int]) -> bool:
        def clear() -> bool:
            for stroke_id in stroke_ids:
                self.service.remove_pain_stroke(stroke_id)
            return True

        return self._commit(clear) is not None

    def restore_all(self, stroke_ids: Sequence[int]) -> bool:
        def restore() -> bool:
            for stroke_id in stroke_ids:
                self.service.restore_pain_stroke(stroke_id)
            return True

        return self._commit(restore) is not None


class AddStrokeCommand(QUndoCommand):
    """One brush stroke. Undo removes it; redo brings back the same stored stroke."""

    def __init__(self, document: PainDocument, stroke: PainStroke) -> None:
        super().__init__(f"Shade pain ({PAIN_WORDS.get(stroke.intensity, '')})".strip())
        self.document = document
        self.stroke = stroke
        self.stroke_id: int | None = None

    def redo(self) -> None:
        if self.stroke_id is None:
            stored = self.document.add(self.stroke)
            if stored is None:
                self.setObsolete(True)
                return
            self.stroke_id = int(stored.id)
        elif not self.document.restore(self.stroke_id):
            self.setObsolete(True)

    def undo(self) -> None:
        if self.stroke_id is not None:
            self.document.remove(self.stroke_id)


class ClearStrokesCommand(QUndoCommand):
    def __init__(self, document: PainDocument) -> None:
        super().__init__("Clear the pain drawing")
        self.document = document
        self.stroke_ids = [int(s.id) for s in document.strokes]

    def redo(self) -> None:
        if not self.stroke_ids or not self.document.remove_all(self.stroke_ids):
            self.setObsolete(True)

    def undo(self) -> None:
        self.document.restore_all(self.stroke_ids)


class DrawPainInteraction(UserInteraction):
    """Left press and drag in pain-drawing mode: one stroke, stored on release (a tap is a dab)."""

    def __init__(self, view: DiagramGraphicsView, controller: Controller) -> None:
        super().__init__(view, controller)
        self.points: list[QPointF] = []
        self.last_pos = QPointF()
        self.preview: QGraphicsPathItem | None = None

    def mouse_press(self, event: QMouseEvent) -> None:
        super().mouse_press(event)
        self.last_pos = event.position()
        self.points = [self.view.mapToScene(event.position().toPoint())]
        owner: Any = self.controller
        scene = self.view.diagram_scene
        width = BRUSH_WIDTH.get(str(scene.view_id), 0.02) * scene.figure_rect().height()
        self.preview = QGraphicsPathItem(stroke_path(self.points))
        self.preview.setPen(stroke_pen(owner.pain_intensity, width))
        self.preview.setZValue(Z_PAIN)
        scene.addItem(self.preview)

    def mouse_move(self, event: QMouseEvent) -> None:
        pos = event.position()
        delta = pos - self.last_pos
        if (delta.x() ** 2 + delta.y() ** 2) ** 0.5 < MIN_STEP_PX or len(self.points) >= MAX_POINTS:
            return
        self.last_pos = pos
        self.points.append(self.view.mapToScene(pos.toPoint()))
        if self.preview is not None:
            self.preview.setPath(stroke_path(self.points))

    def mouse_release(self, event: QMouseEvent) -> None:
        self._drop_preview()
        scene = self.view.diagram_scene
        normalised = [scene.to_normalised(p) for p in self.points]
        owner: Any = self.controller
        owner.add_pain_stroke(
            [(round(min(1, max(0, x)), 4), round(min(1, max(0, y)), 4)) for x, y in normalised]
        )
        self.finished.emit()

    def cancel(self) -> None:
        self._drop_preview()
        self.canceled.emit()

    def _drop_preview(self) -> None:
        if self.preview is not None and self.preview.scene() is not None:
            self.preview.scene().removeItem(self.preview)
        self.preview = None


class PainBar(QWidget):
    """Under the picture: the pain-drawing switch, the brush intensity, Clear, and the muscles
    the referral data suggests for what is shaded (one click plans a site there)."""

    mode_toggled = Signal(bool)
    intensity_chosen = Signal(int)
    clear_requested = Signal()
    #: (muscle id, side) of a suggestion the user turned into a planned site.
    suggestion_chosen = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("painBar")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        # The switch sits in the host's row of zoom presets (no row of its own when off).
        self.brush_row = QWidget()
        row = QHBoxLayout(self.brush_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.toggle = QToolButton()
        self.toggle.setObjectName("painModeToggle")
        self.toggle.setText("Pain drawing")
        self.toggle.setStyleSheet("QToolButton { padding: 0 8px; }")
        self.toggle.setCheckable(True)
        self.toggle.setMinimumHeight(34)
        self.toggle.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.toggle.setToolTip(
            "Shade where it hurts (Ctrl+D). While on, a drag paints instead of placing sites."
        )
        self.toggle.setAccessibleName("Pain drawing mode")
        self.toggle.toggled.connect(self.mode_toggled)
        self.intensity_buttons: dict[int, QToolButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        for level, name in PAIN_WORDS.items():
            button = QToolButton()
            button.setText(name)
            button.setCheckable(True)
            button.setMinimumHeight(34)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAccessibleName(f"Brush: {name.lower()} pain")
            colour, _alpha = PAIN_BRUSH[level]
            button.setStyleSheet(
                f"QToolButton {{ padding: 0 6px; border-left: 6px solid {colour}; }}"
            )
            button.clicked.connect(lambda _c=False, lv=level: self.intensity_chosen.emit(lv))
            group.addButton(button)
            self.intensity_buttons[level] = button
            row.addWidget(button)
        self.intensity_buttons[2].setChecked(True)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setMinimumHeight(34)
        self.clear_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.clear_button.setAccessibleName("Clear the pain drawing")
        self.clear_button.clicked.connect(self.clear_requested)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        outer.addWidget(self.brush_row)

        self.suggestions_row = QWidget()
        self.suggestions_row.setObjectName("referralSuggestions")
        self._suggestions = QGridLayout(self.suggestions_row)
        self._suggestions.setContentsMargins(0, 0, 0, 0)
        self._suggestions.setHorizontalSpacing(4)
        self._suggestions.setVerticalSpacing(2)
        outer.addWidget(self.suggestions_row)
        self.suggestion_buttons: list[QPushButton] = []
        self.suggestions: list[Suggestion] = []
        self._shown: tuple[object, ...] | None = None  # what the buttons show
        self.set_drawing_mode(False)
        self.show_suggestions([])

    def set_drawing_mode(self, on: bool) -> None:
        if self.toggle.isChecked() != on:
            self.toggle.blockSignals(True)
            self.toggle.setChecked(on)
            self.toggle.blockSignals(False)
        self.brush_row.setVisible(on)

    def set_editable(self, editable: bool) -> None:
        self.toggle.setEnabled(editable)
        self._shown = None  # the buttons' states were changed here: the next show rebuilds them
        for button in self.suggestion_buttons:
            button.setEnabled(editable)

    def show_suggestions(
        self,
        suggestions: Sequence[Suggestion],
        editable: bool = True,
        charted: Collection[tuple[str, str]] = (),
    ) -> None:
        """The suggestion buttons; one whose muscle and side already has a site is shown ticked
        and disabled (planning it twice would be a slip)."""
        shown = (
            tuple(suggestions),
            editable,
            tuple((s.muscle, s.side) in charted for s in suggestions),
        )
        # Asked after every edit of the sites: rebuilt only when what it shows changed (new
        # buttons with style sheets of their own, polished and laid out, on every click).
        if shown == self._shown:
            return
        self._shown = shown
        for widget in take_widgets(self._suggestions):
            widget.deleteLater()
        self.suggestions = list(suggestions)
        self.suggestion_buttons = []
        if not suggestions:
            self.suggestions_row.hide()
            return
        label = QLabel("Referral patterns suggest (a hint; click to plan a site):")
        label.setProperty("role", "muted")
        label.setToolTip(
            "Muscles whose trigger points commonly refer pain to the shaded area (a hint for the"
            " examination, not a diagnosis). Click one to plan a site there."
        )
        self._suggestions.addWidget(label, 0, 0, 1, COLUMNS)
        catalog = load_catalog()
        for index, suggestion in enumerate(suggestions):
            side = {"left": "L", "right": "R"}.get(suggestion.side, "")
            name = catalog.muscle_name(suggestion.muscle)
            done = (suggestion.muscle, suggestion.side) in charted
            button = QPushButton(f"{'✓' if done else '+'} {name} {side}".strip())
            button.setMinimumHeight(30)
            button.setStyleSheet("QPushButton { padding: 0 6px; text-align: left; }")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAccessibleName(f"Plan a site in {name}, {suggestion.side}")
            unverified = "" if suggestion.pattern.verified else " (sources not verified)"
            button.setToolTip(
                f"{name} ({suggestion.side}): refers to {suggestion.pattern.pattern}.\n"
                f"Shaded: {', '.join(suggestion.areas)}; {round(suggestion.share * 100)} % of "
                f"the drawing.\nSources: {', '.join(suggestion.pattern.sources)}{unverified}"
            )
            button.setEnabled(editable and not done)
            if done:
                button.setToolTip(f"A site in {name} ({suggestion.side}) is already charted.")
            button.clicked.connect(
                lambda _c=False, m=suggestion.muscle, s=suggestion.side: (
                    self.suggestion_chosen.emit(m, s)
                )
            )
            self._suggestions.addWidget(button, 1 + index // COLUMNS, index % COLUMNS)
            self.suggestion_buttons.append(button)
        self.suggestions_row.show()
