"""What the person sees when something unexpected happens, and where Qt's own messages go.

The window catches only the errors it expects (bad input, refusals, storage problems it can
name); anything else reaches `sys.excepthook` (tpi_chart.logs), which logs the stack without the
message and calls `show_crash`. Every change was committed before the screen said "Saved", so
the dialog can say truthfully that saved work is safe.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

from tpi_chart import logs

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
_showing = False


def crash_text(kind: type[BaseException], log: Path) -> str:
    return (
        f"TPI Chart met an unexpected problem ({kind.__qualname__}) and could not finish what "
        "you asked.\n\nEverything the window showed as “Saved” is safely stored. Check the last "
        "change you made; if the window stops responding, close and reopen TPI Chart.\n\n"
        f"The details (without any patient data) are in:\n{log}"
    )


def show_crash(kind: type[BaseException], _error: BaseException, log: Path) -> None:
    global _showing
    if _showing or QApplication.instance() is None:
        return  # one dialog at a time: an error raised while it is open is only logged
    _showing = True
    try:
        box = QMessageBox(QMessageBox.Icon.Critical, "TPI Chart — unexpected problem", "")
        box.setText(crash_text(kind, log))
        box.exec()
    finally:
        _showing = False


#: A platform plugin saying it lacks a window feature ("This plugin does not support
#: propagateSizeHints()"): said by some platforms (offscreen, some Wayland compositors) for every
#: window shown, and of no use in the clinic's log.
PLATFORM_NOTICE = "This plugin does not support"


def _qt_message(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    if message.startswith(PLATFORM_NOTICE):
        return
    # Qt's messages are about widgets and plugins, not patients; long ones are cut.
    logging.getLogger("qt").log(
        _QT_LEVELS.get(kind, logging.WARNING), "%s", logs.Safe(message[:300])
    )


def route_qt_messages() -> None:
    qInstallMessageHandler(_qt_message)


def install(log: Path) -> None:
    logs.install_excepthook(log, show_crash)
    route_qt_messages()
