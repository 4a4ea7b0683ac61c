"""Render the workspace with the demo clinic (reference patient open, two sites injected) at
1366×768 and 1920×1080 into docs/screenshots/. Run with QT_QPA_PLATFORM=offscreen."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings

from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.launch import make_application
from tpi_chart.ui.main_window import MainWindow

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SIZES = ((1366, 768), (1920, 1080))
CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


def main() -> int:
    app = make_application()
    QCoreApplication.setApplicationName("TPI Chart screenshots")  # leave the user's settings alone
    QSettings().clear()
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        open_services(Path(folder) / "demo.db", "chen", seed_demo_if_new=True) as services,
    ):
        maria = services.patients.by_mrn("D1001")
        assert maria is not None
        for width, height in SIZES:
            window = MainWindow(services, CHEN)
            window.resize(width, height)
            window.show()
            window.open_patient(maria.id)
            window.patients.primary_button.click()
            workspace = window.workspace
            if workspace.session.procedure.time_out is None:
                workspace.checklist.consent.click()
                workspace.pain_before.buttons[7].click()
                workspace.record_time_out()
                workspace.set_twitch("brisk")
                workspace.set_twitch("weak")
            else:
                workspace.select_site(workspace.session.sites[2].id)
            app.processEvents()
            path = OUT / f"workspace-{width}x{height}.png"
            window.grab().save(str(path))
            print(path)
            window.close()
    QSettings().clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
