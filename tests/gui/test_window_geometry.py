"""The window is created at the size it will be shown at (`ui.window_geometry`): what the
prebuild lays out and draws while the person types is not laid out again when it is shown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings, QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QMainWindow
from pytestqt.qtbot import QtBot

from tpi_chart.ui import window_geometry
from tpi_chart.ui.window_geometry import KEY_MAXIMIZED_ON, KEY_MAXIMIZED_SIZE

# Said by the offscreen platform for every window shown maximized.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]


class Window(QMainWindow):
    """A plain window that remembers its maximized size as the main window does."""

    def __init__(self) -> None:
        super().__init__()
        self.setCentralWidget(QLabel("TPI Chart"))
        self.resizes: list[QSize] = []

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resizes.append(self.size())
        window_geometry.remember_maximized(self)


@pytest.fixture(autouse=True)
def no_saved_geometry() -> Iterator[None]:
    QSettings().clear()
    yield
    QSettings().clear()


def opened(qtbot: QtBot) -> tuple[Window, bool, QSize]:
    """A window restored as `MainWindow` is (hidden), its size then, and shown."""
    window = Window()
    qtbot.addWidget(window)
    maximized = window_geometry.restore(window)
    hidden = window.size()
    window.resizes.clear()
    window_geometry.show_as_restored(window, maximized)
    qtbot.waitExposed(window)
    qtbot.waitUntil(window.isMaximized if maximized else window.isVisible)
    return window, maximized, hidden


def test_the_first_start_opens_maximized_from_its_default_size(qtbot: QtBot) -> None:
    """Its default size stays its normal geometry: un-maximizing it gives a smaller window."""
    default = Window().size()
    window, maximized, hidden = opened(qtbot)
    assert maximized
    assert hidden == default
    assert window.isMaximized()
    screen = window.screen().availableGeometry()
    normal = window.normalGeometry()
    assert normal.width() < screen.width()
    assert normal.height() < screen.height()


def test_the_size_maximized_on_screen_is_remembered(qtbot: QtBot) -> None:
    """Called on each resize; the frame that a maximized window's size leaves out is known once
    it is on screen (here the screen's whole area: the guess was right, so no resize came)."""
    window, _, _ = opened(qtbot)
    window_geometry.remember_maximized(window)
    assert QSettings().value(KEY_MAXIMIZED_SIZE) == window.size()
    assert QSettings().value(KEY_MAXIMIZED_ON) == window.screen().availableGeometry().size()


def test_a_later_start_is_created_at_its_maximized_size_and_not_resized_when_shown(
    qtbot: QtBot,
) -> None:
    first, _, _ = opened(qtbot)
    # Maximized from its default size: the resize on screen remembers the size it has now.
    qtbot.waitUntil(lambda: QSettings().value(KEY_MAXIMIZED_SIZE) == first.size())
    shown_at = first.size()
    assert shown_at.width() > first.normalGeometry().width()
    first.close()
    window_geometry.save(first)
    window, maximized, hidden = opened(qtbot)
    assert maximized
    assert hidden == shown_at
    assert window.size() == shown_at
    assert all(size == shown_at for size in window.resizes)


def test_a_normal_window_opens_where_it_was(qtbot: QtBot) -> None:
    first, _, _ = opened(qtbot)
    first.showNormal()
    first.setGeometry(40, 40, 640, 480)
    qtbot.waitUntil(lambda: not first.isMaximized() and first.size() == QSize(640, 480))
    window_geometry.save(first)
    window, maximized, hidden = opened(qtbot)
    assert not maximized
    assert hidden == QSize(640, 480)
    assert not window.isMaximized()


def test_a_size_remembered_on_another_screen_is_not_used(qtbot: QtBot) -> None:
    first, _, _ = opened(qtbot)
    first.close()
    window_geometry.save(first)
    QSettings().setValue(KEY_MAXIMIZED_SIZE, QSize(3836, 2100))
    QSettings().setValue(KEY_MAXIMIZED_ON, QSize(3840, 2160))
    window = Window()
    qtbot.addWidget(window)
    assert window_geometry.restore(window)
    assert window.size() == window.screen().availableGeometry().size()
