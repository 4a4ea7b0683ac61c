"""The window makes the day's first backup after sign-in and on closing, and always shows the
age of the last good one (issue 11 §6)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.backup import default_backup_folder
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow

pytestmark = pytest.mark.gui
CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("backup-status")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_sign_in_makes_the_day_s_backup_and_closing_another(qtbot: QtBot, services: Any) -> None:
    services.backups.set_passphrase("correct horse battery staple")
    window = MainWindow(services, CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitUntil(lambda: window.backup_label.text() == "Last backup: less than an hour ago")
    assert window.backup_label.property("role") == ""
    written = list(default_backup_folder().iterdir())
    assert len(written) == 1
    if os.environ.get("TPI_CHART_SCREENSHOTS"):
        qtbot.wait(200)
        window.grab().save(str(SCREENSHOTS / "backup-status-1366.png"))
    window.close()
    assert len(list(default_backup_folder().iterdir())) >= 1  # the closing one (same second: 1)


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_without_a_passphrase_the_window_warns(qtbot: QtBot, services: Any) -> None:
    window = MainWindow(services, CHEN)
    qtbot.addWidget(window)
    window.show()
    assert "set a backup passphrase" in window.backup_label.text()
    assert window.backup_label.property("role") == "error"
    assert not default_backup_folder().exists()
