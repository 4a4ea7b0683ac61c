"""The idle lock (reliability.md §3.2, S4; HIPAA §164.312(a)(2)(iii); ONC (d)(5)).

Lock, do not log out: after the idle time the window's central area is swapped for a lock screen
that shows no patient data, and every other part of the window that may carry it (docks, tool
bars, status bar, menu bar, the title) is hidden until someone signs in. The charting widgets are
kept exactly as they were (only hidden), so the same user resumes where they left off; everything
is already saved, so a different user can take over without anything being lost: the window is
told through `user_changed` and reloads for them.

Install on any QMainWindow after its central widget is set::

    self.idle_lock = IdleLock(self, services.auth, minutes=10, user=user)
    self.idle_lock.user_changed.connect(self.on_user_changed)
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QInputEvent, QShowEvent, QWindow
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QStatusBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.users import User
from tpi_chart.ui.auth.sign_in import SignIn, SignInService
from tpi_chart.ui.window_watch import WindowWatch, window_watch

DEFAULT_MINUTES = 10
MIN_MINUTES = 2
MAX_MINUTES = 15
WARNING_SECONDS = 60
APP_NAME = "TPI Chart"

_INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
    }
)
_BLOCKED_WHILE_LOCKED = _INPUT_EVENTS | {
    QEvent.Type.KeyRelease,
    QEvent.Type.MouseButtonRelease,
    QEvent.Type.Shortcut,
    QEvent.Type.ShortcutOverride,
}


def check_minutes(minutes: float) -> float:
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ValueError(
            f"idle lock: {minutes:g} minutes is outside the allowed {MIN_MINUTES}-{MAX_MINUTES}"
        )
    return minutes


class LockScreen(QFrame):
    """App name, 'Locked — sign in to continue', username and password. Nothing else."""

    submitted = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self.setStyleSheet(
            "#lockScreen { background: #24313d; }"
            "#lockCard { background: white; border-radius: 10px; }"
            "#lockTitle { font-size: 22pt; font-weight: 600; }"
            "#lockState { font-size: 13pt; color: #56636f; }"
            "#lockError { color: #b3261e; }"
        )
        card = QFrame(self)
        card.setObjectName("lockCard")
        card.setFixedWidth(380)
        title = QLabel(APP_NAME, card)
        title.setObjectName("lockTitle")
        state = QLabel("Locked — sign in to continue", card)
        state.setObjectName("lockState")
        self.username = QLineEdit(card)
        self.username.setObjectName("lockUsername")
        self.username.setAccessibleName("Username")
        self.password = QLineEdit(card)
        self.password.setObjectName("lockPassword")
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("", card)
        self.error.setObjectName("lockError")
        self.error.setWordWrap(True)
        self.error.hide()
        # "Checking the password…" or the countdown after failed attempts.
        self.status = QLabel("", card)
        self.status.setObjectName("lockStatus")
        self.status.setWordWrap(True)
        self.status.hide()
        self.unlock_button = QPushButton("Sign in", card)
        self.unlock_button.setDefault(True)

        form = QFormLayout()
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(12)
        inner.addWidget(title)
        inner.addWidget(state)
        inner.addLayout(form)
        inner.addWidget(self.error)
        inner.addWidget(self.status)
        inner.addWidget(self.unlock_button)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

        self.unlock_button.clicked.connect(self._submit)
        self.password.returnPressed.connect(self._submit)
        self.username.returnPressed.connect(self.password.setFocus)

    def _submit(self) -> None:
        self.submitted.emit(self.username.text(), self.password.text())

    def reset(self, username: str) -> None:
        self.username.setText(username)
        self.password.clear()
        self.error.hide()
        (self.password if username else self.username).setFocus()

    def show_state(self, text: str, ready: bool) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
        self.unlock_button.setEnabled(ready)

    def show_error(self, message: str) -> None:
        self.password.clear()
        self.error.setText(message)
        self.error.show()
        self.password.setFocus()


class IdleLock(QObject):
    """Locks `window` after `minutes` without keyboard, mouse or touch input anywhere in the app.

    `service` checks the password (`AuthService`'s sign-in steps, through `SignIn`: the Argon2
    work runs on the worker thread, the wait after failures is a countdown). `clock` is a
    monotonic seconds source; tests pass a fake one and call `check()` instead of waiting.
    """

    warning_shown = Signal(int)  # seconds left
    locked = Signal()
    unlocked = Signal(object)  # the User who signed in
    user_changed = Signal(object)  # a different User signed in: reload/reset for them

    def __init__(
        self,
        window: QMainWindow,
        service: SignInService,
        minutes: float = DEFAULT_MINUTES,
        clock: Callable[[], float] = time.monotonic,
        *,
        user: User | None = None,
        poll_ms: int = 1000,
    ) -> None:
        super().__init__(window)
        self._window = window
        self.sign_in = SignIn(service, self)
        self._clock = clock
        self._timeout = check_minutes(minutes) * 60.0
        self.user = user
        self._last_input = clock()
        self._locked = False
        self._hidden: list[QWidget] = []
        self._title = ""

        self.content = window.centralWidget() or QWidget()
        self.banner = QLabel("")
        self.banner.setObjectName("idleWarning")
        self.banner.setStyleSheet(
            "#idleWarning { background: #fff4e0; color: #a15c00; padding: 8px 12px;"
            " border-bottom: 1px solid #e8c98f; font-weight: 600; }"
        )
        self.banner.hide()
        self._screen: LockScreen | None = None
        self._stack: QStackedWidget | None = None
        self.sign_in.signed_in.connect(self._unlock)
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        # Activity is watched at the windows (ui.window_watch): an application-wide filter is
        # called for every event of every widget. Only while locked is there one, which stops
        # every key, click and shortcut short of the hidden chart.
        watch = window_watch()
        watch.add(self._input)
        window.installEventFilter(self)  # the window's own events: attached when it is shown
        window.destroyed.connect(lambda: self._let_go(watch))

    @property
    def lock_screen(self) -> LockScreen:
        return self._install()[0]

    @property
    def stack(self) -> QStackedWidget:
        """The window's content and the lock screen, one shown at a time."""
        return self._install()[1]

    def _install(self) -> tuple[LockScreen, QStackedWidget]:
        """The lock screen, and the stack that swaps it for the window's content, built when first
        needed (the warning before the first lock, or the lock) rather than at start-up, where
        moving the content into the stack was a sixth of opening the window. Moving it later
        polishes it again (a moment, while nobody is using the window); the focus stays."""
        if self._screen is not None and self._stack is not None:
            return self._screen, self._stack
        window = self._window
        focus = QApplication.focusWidget()
        content = window.takeCentralWidget()
        self.content = content if content is not None else self.content
        self._screen = screen = LockScreen()
        self._stack = stack = QStackedWidget()
        stack.setObjectName("idleLockStack")
        stack.addWidget(self.content)
        stack.addWidget(screen)
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(stack, 1)
        window.setCentralWidget(holder)
        holder.show()  # now, not on the next turn of the event loop (Qt's default when moved)
        self.content.show()
        if focus is not None and self.content.isAncestorOf(focus):
            focus.setFocus()
        screen.submitted.connect(self.sign_in.submit)
        self.sign_in.refused.connect(screen.show_error)
        self.sign_in.state_changed.connect(screen.show_state)
        return screen, stack

    # -- state ---------------------------------------------------------------------------------

    @property
    def is_locked(self) -> bool:
        return self._locked

    @property
    def minutes(self) -> float:
        return self._timeout / 60.0

    def set_minutes(self, minutes: float) -> None:
        self._timeout = check_minutes(minutes) * 60.0
        self.check()

    def seconds_left(self) -> float:
        return self._timeout - (self._clock() - self._last_input)

    @property
    def last_input(self) -> float:
        """The clock's time of the last input seen (a start counts as one)."""
        return self._last_input

    def touch(self) -> None:
        """Input happened: restart the idle time and take the warning away."""
        self._last_input = self._clock()
        if self.banner.isVisibleTo(self._window):
            self.banner.hide()

    def check(self) -> None:
        """Called by the poll timer (and by tests): warn in the last minute, lock at zero."""
        if self._locked:
            return
        left = self.seconds_left()
        if left <= 0:
            self.lock()
        elif left <= WARNING_SECONDS:
            seconds = int(left + 0.999)
            self.banner.setText(
                f"For privacy this window locks in {seconds} s. Move the mouse or press a key to "
                "stay signed in; nothing will be lost."
            )
            if not self.banner.isVisibleTo(self._window):
                self._install()
                self.banner.show()
            self.warning_shown.emit(seconds)

    # -- locking -------------------------------------------------------------------------------

    def lock(self) -> None:
        if self._locked:
            return
        self._install()
        self._locked = True
        self._block(True)
        self.banner.hide()
        window = self._window
        self._title = window.windowTitle()
        window.setWindowTitle("Locked")  # Qt appends "— TPI Chart"
        self._hidden = []
        candidates: list[QWidget] = [
            *window.findChildren(QDockWidget),
            *window.findChildren(QToolBar),
            *window.findChildren(QStatusBar),
        ]
        menu = window.menuWidget()
        if menu is not None:
            candidates.append(menu)
        for widget in candidates:
            if widget.isVisibleTo(window):
                widget.hide()
                self._hidden.append(widget)
        for top in QApplication.topLevelWidgets():
            if top is not window and top.isVisible() and not top.isModal():
                top.hide()
                self._hidden.append(top)
        self.lock_screen.reset(self.user.username if self.user is not None else "")
        self.stack.setCurrentWidget(self.lock_screen)
        self.content.hide()
        self.locked.emit()

    def _unlock(self, user: User) -> None:
        previous = self.user
        self.user = user
        self._locked = False
        self._block(False)
        self.lock_screen.reset("")
        self.stack.setCurrentWidget(self.content)
        self.content.show()
        for widget in self._hidden:
            widget.show()
        self._hidden = []
        self._window.setWindowTitle(self._title)
        self._last_input = self._clock()
        self.unlocked.emit(user)
        if previous is None or previous.username != user.username:
            self.user_changed.emit(user)

    # -- input -----------------------------------------------------------------------------------

    def _input(self, _window: QWindow, event: QInputEvent) -> None:
        if not self._locked and event.type() in _INPUT_EVENTS:
            self.touch()

    def _let_go(self, watch: WindowWatch) -> None:
        # Python only: the window's children, this lock among them, may be gone already (Qt
        # drops a deleted object from the application's filters itself).
        watch.remove(self._input)

    def _block(self, on: bool) -> None:
        app = QApplication.instance()
        if app is None:
            return
        if on:
            app.installEventFilter(self)
        else:
            app.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and isinstance(event, QShowEvent):
            window_watch().attach(self._window)  # its top-level window exists from now on
        if not self._locked or isinstance(watched, QWindow):
            return False  # (a window's input: Qt passes it on to the target widget, seen then)
        # No shortcut, key or click reaches the hidden chart.
        kind = event.type()
        return kind in _BLOCKED_WHILE_LOCKED and not self._inside_lock_screen(watched)

    def _inside_lock_screen(self, watched: QObject) -> bool:
        """True for what must keep working while locked: the lock screen itself, and anything
        that is not part of this window (another window's lock, for instance)."""
        if isinstance(watched, QWidget):
            if watched.window() is not self._window:
                return True
            return watched is self.lock_screen or self.lock_screen.isAncestorOf(watched)
        # A QAction's shortcut: blocked while this window is the active one.
        return QApplication.activeWindow() not in (None, self._window)
