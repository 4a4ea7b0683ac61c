"""Signing in does not freeze the window: Argon2 runs on the worker thread while the dialog keeps
painting, and the wait after failed attempts is a countdown (the service still refuses an early
attempt), never a sleep on the GUI thread."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow
from pytestqt.qtbot import QtBot

from tests.unit.auth_support import FAST_HASHER, FakeClock, KeyedTrail, open_with_users, users_on
from tpi_chart.domain.users import User
from tpi_chart.services.auth import AuthService, SignInDelayed
from tpi_chart.ui.auth.lock import IdleLock
from tpi_chart.ui.auth.login_dialog import LoginDialog
from tpi_chart.ui.auth.sign_in import CHECKING, WRONG

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

PASSWORD = "Harbor-Lantern-5520"


class Env:
    def __init__(self, path: Path, *, real_argon2: bool = False) -> None:
        self.conn = open_with_users(path)
        self.trail = KeyedTrail(self.conn)
        self.clock = FakeClock()
        self.auth = AuthService(
            users_on(self.conn, self.trail),
            self.trail,
            clock=self.clock,
            sleep=self._no_sleep,
            hasher=None if real_argon2 else FAST_HASHER,
        )
        self.admin = self.auth.create_first_administrator("chen", "Dr. Alex Chen", PASSWORD)

    def _no_sleep(self, seconds: float) -> None:
        raise AssertionError(f"the window slept {seconds} s on the GUI thread")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path / "chart.db")
    yield environment
    environment.conn.close()


def attempt(qtbot: QtBot, dialog: LoginDialog, password: str) -> None:
    dialog.password.setText(password)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.sign_in.busy)


@pytest.mark.real_argon2
def test_the_dialog_keeps_painting_while_argon2_checks_the_password(
    tmp_path: Path, qtbot: QtBot
) -> None:
    environment = Env(tmp_path / "chart.db", real_argon2=True)
    dialog = LoginDialog(environment.auth, "chen")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    ticks_while_checking: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(
        lambda: ticks_while_checking.append(time.monotonic()) if dialog.sign_in.busy else None
    )
    timer.start()
    dialog.password.setText(PASSWORD)
    started = time.monotonic()
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    # While the worker derives the 64 MiB Argon2id hash: the status line says so, the button is
    # off, and the GUI thread is free (the timer fires).
    assert dialog.sign_in.busy
    assert dialog.status.text() == CHECKING
    assert not dialog.sign_in_button.isEnabled()
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=20_000)
    took = time.monotonic() - started
    timer.stop()
    assert dialog.user == environment.admin
    assert len(ticks_while_checking) >= 3, f"{len(ticks_while_checking)} ticks in {took:.2f} s"
    environment.conn.close()


def test_failed_attempts_count_down_then_sign_in(env: Env, qtbot: QtBot) -> None:
    dialog = LoginDialog(env.auth, "chen")
    qtbot.addWidget(dialog)
    dialog.show()
    for _ in range(3):
        attempt(qtbot, dialog, "Copper-Violet-9313")
        assert dialog.error.text() == WRONG
    # The third failure: a 1 s wait, shown as a countdown; the button is off meanwhile.
    assert dialog.status.text() == "Several failed attempts: you can try again in 1 s."
    assert dialog.status.isVisible()
    assert not dialog.sign_in_button.isEnabled()
    dialog.password.setText(PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)  # ignored until the wait is over
    assert not dialog.sign_in.busy
    assert dialog.result() != QDialog.DialogCode.Accepted
    # The service does not rely on the window for it.
    with pytest.raises(SignInDelayed):
        env.auth.begin_login("chen")
    env.clock.advance(seconds=1)
    qtbot.waitUntil(dialog.sign_in_button.isEnabled, timeout=3000)
    assert not dialog.status.isVisible()
    attempt(qtbot, dialog, PASSWORD)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.user == env.admin


def test_a_dialog_opened_during_the_wait_counts_down_the_rest(env: Env, qtbot: QtBot) -> None:
    for _ in range(4):  # the 4th after its 1 s wait
        assert env.auth.login("chen", "Copper-Violet-9313") is None
        env.clock.advance(seconds=1)
    assert 0 < env.auth.wait_before_login("chen") <= 2
    dialog = LoginDialog(env.auth, "chen")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.password.setText(PASSWORD)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert not dialog.sign_in.busy  # refused before any password check
    assert dialog.status.text() == "Several failed attempts: you can try again in 1 s."
    assert not dialog.sign_in_button.isEnabled()


def test_cancel_during_the_check_signs_nobody_in(env: Env, qtbot: QtBot) -> None:
    dialog = LoginDialog(env.auth, "chen")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.password.setText(PASSWORD)
    signed_in: list[User] = []
    dialog.sign_in.signed_in.connect(signed_in.append)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    dialog.reject()
    qtbot.wait(200)
    assert signed_in == []
    assert dialog.user is None
    assert [row.action for row in env.trail.rows() if row.entity == "session"] == []


def test_the_lock_screen_counts_down_too(env: Env, qtbot: QtBot) -> None:
    window = QMainWindow()
    window.setCentralWidget(QLabel("chart"))
    qtbot.addWidget(window)
    lock = IdleLock(window, env.auth, minutes=10, user=env.admin, poll_ms=60_000)
    window.show()
    lock.lock()
    screen = lock.lock_screen
    for _ in range(3):
        screen.password.setText("Copper-Violet-9313")
        qtbot.mouseClick(screen.unlock_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not lock.sign_in.busy)
    assert screen.error.text() == WRONG
    assert screen.status.text() == "Several failed attempts: you can try again in 1 s."
    assert not screen.unlock_button.isEnabled()
    env.clock.advance(seconds=1)
    qtbot.waitUntil(screen.unlock_button.isEnabled, timeout=3000)
    screen.password.setText(PASSWORD)
    with qtbot.waitSignal(lock.unlocked):
        qtbot.mouseClick(screen.unlock_button, Qt.MouseButton.LeftButton)
    assert not lock.is_locked
