"""The application-wide wheel policy: a combo box, spin box or slider ignores the mouse wheel unless
it has the keyboard focus, so scrolling a form over a control never rewrites a clinical value
(the wheel then scrolls the form it is in). One event filter on the application, installed once.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSlider, QAbstractSpinBox, QComboBox, QScrollBar, QWidget

_GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


def guarded(widget: QObject) -> bool:
    """A control whose value the wheel would change (scroll bars only scroll: not guarded)."""
    return isinstance(widget, _GUARDED) and not isinstance(widget, QScrollBar)


class WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Every event of the application passes here (a few hundred per diagram click): the
        # class test first, since asking an event its type builds a Python enum each time.
        if not isinstance(watched, _GUARDED):
            return False
        kind = event.type()
        if kind == QEvent.Type.Wheel and guarded(watched):
            assert isinstance(watched, QWidget)
            if not watched.hasFocus():
                # Ignored and filtered: Qt hands a spontaneous wheel event on to the parent
                # (the scroll area scrolls); the control itself never sees it.
                event.ignore()
                return True
        elif kind == QEvent.Type.Polish and guarded(watched):
            assert isinstance(watched, QWidget)
            # Qt gives a WheelFocus control the focus on a wheel turn, before any filter sees
            # the turn: the wheel must not make a control "focused" by passing over it.
            if watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return False


_GUARD: list[WheelGuard] = []


def install_wheel_guard(app: QCoreApplication) -> WheelGuard:
    """Install the one filter (again: no second filter). Returns it."""
    if not _GUARD:
        _GUARD.append(WheelGuard())
        app.installEventFilter(_GUARD[0])
    return _GUARD[0]
