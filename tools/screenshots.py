"""Render the app with the demo clinic into docs/screenshots/ (run with QT_QPA_PLATFORM=offscreen):
the workspace (reference patient open, two sites injected) at 1366×768 and 1920×1080, the
patient's history, the idle lock over the workspace, and the settings dialog showing a field error.
Tests never write into docs/: this script is the one place the pictures come from."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication, QWidget

from tpi_chart.domain.users import User
from tpi_chart.services.context import Services, open_services
from tpi_chart.ui.auth.lock import IdleLock
from tpi_chart.ui.launch import make_application
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.settings_dialog import SettingsDialog

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
        shoot_history(app, services, maria.id)
        shoot_lock(app, services, maria.id)
        shoot_settings(app, services)
        shoot_recall(app, services)
    QSettings().clear()
    return 0


def save(widget: QWidget, name: str) -> None:
    path = OUT / name
    widget.grab().save(str(path))
    print(path)


def shoot_history(app: QApplication, services: Services, patient_id: int) -> None:
    window = MainWindow(services, CHEN)
    window.resize(1366, 768)
    window.show()
    window.open_patient(patient_id)
    window.patients.show_history()
    app.processEvents()
    save(window, "patient-history.png")
    window.close()


def shoot_lock(app: QApplication, services: Services, patient_id: int) -> None:
    window = MainWindow(services, CHEN)
    window.resize(1366, 768)
    window.show()
    window.open_patient(patient_id)
    window.patients.primary_button.click()
    lock = IdleLock(window, lambda _name, _password: None, user=CHEN)
    lock.lock()
    app.processEvents()
    save(window, "lock-screen.png")
    window.close()


def shoot_settings(app: QApplication, services: Services) -> None:
    dialog = SettingsDialog(services.settings)
    dialog.show()
    dialog.clinic_phone.setText("call the front desk")
    dialog.save_button.click()  # shows the field's error; nothing is stored
    app.processEvents()
    save(dialog, "settings.png")
    dialog.close()


def shoot_recall(app: QApplication, services: Services) -> None:
    """Lot recall for a lot two patients received, and the outbox waiting on a missing folder."""
    rivera = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))
    for width, height in SIZES:
        window = MainWindow(services.as_user(rivera), rivera)
        window.resize(width, height)
        window.show()
        window.recall_action.trigger()
        dialog = window.recall_dialog
        dialog.lot.setText("LD24005")
        dialog.find_button.click()
        app.processEvents()
        save(dialog, f"lot-recall-{width}x{height}.png")
        dialog.close()
        window.close()


if __name__ == "__main__":
    sys.exit(main())
