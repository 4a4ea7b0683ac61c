"""The doctor's Qt checks (`tpi_chart.services.doctor` cannot load Qt): the Qt version and
platform plugin, and on request the main window itself opened on a scratch database."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from tpi_chart.services.doctor import Check


def qt_checks() -> list[Check]:
    try:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion
        from PySide6.QtGui import QGuiApplication
    except ImportError as error:
        return [Check("Qt", "attention", f"Qt cannot load: {error}")]
    checks = [Check("Qt", "ok", f"Qt {qVersion()}, PySide6 {pyside_version}")]
    app = QGuiApplication.instance()
    if app is not None:
        name = QGuiApplication.platformName()
        checks.append(Check("Qt platform plugin", "ok", name))
    return checks


def window_check() -> list[Check]:
    """Open the real main window offscreen or on screen, on a scratch database in a temporary
    folder with a throwaway administrator, show it, close it."""
    from PySide6.QtCore import QSettings

    from tpi_chart.services.context import open_services
    from tpi_chart.ui.launch import make_application, open_window

    app = make_application()
    with tempfile.TemporaryDirectory(prefix="tpi-chart-doctor-") as scratch:
        # The window remembers its geometry and last patient: keep that in the scratch folder.
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, scratch)
        services = open_services(Path(scratch) / "scratch.db")  # nobody signed in yet, as at start
        try:
            user = services.auth.create_first_administrator(
                "doctor", "Doctor check", "doctor-check-passphrase-1", physician=False
            )
            window = open_window(services, user)
            app.processEvents()
            shown = window.isVisible()
            size = window.size()
            window.close()
            app.processEvents()
        finally:
            services.close()
    platform_name = app.platformName()
    if not shown:
        return [Check("Window", "attention", f"the main window did not show ({platform_name})")]
    return [
        Check(
            "Window",
            "ok",
            f"main window opened ({size.width()}×{size.height()}, {platform_name}) and closed",
        )
    ]


def sources(include_window: bool) -> Iterable[Callable[[], Iterable[Check]]]:
    return (qt_checks, window_check) if include_window else (qt_checks,)
