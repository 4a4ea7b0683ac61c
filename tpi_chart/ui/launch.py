"""Open the window: QApplication, theme, services, login, main window. A new database starts
empty (first run: the administrator and the clinic); `--demo` opens the separate demo database.

A database that cannot be opened is reported in a plain message box and the app exits with 1;
never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from tpi_chart import __version__
from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.users import User
from tpi_chart.services.clinic_setup import set_up_clinic
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.errors import StorageError
from tpi_chart.services.integrity import ClinicStore
from tpi_chart.services.paths import demo_db_path
from tpi_chart.ui.style import apply_theme
from tpi_chart.ui.wheel_guard import install_wheel_guard

log = logging.getLogger(__name__)

ORGANIZATION = "TPI Chart"
APPLICATION = "TPI Chart"


def make_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(argv if argv is not None else sys.argv[:1])
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setApplicationDisplayName(APPLICATION)
    apply_theme(app)
    install_wheel_guard(app)
    return app


#: What `login` returns when the person pressed "Try the demo" instead of signing in.
TRY_DEMO = "demo"


def login(services: Services, name: str | None, *, offer_demo: bool = False) -> User | str | None:
    """Sign in (on the very first run: create the administrator). None when the person
    cancelled; `TRY_DEMO` when they chose the demo (offered with `offer_demo`)."""
    from tpi_chart.ui.auth.first_run_dialog import FirstRunDialog
    from tpi_chart.ui.auth.login_dialog import LoginDialog

    auth = services.auth
    dialog: FirstRunDialog | LoginDialog
    if auth.needs_first_run():
        dialog = FirstRunDialog(
            auth,
            save_clinic=lambda name, phone: set_up_clinic(services, name, phone),
            offer_demo=offer_demo,
        )
    else:
        dialog = LoginDialog(auth, name or "", offer_demo=offer_demo)
    accepted = dialog.exec() == dialog.DialogCode.Accepted
    if dialog.demo_requested:
        return TRY_DEMO
    user = dialog.user if accepted else None
    if user is not None:
        show_recovery_passphrase(services, user)
    return user


def label_demo() -> None:
    """Every window title says DEMO (Qt appends the display name to each title)."""
    QGuiApplication.setApplicationDisplayName(f"{APPLICATION} — DEMO")


def open_demo(db: Path | None = None) -> Services:
    """The demo clinic's own database (created and seeded when new), never the clinic's: the
    demo's fake patients and signed notes must not mix with real ones."""
    label_demo()
    return open_services(db or demo_db_path(), seed_demo_if_new=True, exclusive=True)


def show_recovery_passphrase(services: Services, user: User) -> None:
    """Once, after the sign-in that created the clinic's signing authority."""
    from tpi_chart.ui.auth.recovery_dialog import RecoveryPassphraseDialog

    passphrase = services.authority.take_recovery_passphrase(user)
    if passphrase is not None:
        RecoveryPassphraseDialog.show_once(passphrase)


def _fail(title: str, message: str) -> int:
    box = QMessageBox(QMessageBox.Icon.Critical, title, message)
    box.setInformativeText("Nothing was changed. Close this message to quit.")
    box.exec()
    return 1


def launch(args: argparse.Namespace, log: Path | None = None) -> int:
    app = make_application()
    if log is not None:
        from tpi_chart.ui import crash

        crash.install(log)
    clinic_problems = getattr(args, "clinic_problems", None)
    if clinic_problems:
        return _fail("TPI Chart cannot start", "\n".join(clinic_problems))
    db = getattr(args, "db", None)
    user_name = getattr(args, "as_user", None)  # pre-fills the sign-in
    demo = bool(getattr(args, "demo", False))
    try:
        if demo:
            services = open_demo(Path(db) if db else None)
        else:
            services = open_services(db or None, exclusive=True)  # a file, or postgresql://…
    except StorageError as error:
        return _fail("The database cannot be opened", str(error))
    except (DomainError, OSError) as error:
        return _fail("TPI Chart cannot start", str(error))
    services.room = getattr(args, "room", None)
    try:
        user = login(services, user_name, offer_demo=not demo)
        if user == TRY_DEMO:
            services.close()
            try:
                services = open_demo()
            except StorageError as error:
                return _fail("The demo database cannot be opened", str(error))
            except (DomainError, OSError) as error:
                return _fail("TPI Chart cannot start the demo", str(error))
            user = login(services, None)
        if not isinstance(user, User):
            return 0
        open_window(services, user)
        return int(app.exec())
    finally:
        services.close()


_windows: list[Any] = []  # the open main window; Qt does not own top-level windows


def open_window(services: Services, user: User) -> Any:
    """The main window for `user`, every change audited under their name, behind the idle lock.
    When someone else unlocks the workstation they get a window of their own on the same record
    (everything was already saved), and the previous person's window closes."""
    from tpi_chart.ui.auth.lock import IdleLock
    from tpi_chart.ui.main_window import MainWindow

    window = MainWindow(services.as_user(user), user)
    window.idle_lock = IdleLock(
        window, services.auth, minutes=services.settings.idle_lock_minutes(), user=user
    )

    def hand_over(new_user: User) -> None:
        successor = open_window(services, new_user)
        _windows.remove(window)
        window.close()
        if successor.workspace_built():
            # Closing let the procedure's lease go (the same workstation holds it for both
            # windows): the successor takes it back now, not at its next heartbeat.
            successor.workspace.lease.check()

    window.idle_lock.user_changed.connect(hand_over)
    window.idle_lock.locked.connect(lambda: services.auth.record_lock(user))
    if services.session is not None:  # ended by an administrator: locked at the next save
        services.session.on_ended = lambda: QTimer.singleShot(0, window.idle_lock.lock)
    window.restore_last()
    if window.restored_geometry:
        window.show()
    else:  # the first start on this computer: use the whole screen
        window.showMaximized()
    # After the sign-in dialog closes, typing goes straight to the window: into the patient
    # search, or the workspace when the last procedure was reopened.
    window.activateWindow()
    window.focus_start()
    _windows.append(window)
    if isinstance(services.store, ClinicStore):
        from tpi_chart.ui.background_check import BackgroundCheck

        window.background_check = BackgroundCheck(window, services.store)
        window.background_check.start_when_idle()
    return window
