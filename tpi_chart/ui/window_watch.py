"""Input as the platform hands it to each top-level window, seen without an application-wide
event filter.

A Python event filter on the application is called for every event of every widget: about 8,000
while the main window opens with a visit (a third of opening it: measured, benchmarks/README.md)
and a few hundred per diagram click. Keyboard, mouse, wheel and touch input reaches a widget only
through its top-level window (QWindow), which sees little else (exposure, focus, one update request
per frame). So the idle lock's activity and the wheel guard watch the windows: one filter on each
top-level window, attached when a window gets the focus (every dialog does when it opens) or is
shown as a widget's window (`attach`).

Synthetic events sent straight to a widget (`QApplication.sendEvent`, QTest's widget overloads)
do not pass through a window; tests of these two features send their input through the window
(QTest's QWindow overloads, `QTest.wheelEvent`), as the platform does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication, QInputEvent

if TYPE_CHECKING:
    from PySide6.QtGui import QWindow
    from PySide6.QtWidgets import QWidget

#: Called with the window and each input event it receives; never filters the event.
InputListener = Callable[["QWindow", QInputEvent], None]


class WindowWatch(QObject):
    def __init__(self, app: QGuiApplication) -> None:
        super().__init__(app)
        self._listeners: list[InputListener] = []
        app.focusWindowChanged.connect(self._attach_all)
        self._attach_all()

    def add(self, listener: InputListener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove(self, listener: InputListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def attach(self, widget: QWidget) -> None:
        """Watch `widget`'s top-level window now (it is created when the widget is first
        shown), not only once it gets the focus."""
        handle = widget.window().windowHandle()
        if handle is not None:
            handle.installEventFilter(self)  # Qt keeps one entry per filter

    def _attach_all(self, *_focus: object) -> None:
        for window in QGuiApplication.topLevelWindows():
            window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The class test first: asking an event its type builds a Python enum each time.
        if isinstance(event, QInputEvent) and watched.isWindowType():
            for listener in tuple(self._listeners):
                listener(cast("QWindow", watched), event)
        return False


_WATCH: list[WindowWatch] = []


def window_watch() -> WindowWatch:
    """The application's one watch (made with the first caller; needs the QApplication)."""
    if not _WATCH:
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication), "window_watch() needs the QApplication"
        _WATCH.append(WindowWatch(app))
    return _WATCH[0]
