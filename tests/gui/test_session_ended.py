"""An administrator ends a session from another workstation (issue 18): the window of that
session refuses its next save with a sentence, stores nothing, and locks itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.gui.test_launch import services  # noqa: F401 (the fixture)
from tpi_chart.services import sessions as sessions_module
from tpi_chart.services.context import open_services
from tpi_chart.services.sessions import SessionService
from tpi_chart.ui import launch

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

PASSWORD = "a long enough passphrase"


def test_an_ended_session_s_window_refuses_the_next_save_and_locks(
    qtbot: QtBot,
    services: Any,  # noqa: F811 (the fixture of test_launch)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A file clinic reads an ending once a minute of saving: here at every save.
    monkeypatch.setattr(sessions_module, "SEEN_EVERY", timedelta(0))
    admin = services.auth.create_first_administrator("okafor", "R. Okafor", PASSWORD)
    services.auth.create_user(admin, "chen", "Dr. Alex Chen, MD", {"physician"}, PASSWORD)
    chen = services.auth.login("chen", PASSWORD)  # the room's sign-in: a session starts
    window = launch.open_window(services, chen)
    qtbot.addWidget(window)
    maria = services.patients.by_mrn("D1001")
    procedure_id = services.charting.list_for_patient(maria.id)[0].id
    window.open_procedure(maria.id, procedure_id)

    # At the front desk, another workstation: the administrator ends the room's session.
    with open_services(services.db_path) as front:
        signed_in = front.auth.login("okafor", PASSWORD)
        sessions = SessionService(front.store.sessions, signed_in)
        (room,) = [s for s in sessions.open_sessions() if s.username == "chen"]
        sessions.end(room.id, "left signed in")
    audit_rows = len(services.store.audit.rows())

    failures: list[str] = []
    window.workspace.document.failed.connect(failures.append)
    window.workspace.record_time_out()
    qtbot.keyClick(window.workspace.time_out_dialog, Qt.Key.Key_Y)

    qtbot.waitUntil(lambda: window.idle_lock.is_locked, timeout=2000)
    assert failures
    assert "ended your session" in failures[-1]
    assert "left signed in" in failures[-1]
    assert "nothing was saved" in failures[-1]
    # Nothing of the edit was stored (the lock itself is audited).
    new = [(r.user, r.action) for r in services.store.audit.rows()[audit_rows:]]
    assert ("chen", "update") not in new
