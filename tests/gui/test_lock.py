"""The idle lock: a fake clock drives it; locked, the window shows no patient data; the same user
resumes with the same widgets and state; another user takes over through `user_changed`."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QDockWidget,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QStatusBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.users import User
from tpi_chart.ui.auth.lock import IdleLock, check_minutes

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

PHI = ("Lopez", "Maria", "D1001", "1974-05-12")
CHEN = User(username="chen", display_name="Dr. Alex Chen", roles=frozenset({"physician"}))
RIVERA = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))
PASSWORDS = {("chen", "Chen-Secret-01"): CHEN, ("rivera", "Rivera-Secret-02"): RIVERA}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ChartWindow(QMainWindow):
    """Stands in for the main window: patient data in the centre, a dock, a tool bar, a status
    bar and the title."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("TPI Chart — Lopez, Maria (D1001)")
        centre = QWidget()
        layout = QVBoxLayout(centre)
        self.banner = QLabel("Lopez, Maria · MRN D1001 · born 1974-05-12")
        self.sites = QListWidget()
        self.sites.addItems(["1 Upper trapezius L", "2 Upper trapezius R", "3 Levator scapulae L"])
        self.sites.setCurrentRow(1)
        self.draft = QLineEdit()
        layout.addWidget(self.banner)
        layout.addWidget(self.sites)
        layout.addWidget(self.draft)
        self.setCentralWidget(centre)
        dock = QDockWidget("Patient", self)
        dock.setWidget(QLabel("Lopez, Maria — allergies: none"))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.dock = dock
        self.toolbar = QToolBar("Main", self)
        self.toolbar.addAction("Sign Lopez note")
        self.addToolBar(self.toolbar)
        self.setStatusBar(QStatusBar(self))
        self.statusBar().showMessage("Saved · Lopez, Maria")
        self.resize(1000, 640)


class Passwords:
    """AuthService's three sign-in steps over a table of passwords."""

    def wait_before_login(self, username: str) -> float:
        return 0.0

    def begin_login(self, username: str) -> Passwords.Attempt:
        if username == "locked-out":
            raise DomainError("too many failed sign-ins for 'locked-out': the account is locked")
        return Passwords.Attempt(username)

    def finish_login(self, attempt: Passwords.Attempt, password: str, check: bool) -> User | None:
        return PASSWORDS.get((attempt.username, password)) if check else None

    class Attempt:
        def __init__(self, username: str) -> None:
            self.username = username

        def check(self, password: str) -> bool:
            return (self.username, password) in PASSWORDS


@pytest.fixture
def setup(qtbot: QtBot) -> tuple[ChartWindow, IdleLock, Clock]:
    return _window_with_lock(qtbot)


def _window_with_lock(qtbot: QtBot) -> tuple[ChartWindow, IdleLock, Clock]:
    window = ChartWindow()
    qtbot.addWidget(window)
    clock = Clock()
    lock = IdleLock(window, Passwords(), minutes=10, clock=clock, user=CHEN, poll_ms=60_000)
    window.show()
    qtbot.waitExposed(window)
    return window, lock, clock


def visible_texts(window: QMainWindow) -> list[str]:
    texts = [window.windowTitle()]
    for widget in window.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            texts.append(widget.text())
        if isinstance(widget, QListWidget):
            texts += [widget.item(i).text() for i in range(widget.count())]
        if isinstance(widget, QStatusBar):
            texts.append(widget.currentMessage())
        if isinstance(widget, QToolBar):
            texts += [action.text() for action in widget.actions()]
    return texts


def unlock(qtbot: QtBot, lock: IdleLock, username: str, password: str) -> None:
    """Type and click Sign in; returns once the check on the worker thread is over."""
    screen = lock.lock_screen
    screen.username.setText(username)
    screen.password.setText(password)
    qtbot.mouseClick(screen.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not lock.sign_in.busy)


def test_warning_a_minute_before_and_input_postpones(
    qtbot: QtBot, setup: tuple[ChartWindow, IdleLock, Clock]
) -> None:
    window, lock, clock = setup
    clock.now += 8 * 60 + 59
    lock.check()
    assert not lock.banner.isVisible()
    clock.now += 1  # timeout − 60 s
    with qtbot.waitSignal(lock.warning_shown) as shown:
        lock.check()
    assert shown.args == [60]
    assert lock.banner.isVisible()
    assert "locks in 60 s" in lock.banner.text()
    # Any input, as the platform delivers it (through the window): warning gone, idle time
    # restarts.
    window.draft.setFocus()
    QTest.keyClick(window.windowHandle(), Qt.Key.Key_A)
    assert window.draft.text().endswith("a")
    assert not lock.banner.isVisible()
    clock.now += 9 * 60 + 59
    lock.check()
    assert not lock.is_locked
    clock.now += 1
    lock.check()
    assert lock.is_locked


def test_a_click_or_a_mouse_move_postpones_too(
    qtbot: QtBot, setup: tuple[ChartWindow, IdleLock, Clock]
) -> None:
    window, lock, clock = setup
    # Through the window, as the platform delivers them.
    handle, spot = window.windowHandle(), window.draft.mapTo(window, window.draft.rect().center())
    for act in (
        lambda: QTest.mouseClick(handle, Qt.MouseButton.LeftButton, pos=spot),
        lambda: QTest.mouseMove(handle, spot + QPoint(3, 2)),
    ):
        clock.now += 9 * 60 + 30
        lock.check()
        assert lock.banner.isVisible()
        act()
        lock.check()
        assert not lock.banner.isVisible()
        assert not lock.is_locked


def test_typing_in_a_dialog_postpones_too(
    qtbot: QtBot, setup: tuple[ChartWindow, IdleLock, Clock]
) -> None:
    """A dialog is a window of its own: the watch takes it on when it gets the focus."""
    window, lock, clock = setup
    dialog = QDialog(window)
    field = QLineEdit(dialog)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWindow() is dialog.windowHandle())
    field.setFocus()
    clock.now += 9 * 60 + 30
    lock.check()
    assert lock.banner.isVisible()
    QTest.keyClick(dialog.windowHandle(), Qt.Key.Key_B)
    assert field.text() == "b"
    lock.check()
    assert not lock.banner.isVisible()
    assert not lock.is_locked


def test_a_deleted_window_s_lock_hears_no_more_input(qtbot: QtBot) -> None:
    """The lock of a window that is gone (the previous person's, after a hand-over) stops
    listening: input to the next window must not reach it (its widgets are deleted)."""
    first = ChartWindow()
    IdleLock(first, Passwords(), minutes=10, user=CHEN, poll_ms=60_000)
    first.show()
    qtbot.waitExposed(first)
    gone: list[bool] = []
    first.destroyed.connect(lambda: gone.append(True))
    first.deleteLater()
    qtbot.waitUntil(lambda: gone == [True])
    second, lock, clock = _window_with_lock(qtbot)
    clock.now += 30
    second.draft.setFocus()
    QTest.keyClick(second.windowHandle(), Qt.Key.Key_C)  # a stale listener would raise here
    assert second.draft.text() == "c"
    assert lock.last_input == clock.now


def test_the_lock_screen_is_built_when_first_needed_and_the_focus_stays(
    qtbot: QtBot, setup: tuple[ChartWindow, IdleLock, Clock]
) -> None:
    window, lock, clock = setup
    centre = window.banner.parentWidget()
    # At start-up the window's content stays where it is (moving it cost a sixth of the start).
    assert window.centralWidget() is centre
    window.draft.setFocus()
    qtbot.waitUntil(window.draft.hasFocus)
    clock.now += 9 * 60
    lock.check()  # the warning: now the content moves into the lock's stack
    assert lock.banner.isVisible()
    assert window.centralWidget() is not centre
    assert lock.stack.currentWidget() is centre
    assert centre.isVisible()
    assert window.sites.isVisible()
    assert window.draft.hasFocus()  # typing goes on where it was
    clock.now += 60
    lock.check()
    assert lock.is_locked
    assert lock.stack.currentWidget() is lock.lock_screen


def test_locked_window_shows_no_patient_data(
    qtbot: QtBot, setup: tuple[ChartWindow, IdleLock, Clock], tmp_path: Path
) -> None:
    window, lock, clock = setup
    assert any("Lopez" in text for text in visible_texts(window))
    clock.now += 600
    with qtbot.waitSignal(lock.locked):
        lock.check()
    assert lock.is_locked
    assert not window.banner.isVisible()
    assert not window.sites.isVisible()
    assert not window.dock.isVisible()
    assert not window.toolbar.isVisible()
    assert not window.statusBar().isVisible()
    texts = " ".join(visible_texts(window))
    assert "Locked — sign in to continue" in texts
    assert all(phi not in texts for phi in PHI)
    picture = tmp_path / "locked.png"
    assert window.grab().save(str(picture))
    assert picture.stat().st_size > 0


def test_the_same_user_resumes_exactly_where_they_were(
    qtbot: QtBot, setup: tuple[ChartWindow, IdleLock, Clock]
) -> None:
    window, lock, clock = setup
    window.sites.setCurrentRow(2)
    qtbot.keyClicks(window.draft, "twitch brisk")
    centre, sites, draft = window.banner.parentWidget(), window.sites, window.draft
    changed: list[User] = []
    lock.user_changed.connect(changed.append)
    clock.now += 600
    lock.check()
    qtbot.keyClicks(window.draft, "xyz")  # input to the hidden chart is swallowed
    unlock(qtbot, lock, "chen", "wrong-password")
    assert lock.is_locked
    assert lock.lock_screen.error.text() == "Wrong username or password."
    assert lock.lock_screen.password.text() == ""
    with qtbot.waitSignal(lock.unlocked):
        unlock(qtbot, lock, "chen", "Chen-Secret-01")
    assert not lock.is_locked
    assert changed == []
    assert window.banner.parentWidget() is centre
    assert (window.sites, window.draft) == (sites, draft)
    assert window.sites.isVisible()
    assert window.sites.currentRow() == 2
    assert window.draft.text() == "twitch brisk"
    assert window.dock.isVisible()
    assert window.toolbar.isVisible()
    assert window.windowTitle() == "TPI Chart — Lopez, Maria (D1001)"
    assert lock.lock_screen.password.text() == ""


def test_a_different_user_takes_over_through_user_changed(
    qtbot: QtBot, setup: tuple[ChartWindow, IdleLock, Clock]
) -> None:
    window, lock, clock = setup
    window.draft.setText("unsaved?")
    clock.now += 600
    lock.check()
    assert lock.lock_screen.username.text() == "chen"
    unlock(qtbot, lock, "locked-out", "whatever-1")
    assert "account is locked" in lock.lock_screen.error.text()
    assert lock.is_locked
    with qtbot.waitSignal(lock.user_changed) as changed:
        unlock(qtbot, lock, "rivera", "Rivera-Secret-02")
    assert changed.args == [RIVERA]
    assert lock.user == RIVERA
    assert not lock.is_locked
    assert window.draft.text() == "unsaved?"  # nothing lost; the window reloads for the new user


def test_the_idle_time_must_be_two_to_fifteen_minutes(
    qtbot: QtBot, setup: tuple[ChartWindow, IdleLock, Clock]
) -> None:
    _, lock, clock = setup
    assert check_minutes(2) == 2
    assert check_minutes(15) == 15
    for bad in (1, 16, 0):
        with pytest.raises(ValueError, match="outside the allowed 2-15"):
            check_minutes(bad)
    lock.set_minutes(2)
    clock.now += 119
    lock.check()
    assert not lock.is_locked
    clock.now += 1
    lock.check()
    assert lock.is_locked
