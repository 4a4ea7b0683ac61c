"""Qt's own messages go to the app's log (ui.crash), except a platform plugin's notices that it
lacks a window feature, which some platforms give for every window shown."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, QtMsgType

from tpi_chart.ui.crash import _qt_message


def test_qt_s_messages_are_logged_but_not_a_platform_s_feature_notices(log_file: Path) -> None:
    context = QMessageLogContext()
    _qt_message(QtMsgType.QtWarningMsg, context, "This plugin does not support raise()")
    _qt_message(QtMsgType.QtWarningMsg, context, "QPainter::begin: Paint device returned 0")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text()
    assert "WARNING qt: QPainter::begin: Paint device returned 0" in text
    assert "does not support" not in text
