"""A click costs one write (issue 15 item 3), counted through the real window: a click on the
diagram and a twitch key, from the input event until the table, the marker, "Saved", the rules
panel and the forms show the change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from tests.gui.test_fast_paths import CHEN, _click_muscle, _open_maria, _window
from tests.users import staff
from tpi_chart.services.context import open_services

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("click-sql")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


@contextmanager
def counted(window: Any) -> Iterator[list[str]]:
    """Statements the window's connection runs; the subprograms SQLite reports for a statement
    (its triggers, `-- …`) are part of that one statement."""
    traced: list[str] = []
    statements: list[str] = []
    conn = window.services.store.conn
    conn.set_trace_callback(traced.append)
    try:
        yield statements
    finally:
        conn.set_trace_callback(None)
        for text in traced:
            if not text.startswith("-- ") and (not statements or statements[-1] != text):
                statements.append(text)


def _writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]


def test_a_diagram_click_and_a_twitch_key_cost_one_write_each(qtbot: QtBot, services: Any) -> None:
    window = _window(qtbot, services)
    _open_maria(window, services)
    workspace = window.workspace
    assert CHEN.username == workspace.user.username
    qtbot.keyClick(workspace, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(workspace.time_out_dialog, Qt.Key.Key_Y)
    qtbot.waitUntil(lambda: not workspace.panels_pending())

    with counted(window) as click:
        _click_muscle(qtbot, window, "lower_trapezius", "left")
        qtbot.waitUntil(lambda: not workspace.panels_pending())
    assert workspace.model.rowCount() == 7
    # One site row and its audit row, nothing read back: BEGIN, INSERT, audit tail, audit row,
    # COMMIT, and the audit anchor's size after the commit.
    assert len(click) <= 6, "\n".join(s[:80] for s in click)
    assert [s.split()[2] for s in _writes(click)] == ["sites", "audit"]

    workspace.select_site(workspace.document.sites[0].id)
    with counted(window) as key:
        qtbot.keyClick(workspace, Qt.Key.Key_B)
        qtbot.waitUntil(lambda: not workspace.panels_pending())
    assert workspace.document.sites[0].site.twitch == "brisk"
    assert len(key) <= 8, "\n".join(s[:80] for s in key)
    assert [s.split()[1] for s in _writes(key)] == [
        "sites",
        "INTO",
    ]  # UPDATE sites, INSERT INTO audit
