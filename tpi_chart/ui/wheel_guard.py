"""The application-wide wheel policy: a combo box, spin box or slider ignores the mouse wheel unless
it has the keyboard focus, so scrolling a form over a control never rewrites a clinical value
(the wheel then scrolls the form it is in).

A wheel turn reaches a control through its top-level window (`ui.window_watch`): there, before Qt
hands the turn to the widget under the pointer, the control it would change gets the guard (a
filter of its own) and loses the wheel's focus policy. No filter sits on the application, which
would be called for every event of every widget.

Installed before the sign-in dialog is painted, so the Qt classes it tests with are imported at
the first wheel turn, not with the module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore
from PySide6.QtCore import QCoreApplication, QEvent, QObject

from tpi_chart.ui.window_watch import window_watch

if TYPE_CHECKING:
    from PySide6.QtGui import QInputEvent, QWindow
    from PySide6.QtWidgets import QWidget


def guarded(widget: QObject) -> bool:
    """A control whose value the wheel would change (scroll bars only scroll: not guarded)."""
    from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollBar

    controls = (QComboBox, QAbstractSpinBox, QAbstractSlider)
    return isinstance(widget, controls) and not isinstance(widget, QScrollBar)


class WheelGuard(QObject):
    """The filter on each guarded control the wheel has passed over."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        from PySide6.QtGui import QWheelEvent
        from PySide6.QtWidgets import QWidget

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
        from PySide6.QtGui import QWheelEvent
        from PySide6.QtWidgets import QApplication

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
        # QtCore.Qt named here, at the first wheel turn, not on import: the namespace builds all
        # its enums at once (26 ms), which the sign-in dialog's first paint does not need.
        policy = QtCore.Qt.FocusPolicy
        if widget.focusPolicy() == policy.WheelFocus:
            widget.setFocusPolicy(policy.StrongFocus)


def _widget_of(window: QWindow) -> QWidget | None:
    from PySide6.QtWidgets import QApplication

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
