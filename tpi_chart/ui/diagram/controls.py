"""How the physician drives the diagram's picture: the view tabs above it, the zoom and region
buttons below it, and the keys (see :mod:`tpi_chart.ui.diagram.widget` for the table)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabBar, QToolButton

from tpi_chart.domain.diagram import VIEW_IDS, load_diagram
from tpi_chart.ui.diagram.framing import PRESET_NAMES, REGION_PRESETS

if TYPE_CHECKING:
    from tpi_chart.ui.diagram.widget import BodyDiagram

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


def tool_button(text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setMinimumSize(34, 34)
    button.setStyleSheet("QToolButton { padding: 0 6px; }")
    button.clicked.connect(slot)
    return button


class ViewTabs(QTabBar):
    """The view tabs. Their titles carry the site counts, so nearly every click changes one; the
    bar's size hint only grows: a count going back (undo, or "9" to "10" and back) does not
    resize the bar and lay out the diagram, the workspace and the window again."""

    def __init__(self) -> None:
        super().__init__()
        self._widest = QSize(0, 0)

    def sizeHint(self) -> QSize:
        self._widest = self._widest.expandedTo(super().sizeHint())
        return self._widest

    def minimumSizeHint(self) -> QSize:
        return super().minimumSizeHint().boundedTo(self.sizeHint())


def view_tabs(diagram: BodyDiagram) -> QTabBar:
    tabs = ViewTabs()
    tabs.setObjectName("diagramViewTabs")
    tabs.setAccessibleName("Diagram views")
    tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    tabs.setExpanding(False)
    tabs.setDrawBase(False)
    for index, view_id in enumerate(VIEW_IDS):
        tabs.addTab(TAB_TITLES[view_id])
        tabs.setTabToolTip(index, f"{load_diagram().views[view_id].title} view (F{index + 1})")
    tabs.currentChanged.connect(lambda index: diagram.set_view(VIEW_IDS[index]))
    return tabs


def zoom_row(diagram: BodyDiagram) -> QHBoxLayout:
    """Below the picture: what is under the pointer, and the zoom controls (the view tabs
    above need the panel's whole width)."""
    bottom = QHBoxLayout()
    bottom.setSpacing(4)
    diagram.hover_label = QLabel(" ")
    diagram.hover_label.setObjectName("diagramHover")
    diagram.hover_label.setProperty("role", "muted")
    bottom.addWidget(diagram.hover_label, 1)
    diagram.zoom_out_button = tool_button("−", "Zoom out (-)", diagram.zoom_out)
    diagram.zoom_in_button = tool_button("+", "Zoom in (+ or mouse wheel)", diagram.zoom_in)
    diagram.fit_button = tool_button("Fit", "Whole figure (F)", diagram.fit)
    for button in (diagram.zoom_out_button, diagram.zoom_in_button, diagram.fit_button):
        bottom.addWidget(button)
    return bottom


def region_row(diagram: BodyDiagram) -> QHBoxLayout:
    presets = QHBoxLayout()
    presets.setSpacing(4)
    diagram.region_buttons = {}
    for preset_id, text, letter, _regions, _view in REGION_PRESETS:
        button = tool_button(
            text,
            f"Zoom to the {PRESET_NAMES[preset_id]} ({letter})",
            partial(diagram.frame_region, preset_id),
        )
        button.setObjectName(f"region_{preset_id}")
        button.setAccessibleName(f"Zoom to the {PRESET_NAMES[preset_id]}")
        diagram.region_buttons[preset_id] = button
        presets.addWidget(button)
    presets.addStretch(1)
    return presets


def handle_key(diagram: BodyDiagram, event: QKeyEvent) -> bool:
    """The diagram's keys while it has the focus; False: not one of them."""
    key = event.key()
    modifiers = event.modifiers()
    ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
    shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
    if key in VIEW_KEYS and not ctrl:
        diagram.set_view(VIEW_KEYS[Qt.Key(key)])
        return True
    if ctrl and key in CTRL_VIEW_KEYS:
        diagram.set_view(CTRL_VIEW_KEYS[Qt.Key(key)])
        return True
    if ctrl and key == Qt.Key.Key_Z:
        (diagram.undo_stack.redo if shift else diagram.undo_stack.undo)()
        return True
    if (ctrl and key == Qt.Key.Key_Y) or event.matches(QKeySequence.StandardKey.Redo):
        diagram.undo_stack.redo()
        return True
    if ctrl and key == Qt.Key.Key_D:  # D for drawing (plain D is dry needling)
        diagram.set_pain_mode(not diagram.pain_mode)
        return True
    if ctrl:
        return False
    if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
        diagram.zoom_in()
        return True
    if key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
        diagram.zoom_out()
        return True
    if key in (Qt.Key.Key_F, Qt.Key.Key_0):
        diagram.fit()
        return True
    for preset_id, _text, letter, _regions, _view in REGION_PRESETS:
        if key == Qt.Key(ord(letter)):
            diagram.frame_region(preset_id)
            return True
    if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
        if diagram.selected_id is not None:
            diagram.remove_site(diagram.selected_id)
        return True
    if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
        diagram.step_selection(-1 if key == Qt.Key.Key_Backtab or shift else 1)
        return True
    if key == Qt.Key.Key_Escape and diagram.selected_id is not None:
        diagram.user_selected(None)
        return True
    return False
