"""Issue 12, items 5 and 7 in the window: what is required to sign is a clinic setting (an
administrator ticks the note's fields; the Sign tab and signing follow it), and "Try the demo" on
the first-run and sign-in screens opens a separate demo database, labelled DEMO, never the
clinic's."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.signing import DEFAULT_REQUIRED, NOTE_FIELD_KEYS
from tpi_chart.domain.users import User
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.paths import demo_db_path
from tpi_chart.ui import launch
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.settings_dialog import SettingsDialog

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore("propagateSizeHints", "This plugin does not support"),
]

ADMIN = User(
    username="okafor", display_name="R. Okafor", roles=frozenset({"administrator", "physician"})
)
CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
PASSWORD = "Harbor-Lantern-5520"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("required-demo")
    QSettings().clear()
    with open_services(tmp_path / "chart.db", staff("okafor"), seed_demo_if_new=True) as opened:
        yield opened


def _required_tab(qtbot: QtBot, dialog: SettingsDialog) -> None:
    bar = dialog.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert dialog.tabs.currentIndex() == 1


def _tick(qtbot: QtBot, box: Any) -> None:
    """On the box itself, where a person clicks (a check box ignores clicks past its text)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def test_an_administrator_sets_what_is_required_and_the_sign_tab_follows(
    qtbot: QtBot, qapp: Any, services: Services
) -> None:
    dialog = SettingsDialog(services.as_user(ADMIN).settings)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    _required_tab(qtbot, dialog)
    # Every field the note prints, in its order, ticked as the defaults.
    assert list(dialog.required) == list(NOTE_FIELD_KEYS)
    assert dialog.required_keys() == DEFAULT_REQUIRED
    assert all(box.isVisible() for box in dialog.required.values())

    for key in ("tolerance", "follow_up"):
        _tick(qtbot, dialog.required[key])
    audit_before = len(services.store.audit.rows())
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    assert dialog.result() == QDialog.DialogCode.Accepted
    expected = (DEFAULT_REQUIRED - {"tolerance"}) | {"follow_up"}
    assert services.settings.required_to_sign() == expected
    assert len(services.store.audit.rows()) > audit_before  # the change is audited

    # The Sign tab reads the setting: the follow-up plan now blocks signing, tolerance does not.
    window = MainWindow(services.as_user(CHEN), CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    maria = services.patients.by_mrn("D1001")
    window.open_patient(maria.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workspace.evaluation is not None)
    text = window.workspace.sign_panel.missing.text()
    assert "Follow-up plan</a>: Not documented (<b>required</b>)" in text
    assert "Tolerance</a>: Not documented (optional)" in text

    # Back to the defaults in the dialog.
    again = SettingsDialog(services.as_user(ADMIN).settings)
    qtbot.addWidget(again)
    again.show()
    _required_tab(qtbot, again)
    assert again.required_keys() == expected
    qtbot.mouseClick(again.required_defaults, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(again.save_button, Qt.MouseButton.LeftButton)
    assert services.settings.required_to_sign() == DEFAULT_REQUIRED


def test_only_an_administrator_changes_the_requirement(qtbot: QtBot, services: Services) -> None:
    dialog = SettingsDialog(services.as_user(CHEN).settings)
    qtbot.addWidget(dialog)
    dialog.show()
    _required_tab(qtbot, dialog)
    _tick(qtbot, dialog.required["tolerance"])
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.message.isVisible()
    assert dialog.message.text()
    assert services.settings.required_to_sign() == DEFAULT_REQUIRED


def _when_modal(qtbot: QtBot, act: Callable[[QDialog], None]) -> None:
    """Run `act` on the next modal dialog once it is open (exec() blocks the test)."""

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QDialog) and dialog.isVisible():
            act(dialog)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)


def test_try_the_demo_opens_a_separate_labelled_database(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("try-demo")
    clinic = tmp_path / "clinic.db"
    opened: list[dict[str, Any]] = []

    def record(services: Services, user: User, *_built: object) -> None:
        maria = services.as_user(user).patients.by_mrn("D1001")
        opened.append(
            {
                "db": Path(services.store.path),
                "user": user.username,
                "maria": maria is not None,
                "title": QGuiApplication.applicationDisplayName(),
                "clinic": services.settings.clinic_name(),
            }
        )

    class App:
        def exec(self) -> int:
            return 0

    monkeypatch.setattr(launch, "open_window", record)
    monkeypatch.setattr(launch, "make_application", lambda: App())
    monkeypatch.setattr(launch, "show_recovery_passphrase", lambda *_a: None)

    def first_run_demo_admin(dialog: QDialog) -> None:
        dialog.username.setText("demo")
        dialog.display_name.setText("Demo Admin")
        dialog.password.setText(PASSWORD)
        dialog.confirm.setText(PASSWORD)
        dialog.physician.setChecked(True)
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)

    def choose_demo(dialog: QDialog) -> None:
        assert dialog.demo_button.isVisible()
        # the demo database's own first run follows: no "Try the demo" there
        _when_modal(qtbot, lambda second: (_no_demo_button(second), first_run_demo_admin(second)))
        qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)

    _when_modal(qtbot, choose_demo)
    try:
        code = launch.launch(argparse.Namespace(db=str(clinic), as_user=None, command=None))
    finally:
        QGuiApplication.setApplicationDisplayName(launch.APPLICATION)

    assert code == 0
    (window,) = opened
    assert window["db"] == demo_db_path()
    assert window["db"] != clinic
    assert window["maria"]  # the demo clinic's patients
    assert window["clinic"] == "Demo Pain Clinic"
    assert "DEMO" in window["title"]
    # The clinic's database is untouched: no patients, no accounts.
    with open_services(clinic, staff("okafor")) as clinic_services:
        assert clinic_services.store.is_empty()
        assert clinic_services.auth.needs_first_run()


def _no_demo_button(dialog: QDialog) -> None:
    assert not dialog.demo_button.isVisible()


def test_the_clinic_first_run_keeps_its_name_and_is_not_a_demo(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("first-run")
    # As `make_application` names it (replaced below): the first run must not relabel it DEMO.
    QGuiApplication.setApplicationDisplayName(launch.APPLICATION)
    clinic = tmp_path / "clinic.db"
    opened: list[tuple[str, str, bool]] = []

    class App:
        def exec(self) -> int:
            return 0

    monkeypatch.setattr(
        launch,
        "open_window",
        lambda services, user, *_: opened.append(
            (
                services.settings.clinic_name(),
                QGuiApplication.applicationDisplayName(),
                services.store.is_empty(),
            )
        ),
    )
    monkeypatch.setattr(launch, "make_application", lambda: App())
    monkeypatch.setattr(launch, "show_recovery_passphrase", lambda *_a: None)

    def first_run(dialog: QDialog) -> None:
        assert dialog.demo_button.isVisible()
        dialog.clinic_name.setText("Riverside Pain & Spine")
        dialog.clinic_phone.setText("(555) 010-2030")
        dialog.username.setText("okafor")
        dialog.display_name.setText("R. Okafor")
        dialog.password.setText(PASSWORD)
        dialog.confirm.setText(PASSWORD)
        qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)

    _when_modal(qtbot, first_run)
    assert launch.launch(argparse.Namespace(db=str(clinic), as_user=None, command=None)) == 0
    # Stored before the account existed (the set-up user did it), and no demo patient anywhere.
    assert opened == [("Riverside Pain & Spine", launch.APPLICATION, True)]
    assert not demo_db_path().exists()
