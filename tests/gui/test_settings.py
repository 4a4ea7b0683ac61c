"""Clinic settings and administration from the main window: the settings dialog (driven through
its widgets, never exec()ed), who sees Settings… and Accounts…, Lock now, the note actions that
need an open procedure, and the first start opening maximized."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.context import Services, open_services
from tpi_chart.ui import launch
from tpi_chart.ui.auth.accounts_dialog import AccountsDialog
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.settings_dialog import SettingsDialog
from tpi_chart.ui.style import apply_theme

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]

ADMIN = User(
    username="okafor",
    display_name="R. Okafor",
    roles=frozenset({"administrator", "physician"}),
)
ASSISTANT = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("settings")
    QSettings().clear()  # no saved window geometry or last patient from another test
    with open_services(tmp_path / "chart.db", staff("okafor"), seed_demo_if_new=True) as opened:
        yield opened


def _dialog(qtbot: QtBot, services: Services, user: User = ADMIN) -> SettingsDialog:
    dialog = SettingsDialog(services.as_user(user).settings)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _save(qtbot: QtBot, dialog: SettingsDialog) -> None:
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)


def _shown_errors(dialog: SettingsDialog) -> dict[str, str]:
    return {field: label.text() for field, label in dialog.errors.items() if label.isVisible()}


def _audit_count(services: Services) -> int:
    return len(services.store.audit.rows())


def test_the_dialog_stores_valid_values(
    qtbot: QtBot, services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = tmp_path / "Filed notes"
    chosen.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *args: str(chosen))
    )
    dialog = _dialog(qtbot, services)
    assert dialog.clinic_name.text() == "Demo Pain Clinic"  # what is stored is shown
    assert dialog.export_folder.text() == ""  # the default folder, named in the placeholder
    assert "TPI Chart notes" in dialog.export_folder.placeholderText()
    assert (dialog.idle_lock_minutes.minimum(), dialog.idle_lock_minutes.maximum()) == (2, 15)

    dialog.clinic_name.setText("Riverside Pain & Spine")
    dialog.clinic_phone.setText("(555) 010-2030")
    qtbot.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)
    assert dialog.export_folder.text() == str(chosen)
    dialog.page_size.setCurrentIndex(dialog.page_size.findData("a4"))
    dialog.idle_lock_minutes.setValue(4)
    dialog.weight_unit.setCurrentIndex(dialog.weight_unit.findData("lb"))
    _save(qtbot, dialog)

    assert dialog.result() == QDialog.DialogCode.Accepted
    assert services.settings.clinic_name() == "Riverside Pain & Spine"
    assert services.settings.clinic_phone() == "(555) 010-2030"
    assert services.settings.export_folder() == chosen
    assert services.settings.page_size() == "a4"
    assert services.settings.idle_lock_minutes() == 4
    assert services.settings.weight_unit() == "lb"
    rows = [row for row in services.store.audit.rows() if row.entity == "setting"]
    assert {row.user for row in rows[-6:]} == {"okafor"}


def test_bad_values_show_under_their_fields_and_nothing_is_stored(
    qtbot: QtBot, qapp: Any, services: Services, tmp_path: Path
) -> None:
    apply_theme(qapp)
    before = _audit_count(services)
    dialog = _dialog(qtbot, services)
    dialog.clinic_name.setText("   ")
    dialog.clinic_phone.setText("call the front desk")
    dialog.export_folder.setText("notes/relative")
    dialog.page_size.setCurrentIndex(dialog.page_size.findData("a4"))
    _save(qtbot, dialog)

    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.isVisible()
    errors = _shown_errors(dialog)
    assert set(errors) == {"clinic_name", "clinic_phone", "export_folder"}
    assert errors["clinic_name"] == "Clinic name: give a name of 1 to 200 characters"
    assert "is not a phone number" in errors["clinic_phone"]
    assert errors["export_folder"] == "Export folder: give a full path (an absolute folder)"
    assert services.settings.clinic_name() == "Demo Pain Clinic"
    assert services.settings.page_size() == "letter"  # the good field was not stored either
    assert _audit_count(services) == before

    dialog.clinic_name.setText("Riverside Pain & Spine")
    dialog.export_folder.clear()
    _save(qtbot, dialog)  # the phone is still wrong: only its error is left
    assert set(_shown_errors(dialog)) == {"clinic_phone"}
    qapp.processEvents()  # let the layout settle before the picture
    assert dialog.grab().save(str(tmp_path / "settings.png"))

    dialog.clinic_phone.setText("555 010 2030")
    _save(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert _shown_errors(dialog) == {}
    assert services.settings.clinic_phone() == "555 010 2030"


def test_an_assistant_who_reaches_the_dialog_is_refused(qtbot: QtBot, services: Services) -> None:
    dialog = _dialog(qtbot, services, ASSISTANT)
    dialog.clinic_name.setText("Somewhere Else")
    _save(qtbot, dialog)
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.message.isVisible()
    assert "only an administrator can change the clinic settings" in dialog.message.text()
    assert services.settings.clinic_name() == "Demo Pain Clinic"


def _window(qtbot: QtBot, services: Services, user: User) -> MainWindow:
    window = MainWindow(services.as_user(user), user)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _toolbar_texts(window: MainWindow) -> list[str]:
    bar = window.findChild(QWidget, "mainToolbar")
    assert bar is not None
    return [action.text() for action in bar.actions() if action.isVisible()]


def test_an_assistant_sees_no_settings_or_accounts_actions(
    qtbot: QtBot, services: Services
) -> None:
    assistant = _window(qtbot, services, ASSISTANT)
    texts = _toolbar_texts(assistant)
    assert "Lock now" in texts
    assert "Settings…" not in texts
    assert "Accounts…" not in texts
    assert not assistant.settings_action.isEnabled()
    assert not assistant.accounts_action.isEnabled()

    admin = _window(qtbot, services, ADMIN)
    texts = _toolbar_texts(admin)
    assert "Settings…" in texts
    assert "Accounts…" in texts
    assert admin.settings_action.isEnabled()


def test_accounts_opens_the_accounts_dialog_for_the_administrator(
    qtbot: QtBot, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(AccountsDialog, "ask", classmethod(lambda cls, *args: calls.append(args)))
    window = _window(qtbot, services, ADMIN)
    window.accounts_action.trigger()
    assert calls == [(window.services.auth, ADMIN, window)]


@pytest.fixture
def launched(qtbot: QtBot, qapp: Any, services: Services) -> Iterator[Any]:
    """The window as `tpi-chart` opens it: behind the idle lock, for the administrator."""
    window = launch.open_window(services, ADMIN)
    qtbot.addWidget(window)
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: qapp.activeWindow() is window)
    yield window
    if window in launch._windows:
        launch._windows.remove(window)


def test_the_first_start_opens_maximized_and_later_starts_where_it_was(
    qtbot: QtBot, services: Services, launched: Any
) -> None:
    assert launched.isMaximized()
    launched.showNormal()
    launched.setGeometry(40, 40, 1250, 740)
    qtbot.waitUntil(lambda: not launched.isMaximized())
    launched.close()  # saves the geometry
    launch._windows.remove(launched)
    again = launch.open_window(services, ADMIN)
    qtbot.addWidget(again)
    launch._windows.remove(again)
    qtbot.waitExposed(again)
    assert not again.opens_maximized
    assert not again.isMaximized()


def test_lock_now_locks_the_window(qtbot: QtBot, launched: Any) -> None:
    assert not launched.idle_lock.is_locked
    qtbot.keyClick(launched, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert launched.idle_lock.is_locked
    assert launched.idle_lock.stack.currentWidget() is launched.idle_lock.lock_screen
    assert launched.windowTitle() == "Locked"


def test_new_idle_minutes_apply_at_once(
    qtbot: QtBot, services: Services, launched: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert launched.idle_lock.minutes == 10

    def drive(cls: type[SettingsDialog], services: Any, parent: Any) -> bool:
        dialog = cls(services.settings, parent)
        dialog.clinic_name.setText("Riverside Pain & Spine")
        dialog.idle_lock_minutes.setValue(3)
        dialog.save()
        return dialog.result() == QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "ask", classmethod(drive))
    launched.settings_action.trigger()
    assert launched.idle_lock.minutes == 3
    assert services.settings.idle_lock_minutes() == 3
    assert launched.windowTitle() == "Riverside Pain & Spine"


def test_note_actions_need_an_open_procedure(qtbot: QtBot, services: Services) -> None:
    window = _window(qtbot, services, ADMIN)
    assert not window.export_action.isEnabled()
    assert not window.handout_action.isEnabled()
    maria = services.patients.by_mrn("D1001")
    assert maria is not None
    window.open_patient(maria.id)
    assert not window.export_action.isEnabled()  # a patient, but no procedure open
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.workspace
    assert window.export_action.isEnabled()
    assert window.handout_action.isEnabled()
    qtbot.mouseClick(window.workspace.back_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.patients
    assert not window.export_action.isEnabled()
    assert not window.handout_action.isEnabled()


def test_an_administrator_sets_the_days_between_whole_file_checks(
    qtbot: QtBot, services: Services
) -> None:
    dialog = _dialog(qtbot, services)
    assert dialog.full_check_days.value() == 7  # weekly unless changed
    dialog.full_check_days.clear()
    qtbot.keyClicks(dialog.full_check_days, "30")
    _save(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert services.settings.full_check_days() == 30
    assert any(
        row.entity == "setting" and "full_check_days" in (row.after or "")
        for row in services.store.audit.rows()
    )
