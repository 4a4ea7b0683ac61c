"""The main window built while the person types their password, and given to them once it is
checked (issue 15: the last visit restored as a person signs in).

With a visit to reopen, the window's widgets (the workspace: the diagram, the site table, the
first side tab) cost about 150 ms of the GUI thread, and their first polish, layout and paint as
much again: after Sign in, that was most of the wait beyond the password check. Nothing in them
depends on who signs in, so they are built in the seconds the person spends typing, in steps,
one turn of the event loop each (the keys typed meanwhile are handled between the steps), and
drawn once off screen (`QWidget.grab`: never shown) at the size it will be shown at
(`ui.window_geometry`), so the style sheet's rules, the layouts' sizes and the diagram's
drawing are ready.

What is built holds no services, no user and no record: `MainWindow.bind` gives it the person's
services (`Services.as_user`) only after their password was checked, and a window that is not
bound can read or write nothing (tests/gui/test_sign_in_first.py). When the person cancels or
chooses the demo, it is deleted unbound. When Sign in is pressed before the steps are done,
they go on while the password is checked on its own thread, and what is left is done after the
check (without the drawing off screen: the real one follows).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

if TYPE_CHECKING:
    from tpi_chart.ui.main_window import MainWindow


class WindowPrebuild:
    """Builds one unbound main window in steps (see the module); `take` hands it over."""

    def __init__(self) -> None:
        self.window: MainWindow | None = None
        #: (step, whether it is still worth doing once the person is waiting for the window)
        self._steps: deque[tuple[Callable[[], None], bool]] = deque()
        self._started = False

    def start(self) -> None:
        """Begin, on the next turns of the event loop (the sign-in dialog's)."""
        if self._started:
            return
        self._started = True
        self._steps.append((self._frame, True))
        QTimer.singleShot(0, self._next)

    def _next(self) -> None:
        if not self._steps:
            return
        step, _needed = self._steps.popleft()
        step()
        if self._steps:
            QTimer.singleShot(0, self._next)

    def _frame(self) -> None:
        from tpi_chart.ui.last_session import procedure_remembered
        from tpi_chart.ui.main_window import MainWindow

        self.window = MainWindow()
        if procedure_remembered():  # the window will open on the workspace
            self._steps.extend(
                ((self._workspace, True), (self._first_tab, True), (self._drawn_once, False))
            )

    def _workspace(self) -> None:
        if self.window is not None:
            self.window.workspace  # noqa: B018 (built on first use)

    def _first_tab(self) -> None:
        if self.window is not None:
            self.window.workspace.side_tabs.build_current()

    def _drawn_once(self) -> None:
        if self.window is not None:
            self.window.grab()

    def take(self) -> MainWindow | None:
        """The window built so far, its remaining steps done now (None when it was never
        started): the caller binds it to the person signed in."""
        while self._steps:
            step, needed = self._steps.popleft()
            if needed:
                step()
        window, self.window = self.window, None
        return window

    def discard(self) -> None:
        """Nobody signed in: the window goes, unbound and never shown."""
        self._steps.clear()
        window, self.window = self.window, None
        if window is not None:
            window.deleteLater()
