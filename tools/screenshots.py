"""Render the app with the demo clinic into docs/screenshots/ (run with QT_QPA_PLATFORM=offscreen):
the workspace (reference patient open, two sites injected) at 1366×768 and 1920×1080 in each
diagram view, framed on the neck, its header (also of a patient with an allergy), the Keys
overlay and the muscle picker; the patient's history, the idle lock over the workspace, and the
settings dialog showing a field error.
Tests never write into docs/: this script is the one place the pictures come from."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test accounts (tests.users) when run as a script

from PySide6.QtCore import QCoreApplication, QRect, QSettings  # noqa: E402
from PySide6.QtGui import QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from tests.users import staff  # noqa: E402
from tpi_chart.domain.users import User  # noqa: E402
from tpi_chart.services.context import Services, open_services  # noqa: E402
from tpi_chart.ui.auth.lock import IdleLock  # noqa: E402
from tpi_chart.ui.launch import make_application  # noqa: E402
from tpi_chart.ui.main_window import MainWindow  # noqa: E402
from tpi_chart.ui.patients.procedure_list import FollowUpDialog  # noqa: E402
from tpi_chart.ui.settings_dialog import SettingsDialog  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZES = ((1366, 768), (1920, 1080))
CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


def main() -> int:
    app = make_application()
    QCoreApplication.setApplicationName("TPI Chart screenshots")  # leave the user's settings alone
    QSettings().clear()
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        open_services(Path(folder) / "demo.db", staff("chen"), seed_demo_if_new=True) as services,
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
            if workspace.document.procedure.time_out is None:
                workspace.pain_before.buttons[7].click()
                workspace.record_time_out()
                app.processEvents()
                if (width, height) == SIZES[0] and workspace.time_out_dialog is not None:
                    shoot_over(app, window, workspace.time_out_dialog, "timeout-overlay.png")
                workspace.time_out_dialog.yes.click()
                workspace.set_twitch("brisk")
                workspace.set_twitch("weak")
            else:
                workspace.select_site(workspace.document.sites[2].id)
            app.processEvents()
            path = OUT / f"workspace-{width}x{height}.png"
            window.grab().save(str(path))
            print(path)
            if (width, height) == SIZES[0]:
                for panel, name in (
                    (workspace.indication, "indication-tab.png"),
                    (workspace.sign_panel, "sign-tab.png"),
                ):
                    workspace.tabs.setCurrentWidget(panel)
                    app.processEvents()
                    save(window, name)
            shoot_views(app, window, f"{width}x{height}")
            window.close()
        shoot_procedures(app, services, maria.id)
        shoot_alert_header(app, services)
        shoot_history(app, services, maria.id)
        shoot_lock(app, services, maria.id)
        shoot_settings(app, services)
        shoot_recall(app, services)
    QSettings().clear()
    return 0


def shoot_views(app: QApplication, window: MainWindow, size: str) -> None:
    """Each diagram view with its region framed, the header alone, the Keys overlay and the
    muscle picker, at this window size."""
    workspace = window.workspace
    for view in ("anterior", "posterior", "head_left", "head_right"):
        workspace.set_view(view)
        app.processEvents()
        save(window, f"workspace-{view}-{size}.png")
    workspace.set_view("posterior")
    workspace.diagram.frame_region("neck_shoulders")
    app.processEvents()
    save(window, f"workspace-region-neck-{size}.png")
    header = workspace.fact_labels["allergies"].parentWidget()
    top = workspace.title.mapTo(window, workspace.title.rect().topLeft()).y() - 4
    bottom = header.mapTo(window, header.rect().bottomLeft()).y() + 6
    window.grab(QRect(0, top, window.width(), bottom - top)).save(
        str(OUT / f"workspace-header-{size}.png")
    )
    print(OUT / f"workspace-header-{size}.png")
    window.keys_action.setChecked(True)
    app.processEvents()
    save(window, f"keys-overlay-{size}.png")
    window.keys_action.setChecked(False)
    workspace.select_site(workspace.document.sites[0].id)
    workspace.recode_selected()
    picker = workspace.picker
    assert picker is not None
    picker.search.setText("trap")
    app.processEvents()
    save(picker, f"muscle-picker-{size}.png")
    picker.reject()


def shoot_alert_header(app: QApplication, services: Services) -> None:
    """The header of a patient with an allergy (red, with a warning sign) at 1366×768."""
    patient = services.patients.by_mrn("D1002")
    assert patient is not None
    window = MainWindow(services, CHEN)
    window.resize(1366, 768)
    window.show()
    window.open_patient(patient.id)
    window.patients.primary_button.click()
    app.processEvents()
    workspace = window.workspace
    header = workspace.fact_labels["allergies"].parentWidget()
    top = workspace.title.mapTo(window, workspace.title.rect().topLeft()).y() - 4
    bottom = header.mapTo(window, header.rect().bottomLeft()).y() + 6
    window.grab(QRect(0, top, window.width(), bottom - top)).save(
        str(OUT / "workspace-header-allergy.png")
    )
    print(OUT / "workspace-header-allergy.png")
    window.close()


def save(widget: QWidget, name: str) -> None:
    path = OUT / name
    widget.grab().save(str(path))
    print(path)


def shoot_over(app: QApplication, window: QWidget, dialog: QWidget, name: str) -> None:
    """A dialog over its window, as one picture (offscreen, each is grabbed on its own)."""
    app.processEvents()
    picture = window.grab()
    painter = QPainter(picture)
    box = dialog.grab()
    painter.drawPixmap(
        (picture.width() - box.width()) // 2, (picture.height() - box.height()) // 3, box
    )
    painter.end()
    picture.save(str(OUT / name))
    print(OUT / name)


def shoot_procedures(app: QApplication, services: Services, patient_id: int) -> None:
    window = MainWindow(services, CHEN)
    window.resize(1366, 768)
    window.show()
    window.open_patient(patient_id)
    app.processEvents()
    save(window, "procedure-list.png")
    listed = window.patients.procedure_list
    listed.table.selectRow(1)
    dialog = FollowUpDialog(listed.selected().performed_at.date(), window)
    dialog.relief.setValue(60)
    dialog.weeks.setValue(8)
    dialog.functional.setText("NDI 30 to 18; back to full shifts")
    dialog.show()
    shoot_over(app, window, dialog, "follow-up-dialog.png")
    dialog.close()
    window.close()


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
