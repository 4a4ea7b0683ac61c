"""Open the window: QApplication, theme, services, login, main window. A new database starts
empty (first run: the administrator and the clinic); `--demo` opens the separate demo database.

A clinic that has been used before shows its sign-in dialog first, before the rest of the app is
imported (`ui.background_import` imports it while the person types), so the first paint comes at
about the speed of a bare window; this module imports Qt and little else for that reason. The
clinic is opened once the imports are done; a sign-in pressed before waits for it.

A database that cannot be opened is reported in a plain message box and the app exits with 1;
never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore
from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from tpi_chart import __version__
from tpi_chart.services.paths import demo_db_path, is_server_url, resolve_database
from tpi_chart.ui.style import STYLE_ARGUMENTS, apply_theme

if TYPE_CHECKING:
    from tpi_chart.domain.users import User
    from tpi_chart.services.context import Services
    from tpi_chart.ui.auth.login_dialog import LoginDialog
    from tpi_chart.ui.main_window import MainWindow
    from tpi_chart.ui.prebuild import WindowPrebuild

log = logging.getLogger(__name__)

ORGANIZATION = "TPI Chart"
APPLICATION = "TPI Chart"


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication, named and themed. The wheel guard is installed by `launch` once the
    sign-in dialog is painted (`guard_the_wheel`), and by the main window."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app, style_chosen = existing, False
    else:
        # Fractional screen scales (125 %, 150 %) are used as they are, not rounded: Qt 6's
        # default (PassThrough), left alone here. Naming it would cost the sign-in's first paint
        # PySide6's `Qt` namespace, every enum of it built at once (26 ms here); tested.
        app = QApplication([*(argv if argv is not None else sys.argv[:1]), *STYLE_ARGUMENTS])
        style_chosen = True
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setApplicationDisplayName(APPLICATION)
    apply_theme(app, style_chosen=style_chosen)
    return app


def guard_the_wheel() -> None:
    """The wheel guard (`ui.wheel_guard`); again: nothing more. Its filters see every event of
    every window, and the first events a Python filter is handed build their PySide6 classes
    (QEvent and its kin, 4 ms on the sign-in's first paint); no wheel can turn anything before
    the first window is painted."""
    from tpi_chart.ui.wheel_guard import install_wheel_guard

    app = QCoreApplication.instance()
    if app is not None:
        install_wheel_guard(app)


#: What `login` returns when the person pressed "Try the demo" instead of signing in.
TRY_DEMO = "demo"


#: What the sign-in and the window need, imported while the sign-in dialog is on screen
#: (tests/gui/test_sign_in_first.py checks that the way to the window imports nothing more of
#: the app, of pydantic or of cryptography).
AFTER_SIGN_IN = (
    "tpi_chart.services.clinic",
    "tpi_chart.services.context",
    "tpi_chart.services.clinic_setup",
    "tpi_chart.services.integrity",
    "tpi_chart.services.auth",
    "tpi_chart.services.backup",
    "tpi_chart.services.sealed_backup",
    # the account key's unwrap at sign-in (services.crypto imports these where it uses them)
    "cryptography.exceptions",
    "cryptography.hazmat.primitives.ciphers.aead",
    "cryptography.hazmat.primitives.serialization",
    "cryptography.hazmat.primitives.asymmetric.x25519",
    "cryptography.hazmat.primitives.kdf.hkdf",
    "cryptography.hazmat.backends.openssl.backend",
    "tpi_chart.ui.plain_errors",
    "tpi_chart.ui.tasks",
    "tpi_chart.ui.auth.first_run_dialog",
    "tpi_chart.ui.auth.recovery_dialog",
    "tpi_chart.ui.auth.lock",
    "tpi_chart.ui.main_window",
    "tpi_chart.ui.background_check",
    "tpi_chart.ui.qt_warmup",
    "tpi_chart.ui.prebuild",
)
#: ... and when the window reopens the last procedure.
WORKSPACE = ("tpi_chart.ui.workspace.page",)


def login(
    services: Services,
    name: str | None,
    *,
    demo: bool = False,
    shown: LoginDialog | None = None,
    prebuild: WindowPrebuild | None = None,
) -> User | str | None:
    """Sign in (on the very first run: create the administrator). None when the person
    cancelled; `TRY_DEMO` when they chose the demo (offered unless `demo`: this is the demo
    clinic, which the dialog says). `shown` is the sign-in dialog put on screen before the
    clinic was open (it may hold a sign-in pressed meanwhile, which goes ahead now). While
    the person types, `prebuild` builds the window (`ui.prebuild`), bound to nobody."""
    from tpi_chart.services.clinic_setup import set_up_clinic
    from tpi_chart.ui.auth.first_run_dialog import FirstRunDialog
    from tpi_chart.ui.auth.login_dialog import LoginDialog

    auth = services.auth
    dialog: FirstRunDialog | LoginDialog
    if auth.needs_first_run():
        if shown is not None:  # the file was there, but nobody was ever added to it
            shown.sign_in.cancel()
            shown.hide()
            shown.deleteLater()
        dialog = FirstRunDialog(
            auth,
            save_clinic=lambda name, phone: set_up_clinic(services, name, phone),
            offer_demo=not demo,
        )
    elif shown is not None:
        dialog = shown
        shown.attach(auth)
    else:
        dialog = LoginDialog(auth, name or "", offer_demo=not demo, demo=demo)
    from tpi_chart.ui.qt_warmup import warm_up

    QTimer.singleShot(0, warm_up)  # while the person types (the dialog's loop runs it)
    if prebuild is not None and isinstance(dialog, LoginDialog):  # not for a clinic's first run
        prebuild.start()
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
    from tpi_chart.services.context import open_services

    label_demo()
    return open_services(db or demo_db_path(), seed_demo_if_new=True, exclusive=True)


def show_recovery_passphrase(services: Services, user: User) -> None:
    """Once, after the sign-in that created the clinic's signing authority."""
    from tpi_chart.ui.auth.recovery_dialog import RecoveryPassphraseDialog

    passphrase = services.authority.take_recovery_passphrase(user)
    if passphrase is not None:
        RecoveryPassphraseDialog.show_once(passphrase)


def _fail(title: str, message: str) -> int:
    from PySide6.QtWidgets import QMessageBox  # its class and enums: 1.5 ms before a paint

    box = QMessageBox(QMessageBox.Icon.Critical, title, message)
    box.setInformativeText("Nothing was changed. Close this message to quit.")
    box.exec()
    return 1


def launch(
    args: argparse.Namespace,
    log: Path | None = None,
    check_clinic: Callable[[], list[str]] | None = None,
) -> int:
    """Run the window until it closes. `check_clinic` puts the clinic folder's catalog in force
    and returns its problems (run once the app is imported: it needs the catalog's models); a
    caller without one may give the problems as `args.clinic_problems`."""
    app = make_application()
    if log is not None:
        from tpi_chart.ui import crash

        crash.install(log)
    db = getattr(args, "db", None)
    user_name = getattr(args, "as_user", None)  # pre-fills the sign-in
    demo = bool(getattr(args, "demo", False))
    demo_file = None
    if demo:
        label_demo()  # the sign-in dialog, painted next, already says DEMO
        demo_file = Path(db) if db else demo_db_path()
        db = str(demo_file)
    shown = _sign_in_first(db, user_name, demo=demo)
    guard_the_wheel()  # when the sign-in dialog was painted, it is there already
    problems = (
        check_clinic() if check_clinic is not None else getattr(args, "clinic_problems", None)
    )
    if problems:
        if shown is not None:
            shown.hide()
        return _fail("TPI Chart cannot start", "\n".join(problems))
    if shown is not None and not shown.isVisible():  # closed while the app was loading
        return _demo_session(app) if shown.demo_requested else 0
    from tpi_chart.services.context import open_services

    services = _opened(
        (lambda: open_demo(demo_file))
        if demo
        else (lambda: open_services(db or None, exclusive=True)),  # a file, or postgresql://…
        "The database cannot be opened",
        "TPI Chart cannot start",
        replacing=shown,
    )
    if services is None:
        return 1
    services.room = getattr(args, "room", None)
    return _session(
        app,
        services,
        lambda prebuild: login(services, user_name, demo=demo, shown=shown, prebuild=prebuild),
    )


def _sign_in_first(db: str | None, user_name: str | None, *, demo: bool) -> LoginDialog | None:
    """A clinic used before (its file is there, or it is on a server), the demo's included:
    the sign-in dialog is put on screen now and the rest of the app imported while the person
    types; returns when that is done (the dialog still open, or closed by the person
    meanwhile). None for a new clinic, which starts with the first-run dialog once the app is
    imported."""
    from tpi_chart.ui.auth.login_dialog import LoginDialog

    try:
        clinic = resolve_database(db)
    except Exception:  # opening the clinic reports it, in words
        return None
    if not (is_server_url(str(clinic)) or Path(clinic).is_file()):
        return None
    dialog = LoginDialog(None, user_name or "", offer_demo=not demo, demo=demo)
    dialog.setModal(True)
    dialog.show()
    QCoreApplication.processEvents()  # painted before the import takes its share of the CPU
    guard_the_wheel()
    # PySide6 builds its `Qt` namespace (every enum of it, 26 ms) the first time it is named:
    # here, on this thread, after the paint and before the import's thread, whose modules name
    # it; two threads building the same lazy PySide6 enum could leave two classes whose members
    # never compare equal.
    QtCore.Qt  # noqa: B018
    # Imported after the paint as well: naming QEventLoop and QSettings builds their classes.
    from tpi_chart.ui.background_import import BackgroundImport
    from tpi_chart.ui.last_session import procedure_remembered

    modules = AFTER_SIGN_IN + (WORKSPACE if procedure_remembered() else ())
    loading = BackgroundImport(modules, dialog, then=(_read_the_diagram,))
    loading.start()
    loading.wait(dialog)
    return dialog


def _read_the_diagram() -> None:
    """The body diagram (11 ms of JSON and paths, cached for the process), read while the
    person types: the workspace draws it whenever a visit opens."""
    from tpi_chart.domain.diagram import load_diagram

    load_diagram()


def _opened(
    open_clinic: Callable[[], Services],
    cannot_open: str,
    cannot_start: str,
    replacing: QWidget | None = None,
) -> Services | None:
    """The services of a clinic, or None after telling the person why it cannot be opened (the
    message replaces `replacing`, the sign-in dialog shown while the clinic was opened)."""
    from tpi_chart.domain.errors import DomainError
    from tpi_chart.services.errors import StorageError

    try:
        return open_clinic()
    except StorageError as error:
        title, message = cannot_open, str(error)
    except (DomainError, OSError) as error:
        title, message = cannot_start, str(error)
    if replacing is not None:
        replacing.hide()
    _fail(title, message)
    return None


def _demo_session(app: QApplication) -> int:
    services = _opened(
        open_demo, "The demo database cannot be opened", "TPI Chart cannot start the demo"
    )
    if services is None:
        return 1
    return _session(
        app, services, lambda prebuild: login(services, None, demo=True, prebuild=prebuild)
    )


def _session(
    app: QApplication,
    services: Services,
    sign_in: Callable[[WindowPrebuild], User | str | None],
) -> int:
    """Sign in to `services` and run the window; the services are closed when it is done (or
    when the person chose the demo instead, before the demo's are opened)."""
    from tpi_chart.domain.users import User
    from tpi_chart.ui.prebuild import WindowPrebuild

    closed = False
    prebuild = WindowPrebuild()
    try:
        user = sign_in(prebuild)
        if not isinstance(user, User):
            prebuild.discard()
            if user == TRY_DEMO:
                services.close()
                closed = True
                return _demo_session(app)
            return 0
        open_window(services, user, prebuild.take())
        return int(app.exec())
    finally:
        if not closed:
            services.close()


_windows: list[Any] = []  # the open main window; Qt does not own top-level windows


def open_window(services: Services, user: User, built: MainWindow | None = None) -> Any:
    """The main window for `user`, every change audited under their name, behind the idle lock
    (`built`: a window built unbound while they typed, `ui.prebuild`). When someone else
    unlocks the workstation they get a window of their own on the same record (everything was
    already saved), and the previous person's window closes."""
    from tpi_chart.ui import window_geometry
    from tpi_chart.ui.auth.lock import IdleLock
    from tpi_chart.ui.main_window import MainWindow

    window = built if built is not None else MainWindow()
    window.bind(services.as_user(user), user)
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
    window_geometry.show_as_restored(window, window.opens_maximized)
    # After the sign-in dialog closes, typing goes straight to the window: into the patient
    # search, or the workspace when the last procedure was reopened.
    window.activateWindow()
    window.focus_start()
    _windows.append(window)
    from tpi_chart.services.integrity import ClinicStore

    if isinstance(services.store, ClinicStore):
        from tpi_chart.ui.background_check import BackgroundCheck

        window.background_check = BackgroundCheck(window, services.store)
        window.background_check.start_when_idle()
    return window
