"""Setting a password from the window does not freeze it: the first administrator's password
is hashed (production Argon2id cost) and their account key wrapped on the worker thread while
the dialog keeps painting; closing the dialog meanwhile creates no account."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.services.context import open_services
from tpi_chart.ui.auth.first_run_dialog import PROTECTING, FirstRunDialog
from tpi_chart.ui.tasks import tasks

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

PASSWORD = "Harbor-Lantern-5520"


def _fill(dialog: FirstRunDialog) -> None:
    dialog.username.setText("chen")
    dialog.display_name.setText("Dr. Alex Chen")
    dialog.password.setText(PASSWORD)
    dialog.confirm.setText(PASSWORD)
    dialog.physician.setChecked(True)


@pytest.mark.real_argon2
def test_the_first_run_dialog_keeps_painting_while_the_password_is_hashed(
    tmp_path: Path, qtbot: QtBot
) -> None:
    with open_services(tmp_path / "chart.db", staff("setup")) as services:
        dialog = FirstRunDialog(services.auth)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        _fill(dialog)
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(lambda: ticks.append(time.monotonic()) if tasks().busy else None)
        timer.start()
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        assert tasks().busy
        assert dialog.error.text() == PROTECTING
        assert not dialog.create_button.isEnabled()
        assert services.auth.needs_first_run()  # nothing stored while it is hashed
        qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=30_000)
        timer.stop()
        assert len(ticks) >= 3, f"{len(ticks)} timer ticks while hashing"
        assert dialog.user is not None
        assert dialog.user.roles == {"administrator", "physician"}
        assert services.store.pki.account_key("chen") is not None
        assert services.auth.login("chen", PASSWORD) == dialog.user


def test_closing_while_the_password_is_hashed_creates_no_account(
    tmp_path: Path, qtbot: QtBot
) -> None:
    with open_services(tmp_path / "chart.db", staff("setup")) as services:
        dialog = FirstRunDialog(services.auth)
        qtbot.addWidget(dialog)
        dialog.show()
        _fill(dialog)
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
        assert tasks().busy
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not tasks().busy, timeout=30_000)
        assert dialog.result() == QDialog.DialogCode.Rejected
        assert dialog.user is None
        assert services.auth.needs_first_run()
