"""The window as `launch` opens it: the signed-in user's name on every change, the idle lock
audited, and another person's unlock handing over to a window of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.services.context import open_services
from tpi_chart.ui import launch

# The time-out overlay is a dialog: offscreen Qt cannot size or raise it and says so.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

PASSWORD = "a long enough passphrase"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("launch")
    QSettings().clear()  # no "last procedure" left by another test
    with open_services(tmp_path / "chart.db", staff("os-login"), seed_demo_if_new=True) as opened:
        yield opened
    for window in list(launch._windows):
        window.close()
        launch._windows.remove(window)


def test_changes_are_audited_under_the_signed_in_user_and_locking_is_audited(
    qtbot: QtBot, services: Any
) -> None:
    chen = services.auth.create_first_administrator(
        "chen", "Dr. Alex Chen, MD", PASSWORD, physician=True
    )
    window = launch.open_window(services, chen)
    qtbot.addWidget(window)
    maria = services.patients.by_mrn("D1001")
    procedure_id = services.charting.list_for_patient(maria.id)[0].id
    window.open_procedure(maria.id, procedure_id)
    window.workspace.record_time_out()
    qtbot.keyClick(window.workspace.time_out_dialog, Qt.Key.Key_Y)  # confirm: sites marked

    window.idle_lock.lock()

    rows = services.store.audit.rows()
    assert (rows[-2].user, rows[-2].action) == ("chen", "update")  # the time-out
    assert (rows[-1].user, rows[-1].action) == ("chen", "session_locked")


def test_another_person_unlocking_gets_their_own_window(qtbot: QtBot, services: Any) -> None:
    chen = services.auth.create_first_administrator(
        "chen", "Dr. Alex Chen, MD", PASSWORD, physician=True
    )
    rivera = services.auth.create_user(chen, "rivera", "J. Rivera, MA", {"assistant"}, PASSWORD)
    window = launch.open_window(services, chen)
    qtbot.addWidget(window)

    window.idle_lock.user_changed.emit(rivera)

    assert window not in launch._windows
    (current,) = launch._windows
    qtbot.addWidget(current)
    assert current.user == rivera
    assert current.services.user.username == "rivera"


def test_typing_after_sign_in_goes_to_the_patient_search(qtbot: QtBot, services: Any) -> None:
    chen = services.auth.create_first_administrator(
        "chen", "Dr. Alex Chen, MD", PASSWORD, physician=True
    )
    window = launch.open_window(services, chen)
    qtbot.addWidget(window)
    # The widget that takes the keys once the window is active (offscreen runs may leave another
    # test's window active, so ask the window rather than the application).
    assert window.focusWidget() is window.patients.search
    qtbot.keyClicks(window.patients.search, "lopez")
    assert window.patients.search.text() == "lopez"
