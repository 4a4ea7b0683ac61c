"""Killing the app (SIGKILL) right after an edit shows as saved loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.users import staff
from tpi_chart.services.context import open_services

pytestmark = pytest.mark.gui

MARKER = "SHOWN-AS-SAVED"

CHILD = textwrap.dedent(
    f"""
    import sys
    from pathlib import Path
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from tpi_chart.domain.users import User
    from tpi_chart.services.context import open_services
    from tpi_chart.ui.launch import make_application
    from tpi_chart.ui.main_window import MainWindow

    app = make_application()
    services = open_services(Path(sys.argv[1]), seed_demo_if_new=True)
    chen = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({{"physician"}}))
    window = MainWindow(services.as_user(chen), chen)
    window.show()
    window.activateWindow()
    maria = window.services.patients.by_mrn("D1001")
    window.open_patient(maria.id)
    QTest.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    workspace = window.workspace
    print("PROCEDURE", workspace.document.procedure_id, flush=True)

    def edit():
        QTest.mouseClick(workspace.editor.twitch["brisk"], Qt.MouseButton.LeftButton)

    def poll():
        if workspace.saved_indicator.text().startswith("✓ Saved"):
            print("{MARKER}", flush=True)  # the parent kills us on reading this line
        else:
            QTimer.singleShot(10, poll)

    QTimer.singleShot(0, edit)
    QTimer.singleShot(0, poll)
    QTimer.singleShot(20000, lambda: app.exit(3))  # never shown as saved: fail, do not hang
    sys.exit(app.exec())
    """
)


def test_an_edit_shown_as_saved_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "chart.db"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    procedure_id = None
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        try:
            assert child.stdout is not None
            for line in child.stdout:
                if line.startswith("PROCEDURE"):
                    procedure_id = int(line.split()[1])
                if line.strip() == MARKER:
                    child.send_signal(signal.SIGKILL)
                    break
            child.wait(timeout=30)
            errors = child.stderr.read() if child.stderr else ""
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert child.returncode == -signal.SIGKILL, errors
    assert procedure_id is not None

    with open_services(db, staff("checker")) as services:
        first = services.charting.sites(procedure_id)[0].site
    assert first.state == "injected"
    assert first.twitch == "brisk"
    assert first.volume_ml == 1.5
