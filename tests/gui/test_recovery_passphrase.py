"""The recovery passphrase is shown once after the first administrator is created, and the
dialog cannot be dismissed before the person confirms they wrote it down."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tpi_chart.services.context import open_services
from tpi_chart.ui.auth.recovery_dialog import RecoveryPassphraseDialog

# The offscreen platform cannot size a top-level dialog's frame; harmless here.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def test_first_administrator_gets_the_passphrase_once_and_must_confirm(
    qtbot: QtBot, tmp_path: Path
) -> None:
    with open_services(tmp_path / "clinic.db", None) as services:
        admin = services.auth.create_first_administrator(
            "admin", "Pat Admin", "clinic-admin-pass-2026", physician=True
        )
        passphrase = services.authority.take_recovery_passphrase(admin)
        assert passphrase is not None
        assert services.authority.take_recovery_passphrase(admin) is None

    dialog = RecoveryPassphraseDialog(passphrase)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.passphrase.text() == passphrase
    assert not dialog.continue_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible()  # Escape does not lose the only showing
    qtbot.mouseClick(dialog.confirmed, Qt.MouseButton.LeftButton)
    assert dialog.continue_button.isEnabled()
    qtbot.mouseClick(dialog.continue_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert dialog.result() == RecoveryPassphraseDialog.DialogCode.Accepted
    QApplication.processEvents()
