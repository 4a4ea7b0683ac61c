"""Where the main window opens, and at what size (QSettings keys).

The window is laid out and drawn before it is shown (`ui.prebuild`, while the person types
their password). Shown at another size, all of it is laid out and drawn again: 10-15 ms of the
wait after Sign in (benchmarks/README.md, round 13). So the window is given, while still
hidden, the size it will be shown at:

- a normal window: the geometry saved when it last closed;
- a maximized one: the size it had when it was last maximized on a screen of this size. A
  maximized window's size is the screen's available area less the window's frame, which is only
  known once the window is on screen, so it is remembered whenever the window is maximized
  (`remember_maximized`). Failing that, the screen's available area, a few pixels off.

The first start on a computer (nothing saved) opens maximized from the window's default size,
which is laid out again once shown: that size stays its normal geometry, the one the person
gets back when they un-maximize it (given the screen's size, un-maximizing would change
nothing).
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

KEY_GEOMETRY = "window/geometry"
KEY_MAXIMIZED_SIZE = "window/maximized_size"
#: The available size of the screen the window was maximized on.
KEY_MAXIMIZED_ON = "window/maximized_on"


def restore(window: QMainWindow) -> bool:
    """Put the hidden `window` where it was when it last closed, at the size it will be shown
    at; True when it is to be shown maximized (`show_as_restored`)."""
    settings = QSettings()
    geometry = settings.value(KEY_GEOMETRY)
    if geometry is None or not window.restoreGeometry(geometry):
        return True  # the first start: the whole screen
    if not window.windowState() & Qt.WindowState.WindowMaximized:
        return False
    window.resize(_maximized_size(window, settings))
    return True


def show_as_restored(window: QMainWindow, maximized: bool) -> None:
    if maximized:
        window.showMaximized()
    else:
        window.show()


def save(window: QMainWindow) -> None:
    QSettings().setValue(KEY_GEOMETRY, window.saveGeometry())


def remember_maximized(window: QMainWindow) -> None:
    """Called on each resize: the size of the window maximized on screen, kept for the next
    start (written only when it changed: a new screen, a new frame)."""
    if not (window.isVisible() and window.isMaximized()):
        return
    on = window.screen().availableGeometry().size()
    size, settings = window.size(), QSettings()
    if settings.value(KEY_MAXIMIZED_SIZE) != size or settings.value(KEY_MAXIMIZED_ON) != on:
        settings.setValue(KEY_MAXIMIZED_SIZE, size)
        settings.setValue(KEY_MAXIMIZED_ON, on)


def _maximized_size(window: QMainWindow, settings: QSettings) -> QSize:
    screen = window.screen() or QGuiApplication.primaryScreen()
    available = screen.availableGeometry().size()
    remembered = settings.value(KEY_MAXIMIZED_SIZE)
    if isinstance(remembered, QSize) and settings.value(KEY_MAXIMIZED_ON) == available:
        return remembered
    return available
