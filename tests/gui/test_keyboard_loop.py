"""Issue 13, item 8: the whole charting loop by keyboard alone, every key sent where the keyboard
is (the focused widget of the active window): find the patient, open today's visit, add a site by
name, pain before, the time-out, inject every site with volume and twitch, pain after (10 typed as
"1" "0"), then Ctrl+G walks to each thing that still blocks signing until the Sign button has the
focus; Ctrl+Enter signs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLineEdit
from pytestqt.qtbot import QtBot

from tests.accounts import signing_physician
from tests.users import staff
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.style import apply_theme
from tpi_chart.ui.workspace.widgets import NrsRow

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore("propagateSizeHints", "This plugin does not support"),
]

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("keyboard-loop")
    QSettings().clear()
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _press(qtbot: QtBot, key: Any, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, modifier)


def _type(qtbot: QtBot, text: str) -> None:
    for character in text:
        _press(qtbot, character)


def _back_to(qtbot: QtBot, window: MainWindow) -> None:
    """The offscreen platform does not hand activation back when an overlay closes."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


def _todays_visit_by_keyboard(qtbot: QtBot, qapp: Any, services: Any) -> MainWindow:
    """Dr. Chen's window at 1366×768, Maria Lopez's planned visit opened by keys alone."""
    apply_theme(qapp)
    chen = signing_physician(services)  # signed in: the signing key is unlocked
    window = MainWindow(services.as_user(chen), chen)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.focus_start()
    _press(qtbot, Qt.Key.Key_F, CTRL)
    _type(qtbot, "lopez")
    qtbot.waitUntil(lambda: window.patients.results.count() == 1)
    _press(qtbot, Qt.Key.Key_Return)  # the patient
    _press(qtbot, Qt.Key.Key_Return)  # today's planned visit
    return window


def test_the_charting_loop_by_keyboard_alone(qtbot: QtBot, qapp: Any, services: Any) -> None:
    window = _todays_visit_by_keyboard(qtbot, qapp, services)
    workspace = window.workspace
    assert window.stack.currentWidget() is workspace
    procedure_id = workspace.document.procedure_id

    def stored() -> Any:
        return services.charting.get(procedure_id).procedure

    def sites() -> list[Any]:
        return [s.site for s in services.charting.sites(procedure_id)]

    qtbot.waitUntil(lambda: QApplication.focusWidget() is workspace)
    planned = len(sites())

    # A seventh site, by name: A, type, Enter.
    _press(qtbot, "A")
    picker = workspace.picker
    assert picker is not None
    qtbot.waitUntil(lambda: QApplication.activeWindow() is picker)
    _type(qtbot, "splenius capitis")
    _press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not picker.isVisible())
    _back_to(qtbot, window)
    assert len(sites()) == planned + 1
    added = sites()[-1]
    assert (added.muscle, added.state) == ("splenius_capitis", "planned")
    assert added.view is not None  # drawn on the diagram where the muscle is

    # Pain before: P, then the digit.
    workspace.setFocus()
    _press(qtbot, "P")
    assert isinstance(QApplication.focusWidget(), NrsRow)
    _press(qtbot, Qt.Key.Key_7)
    assert stored().pain_before == 7
    assert workspace.pain_before.buttons[7].isChecked()
    _press(qtbot, Qt.Key.Key_Left)  # the arrows step
    assert stored().pain_before == 6

    # The time-out overlay, confirmed with one key.
    _press(qtbot, Qt.Key.Key_T, CTRL)
    dialog = workspace.time_out_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
    _press(qtbot, Qt.Key.Key_Y)
    qtbot.waitUntil(lambda: workspace.time_out_dialog is None)
    _back_to(qtbot, window)
    assert stored().time_out is not None

    # Every planned site: volume preset, then the twitch key injects and moves on.
    workspace.setFocus()
    _press(qtbot, "J")
    for _ in range(len(sites())):
        _press(qtbot, Qt.Key.Key_K)  # to the first site
    for index in range(len(sites())):
        _press(qtbot, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
        _press(qtbot, (Qt.Key.Key_N, Qt.Key.Key_W, Qt.Key.Key_B)[index % 3])
    assert all(site.state == "injected" for site in sites())

    # Pain after 10: "1" then "0".
    _press(qtbot, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is workspace.pain_after
    _press(qtbot, Qt.Key.Key_1)
    _press(qtbot, Qt.Key.Key_0)
    assert stored().pain_after == 10
    assert stored().pain_before == 6  # the digits went to the row, not to the twitch keys

    # Ctrl+G: to each thing that still blocks signing, until the Sign button.
    for _ in range(12):
        _press(qtbot, Qt.Key.Key_G, CTRL)
        focus = QApplication.focusWidget()
        if focus is workspace.sign_panel.sign_button:
            break
        if isinstance(focus, QCheckBox):  # complications: None
            assert focus is workspace.outcome.no_complications
            _press(qtbot, Qt.Key.Key_Space)
        elif isinstance(focus, QComboBox):
            _press(qtbot, Qt.Key.Key_Down)
        elif isinstance(focus, QLineEdit):  # the reason for an open warning
            _type(qtbot, "reviewed, benefit outweighs risk")
        else:
            pytest.fail(f"Ctrl+G went to {type(focus).__name__} {focus.objectName()!r}")
    assert QApplication.focusWidget() is workspace.sign_panel.sign_button
    procedure = stored()
    assert procedure.complications == ()
    assert procedure.tolerance is not None
    assert workspace.sign_panel.missing.text().startswith("✓ Everything required is recorded")
    assert workspace.sign_panel.sign_button.isEnabled()
    _press(qtbot, Qt.Key.Key_Return, CTRL)  # sign
    qtbot.waitUntil(lambda: stored().status == "signed")


def test_texts_longer_than_their_fields_show_their_first_words(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    """The demo visit's indication is longer than its field at 1366×768; it showed its end
    (":cial pain with palpable trigger points…"), the cursor left there by setting the text."""
    workspace = _todays_visit_by_keyboard(qtbot, qapp, services).workspace
    indication = workspace.indication.indication
    location = workspace.editor.location
    for field in (indication, location):
        assert field.fontMetrics().horizontalAdvance(field.text()) > field.width()
        assert field.cursorPosition() == 0
