"""The application-wide wheel policy: a combo box, spin box or slider ignores the mouse wheel unless
it has the keyboard focus, so scrolling a form over a control never rewrites a clinical value
(the wheel then scrolls the form it is in).

A wheel turn reaches a control through its top-level window (`ui.window_watch`): there, before Qt
hands the turn to the widget under the pointer, the control it would change gets the guard (a
filter of its own) and loses the wheel's focus policy. No filter sits on the application, which
would be called for every event of every widget.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QInputEvent, QWheelEvent, QWindow
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

from tpi_chart.ui.window_watch import window_watch

_GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


def guarded(widget: QObject) -> bool:
    """A control whose value the wheel would change (scroll bars only scroll: not guarded)."""
    return isinstance(widget, _GUARDED) and not isinstance(widget, QScrollBar)


class WheelGuard(QObject):
    """The filter on each guarded control the wheel has passed over."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        turn = isinstance(event, QWheelEvent)
        if turn and isinstance(watched, QWidget) and not watched.hasFocus():
            # Ignored and filtered: Qt hands a spontaneous wheel event on to the parent (the
            # scroll area scrolls); the control itself never sees it.
            event.ignore()
            return True
        return False

    def prepare(self, window: QWindow, event: QInputEvent) -> None:
        """A wheel turn arriving at `window`: guard the control under the pointer before Qt
        delivers the turn (and, for a control with the wheel focus policy, gives it the focus
        first: StrongFocus keeps the click and Tab focus and drops that one)."""
        if not isinstance(event, QWheelEvent) or QApplication.activePopupWidget() is not None:
            return  # an open list scrolls itself
        root = _widget_of(window)
        if root is None:
            return
        point = event.position().toPoint()
        widget: QWidget | None = root.childAt(point) or root
        while widget is not None and not guarded(widget):
            widget = None if widget.isWindow() else widget.parentWidget()
        if widget is None:
            return
        widget.installEventFilter(self)  # Qt keeps one entry per filter
        if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def _widget_of(window: QWindow) -> QWidget | None:
    for top in QApplication.topLevelWidgets():
        if top.windowHandle() is window:
            return top
    return None


_GUARD: list[WheelGuard] = []


def install_wheel_guard(app: QCoreApplication) -> WheelGuard:
    """Install the policy once (again: nothing more). Returns the guard."""
    if not _GUARD:
        guard = WheelGuard(app)
        window_watch().add(guard.prepare)
        _GUARD.append(guard)
    return _GUARD[0]
