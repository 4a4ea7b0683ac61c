"""Sign-in, first-run and accounts dialogs, driven through their widgets (never exec()ed): a wrong
password never opens the app and no password is written anywhere."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox
from pytestqt.qtbot import QtBot

from tests.unit.auth_support import FAST_HASHER, FakeClock, KeyedTrail, open_with_users, users_on
from tpi_chart.domain.users import User
from tpi_chart.services.auth import AuthService
from tpi_chart.ui.auth.accounts_dialog import AccountsDialog
from tpi_chart.ui.auth.first_run_dialog import PROTECTING, FirstRunDialog
from tpi_chart.ui.auth.login_dialog import LoginDialog

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

ADMIN_PASSWORD = "Harbor-Lantern-5520"
WRONG = "Copper-Violet-9313"


class Env:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = open_with_users(path)
        self.trail = KeyedTrail(self.conn)
        clock = FakeClock()
        self.auth = AuthService(
            users_on(self.conn, self.trail),
            self.trail,
            clock=clock,
            sleep=clock.sleep,
            hasher=FAST_HASHER,
        )

    def written(self) -> bytes:
        wal = Path(f"{self.path}-wal")
        rows = "\n".join(repr(row) for row in self.trail.rows()).encode()
        return self.path.read_bytes() + (wal.read_bytes() if wal.exists() else b"") + rows


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path / "chart.db")
    yield environment
    environment.conn.close()


def create_admin(env: Env, qtbot: QtBot) -> User:
    dialog = FirstRunDialog(env.auth)
    qtbot.addWidget(dialog)
    dialog.username.setText("chen")
    dialog.display_name.setText("Dr. Alex Chen")
    dialog.password.setText(ADMIN_PASSWORD)
    dialog.confirm.setText(ADMIN_PASSWORD + "x")
    dialog.physician.setChecked(True)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "two passwords differ" in dialog.error.text()
    dialog.password.setText(ADMIN_PASSWORD)
    dialog.confirm.setText(ADMIN_PASSWORD)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    # The password is hashed on the worker thread; the account is created when it is back.
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert dialog.user is not None
    return dialog.user


def test_first_run_creates_a_physician_administrator(env: Env, qtbot: QtBot) -> None:
    assert env.auth.needs_first_run()
    user = create_admin(env, qtbot)
    assert user.roles == {"administrator", "physician"}
    assert not env.auth.needs_first_run()


def test_a_wrong_password_keeps_the_dialog_open_and_leaves_no_trace(
    env: Env, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = create_admin(env, qtbot)
    dialog = LoginDialog(env.auth, "chen")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.password.setText(WRONG)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert dialog.isVisible()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.user is None
    assert dialog.error.text() == "Wrong username or password."
    assert dialog.password.text() == ""
    dialog.password.setText(ADMIN_PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert dialog.user == admin
    env.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    written = env.written()
    for secret in (WRONG, ADMIN_PASSWORD):
        assert secret.encode() not in written
        assert secret not in caplog.text
    assert env.trail.verify().ok


def test_ask_returns_the_user_after_the_check_or_none_on_cancel(env: Env, qtbot: QtBot) -> None:
    admin = create_admin(env, qtbot)

    def answer(password: str | None) -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, LoginDialog)
        if password is None:
            dialog.reject()
            return
        dialog.password.setText(password)
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, lambda: answer(ADMIN_PASSWORD))
    assert LoginDialog.ask(env.auth, "chen") == admin
    QTimer.singleShot(0, lambda: answer(None))
    assert LoginDialog.ask(env.auth, "chen") is None


def test_an_administrator_manages_accounts(env: Env, qtbot: QtBot) -> None:
    admin = create_admin(env, qtbot)
    dialog = AccountsDialog(env.auth, admin)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 1
    dialog.new_username.setText("rivera")
    dialog.new_name.setText("J. Rivera, MA")
    dialog.new_password.setText("Rivera-Secret-02")
    for role, box in dialog.role_boxes.items():
        box.setChecked(role == "assistant")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == PROTECTING
    assert not dialog.add_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.message.text() == "Account rivera added.")
    assert dialog.add_button.isEnabled()
    assert dialog.table.rowCount() == 2
    assert dialog.new_password.text() == ""
    assert dialog.selected() is not None
    assert dialog.selected().username == "rivera"
    qtbot.mouseClick(dialog.toggle_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == "Account rivera deactivated."
    assert env.auth.login("rivera", "Rivera-Secret-02") is None
    dialog.select("chen")
    qtbot.mouseClick(dialog.toggle_button, Qt.MouseButton.LeftButton)
    assert "only active administrator" in dialog.message.text()
    dialog.select("rivera")
    assert dialog.reset_password("short") is False
    assert "at least 8 characters" in dialog.message.text()
    assert dialog.reset_password("Rivera-Reset-03") is True
    qtbot.waitUntil(lambda: "reset; ask them to change it" in dialog.message.text())
    env.auth.update_user(admin, "rivera", active=True)
    assert env.auth.login("rivera", "Rivera-Reset-03") is not None


def test_enter_in_the_password_adds_the_account_and_close_closes(env: Env, qtbot: QtBot) -> None:
    admin = create_admin(env, qtbot)
    dialog = AccountsDialog(env.auth, admin)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.new_username.setText("okafor")
    dialog.new_name.setText("R. Okafor, MD")
    dialog.new_password.setText("Okafor-Secret-07")
    for role, box in dialog.role_boxes.items():
        box.setChecked(role == "physician")
    qtbot.keyClick(dialog.new_password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.message.text() == "Account okafor added.")
    assert dialog.isVisible()  # Enter added the account; it did not close the dialog
    close = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Close)
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
