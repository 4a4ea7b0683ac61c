"""Open the window: QApplication, theme, services (demo clinic on first run), login, main window.

A database that cannot be opened is reported in a plain message box and the app exits with 1;
never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from tpi_chart import __version__
from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.services.errors import StorageError
from tpi_chart.ui.style import apply_theme
from tpi_chart.ui.workspace.session import user_from

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
    return app


def login(services: Any, name: str | None) -> User | None:
    """Sign in with the login dialog (first run: create the administrator) once the services
    carry an auth service; until then the OS login (or --user) charts as clinician.

    Returns None when the person cancelled."""
    auth = getattr(services, "auth", None)
    if auth is None:
        return user_from(getattr(services, "user", None), name)
    from tpi_chart.ui.auth.first_run_dialog import FirstRunDialog
    from tpi_chart.ui.auth.login_dialog import LoginDialog

    if auth.needs_first_run():
        return FirstRunDialog.ask(
            lambda username, display, password, physician: auth.create_first_administrator(
                username, display, password, physician=physician
            )
        )
    return LoginDialog.ask(auth.login, name or "")


def _fail(title: str, message: str) -> int:
    box = QMessageBox(QMessageBox.Icon.Critical, title, message)
    box.setInformativeText("Nothing was changed. Close this message to quit.")
    box.exec()
    return 1


def launch(args: argparse.Namespace) -> int:
    app = make_application()
    db = getattr(args, "db", None)
    user_name = getattr(args, "user", None)
    try:
        services = open_services(Path(db) if db else None, user_name, seed_demo_if_new=True)
    except StorageError as error:
        return _fail("The database cannot be opened", str(error))
    except (DomainError, OSError) as error:
        return _fail("TPI Chart cannot start", str(error))
    try:
        user = login(services, user_name)
        if user is None:
            return 0
        from tpi_chart.ui.main_window import MainWindow

        window = MainWindow(services, user)
        _install_idle_lock(window, services, user)
        window.restore_last()
        window.show()
        return int(app.exec())
    finally:
        services.close()


def _install_idle_lock(window: Any, services: Any, user: User) -> None:
    """Lock the window after the clinic's idle minutes, once accounts (auth) are installed."""
    auth = getattr(services, "auth", None)
    if auth is None:
        return
    from tpi_chart.ui.auth.lock import IdleLock

    window.idle_lock = IdleLock(
        window, auth.login, minutes=services.settings.idle_lock_minutes(), user=user
    )
