"""Render the issue 12/13/14 window controls into docs/screenshots/ at 1366×768 and 1920×1080
(run with QT_QPA_PLATFORM=offscreen): a dry-needled site in the workspace, the syringe's container
fields with the too-small-vial message, the Sign tab's billing block with the ABN question, the
Required to sign settings tab, and "Try the demo" on the first-run and sign-in screens.
Tests never write into docs/: this script is where these pictures come from."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication, QWidget

from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.auth.first_run_dialog import FirstRunDialog
from tpi_chart.ui.auth.login_dialog import LoginDialog
from tpi_chart.ui.launch import make_application
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.settings_dialog import SettingsDialog

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
SIZES = ((1366, 768), (1920, 1080))
CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


def settle(app: QApplication) -> None:
    for _ in range(5):
        app.processEvents()


def save(widget: QWidget, name: str) -> None:
    widget.grab().save(str(OUT / name))
    print(OUT / name)


def main() -> int:
    app = make_application()
    QCoreApplication.setApplicationName("TPI Chart screenshots")
    QSettings().clear()
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        open_services(Path(folder) / "demo.db", staff("chen"), seed_demo_if_new=True) as services,
    ):
        maria = services.patients.by_mrn("D1001")
        assert maria is not None
        window = MainWindow(services, CHEN)
        window.show()
        window.open_patient(maria.id)
        window.patients.primary_button.click()
        workspace = window.workspace
        # Site 1 dry-needled and done, site 2 injected with twitch; ultrasound guidance recorded
        # under medicare-2024 (a coverage warning), the steroid from a single-dose vial.
        workspace.table.selectRow(0)
        workspace.set_dry_needling(True)
        workspace.inject_selected()
        workspace.table.selectRow(1)
        workspace.set_twitch("brisk")
        workspace.edit_header({"image_guidance": "ultrasound"}, "Image guidance")
        settle(app)
        workspace.table.selectRow(0)
        settle(app)
        for width, height in SIZES:
            window.resize(width, height)
            workspace.tabs.setCurrentWidget(workspace.sign_panel)
            settle(app)
            workspace.sign_panel.ensureWidgetVisible(workspace.sign_panel.billing_box)
            settle(app)
            save(window, f"dry-needling-sign-billing-{width}x{height}.png")
        rows = workspace.preparations._rows[0][2]
        steroid = rows[1]
        steroid.container.setCurrentIndex(1)
        steroid.container.activated.emit(1)
        settle(app)
        steroid = workspace.preparations._rows[0][2][1]
        steroid.container_ml.setValue(0.5)  # smaller than the 1 mL drawn: refused in words
        settle(app)
        for width, height in SIZES:
            window.resize(width, height)
            workspace.tabs.setCurrentWidget(workspace.preparations)
            settle(app)
            steroid = workspace.preparations._rows[0][2][1]
            workspace.preparations.ensureWidgetVisible(steroid.container_ml)
            settle(app)
            save(window, f"syringe-container-{width}x{height}.png")
        window.close()

        admin = User(
            username="okafor",
            display_name="R. Okafor",
            roles=frozenset({"administrator", "physician"}),
        )
        dialog = SettingsDialog(services.as_user(admin).settings)
        dialog.show()
        dialog.tabs.setCurrentIndex(1)
        settle(app)
        save(dialog, "settings-required-to-sign.png")
        dialog.close()

    first_run = FirstRunDialog(
        lambda *_a: None,  # type: ignore[arg-type,return-value]
        save_clinic=lambda *_a: None,
        offer_demo=True,
    )
    first_run.show()
    settle(app)
    save(first_run, "first-run-try-demo.png")
    sign_in = LoginDialog(lambda *_a: None, "", offer_demo=True)
    sign_in.show()
    settle(app)
    save(sign_in, "sign-in-try-demo.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
