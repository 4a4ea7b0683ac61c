"""The window with a clinic folder: a clinic payer profile drives the History tab, Settings shows
the folder, and the About box lists every doctor check with its result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QToolBar
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.app import main as app_main
from tpi_chart.domain.catalog import load_catalog, use_catalog
from tpi_chart.domain.users import User
from tpi_chart.services.clinic import clinic_catalog
from tpi_chart.services.context import Services, open_services
from tpi_chart.ui.about_dialog import AboutDialog
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.settings_dialog import SettingsDialog
from tpi_chart.ui.style import apply_theme

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]

EXAMPLES = Path(__file__).parents[1] / "examples"
ADMIN = User(
    username="ana", display_name="Ana Admin", roles=frozenset({"administrator", "physician"})
)
ACME = {
    "id": "acme-ppo",
    "name": "Acme PPO",
    "effective": "2026-01-01",
    "source": "Acme provider manual 2026",
    "max_sessions_per_365_days": 4,
}


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "clinic"
    (folder / "payers").mkdir(parents=True)
    (folder / "payers" / "acme.json").write_text(json.dumps(ACME), encoding="utf-8")
    monkeypatch.setenv("TPI_CHART_CLINIC_DIR", str(folder))
    return folder


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("clinic folder")
    with open_services(tmp_path / "x.db", staff("ana")) as opened:
        yield opened


def _window(qtbot: QtBot, qapp: Any, services: Services) -> MainWindow:
    apply_theme(qapp)
    window = MainWindow(services, ADMIN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_the_window_uses_a_clinic_payer_profile(
    qtbot: QtBot, qapp: Any, clinic: Path, services: Services, tmp_path: Path
) -> None:
    # What the entry point does before the window opens (tpi_chart.app).
    use_catalog(clinic_catalog().catalog)
    assert "acme-ppo" in load_catalog().payers
    document = json.loads((EXAMPLES / "reference-visit.json").read_text("utf-8"))
    document["procedure"]["payer_profile"] = "acme-ppo"
    path = tmp_path / "acme-visit.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    services.documents.import_documents([path])
    maria = services.patients.by_mrn("D1001")
    assert maria is not None

    window = _window(qtbot, qapp, services)
    window.open_patient(maria.id)
    window.patients.show_history()
    qapp.processEvents()
    history = window.patients.history
    assert history.stack.currentIndex() == 1
    # Acme allows 4 sessions a year (Medicare 3): the clinic's profile is the one applied.
    assert history.sessions_value.text().endswith(" of 4")
    assert history.sessions_card.toolTip().startswith("Acme PPO\n")


def test_a_bad_clinic_folder_stops_the_window_with_a_message(
    qtbot: QtBot, clinic: Path, tmp_path: Path
) -> None:
    (clinic / "payers" / "acme.json").write_text(
        json.dumps({**ACME, "max_sessions_per_365_days": "four"}), encoding="utf-8"
    )
    seen: list[str] = []

    def read_and_close() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(50, read_and_close)
            return
        seen.append(box.text())
        box.close()

    QTimer.singleShot(50, read_and_close)
    code = app_main(["--db", str(tmp_path / "x.db")])
    assert code == 1
    (message,) = seen
    assert f"the clinic folder {clinic} has a problem" in message
    assert str(clinic / "payers" / "acme.json: max_sessions_per_365_days: ") in message
    assert not (tmp_path / "x.db").exists()  # nothing was opened or created


def test_settings_shows_the_clinic_folder(
    qtbot: QtBot, qapp: Any, clinic: Path, services: Services
) -> None:
    dialog = SettingsDialog(services.settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.clinic_folder.text() == (
        f"{clinic}: adds payer profile 'acme-ppo' (Acme PPO, effective 2026-01-01) from "
        "payers/acme.json"
    )


def test_about_lists_every_doctor_check(
    qtbot: QtBot, qapp: Any, services: Services, tmp_path: Path
) -> None:
    window = _window(qtbot, qapp, services)
    bar = window.findChild(QToolBar)
    assert bar is not None
    button = bar.widgetForAction(window.about_action)
    assert button.isVisible()  # fits the 1366 px toolbar
    opened: list[AboutDialog] = []

    def inspect() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, AboutDialog):
            QTimer.singleShot(50, inspect)
            return
        opened.append(dialog)
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
        dialog.grab().save(str(tmp_path / "about.png"))
        dialog.reject()

    QTimer.singleShot(50, inspect)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    (dialog,) = opened
    names = [dialog.table.item(row, 0).text() for row in range(dialog.table.rowCount())]
    for expected in ("Python", "Qt", "Database", "Disk encryption", "Last good backup"):
        assert expected in names
    assert names == [check.name for check in dialog.checks]
    results = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert results <= {"OK", "Needs attention", "Info"}
    copied = QGuiApplication.clipboard().text().splitlines()
    assert copied[0].startswith("TPI Chart ")
    assert len(copied) == len(dialog.checks) + 1
