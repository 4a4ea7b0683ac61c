"""Issue 13, layout and accessibility: every text/background colour pair of the theme reaches
WCAG AA (4.5:1); the dose bar draws no text over its chunk; every control in the window has an
accessible name; the Keys help is an overlay that truncates nothing; the charting loop works by
keyboard alone; the focused control is visibly marked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui import style
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.style import apply_theme
from tpi_chart.ui.workspace.site_model import COLUMNS

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
AA = 4.5


def _luminance(colour: str) -> float:
    rgb = QColor(colour)
    assert rgb.isValid(), colour

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(rgb.red()) + 0.7152 * channel(rgb.green()) + 0.0722 * channel(rgb.blue())
    )


def contrast(ink: str, paper: str) -> float:
    a, b = sorted((_luminance(ink), _luminance(paper)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_contrast_formula_matches_wcag_examples() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def stylesheet_pairs() -> list[tuple[str, str, str]]:
    """(selector, text colour, background) for every rule of the theme that sets a text or a
    background colour. A rule with only a text colour is checked on every surface of the theme;
    one with only a background, with the inherited ink. Disabled controls are exempt (WCAG 1.4.3
    "inactive user interface components"); sub-controls that carry no text are skipped."""
    surfaces = (style.CARD, style.PAPER, style.FACT_BG)
    pairs: list[tuple[str, str, str]] = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", style.STYLESHEET):
        selector = " ".join(selectors.split())
        if ":disabled" in selector:
            continue
        if re.search(r"::(chunk|up-button|down-button|up-arrow|down-arrow|indicator)", selector):
            continue
        props = dict(re.findall(r"([a-z-]+)\s*:\s*([^;]+);", body))
        ink = props.get("color")
        paper = props.get("background")
        if ink and paper:
            pairs.append((selector, ink.strip(), paper.strip()))
        elif ink:
            pairs.extend((selector, ink.strip(), surface) for surface in surfaces)
        elif paper:
            pairs.append((selector, style.INK, paper.strip()))
        selection = props.get("selection-color"), props.get("selection-background-color")
        if all(selection):
            pairs.append((f"{selector} (selected)", selection[0].strip(), selection[1].strip()))  # type: ignore[union-attr]
    return pairs


def test_every_stylesheet_colour_pair_reaches_aa() -> None:
    pairs = stylesheet_pairs()
    assert len(pairs) > 20
    failing = [
        (selector, ink, paper, round(contrast(ink, paper), 2))
        for selector, ink, paper in pairs
        if contrast(ink, paper) < AA
    ]
    assert failing == []


def test_every_palette_text_pair_reaches_aa(qapp: Any) -> None:
    apply_theme(qapp)
    palette = qapp.palette()
    role = QPalette.ColorRole
    for text, background in (
        (role.WindowText, role.Window),
        (role.Text, role.Base),
        (role.Text, role.AlternateBase),
        (role.ButtonText, role.Button),
        (role.HighlightedText, role.Highlight),
        (role.ToolTipText, role.ToolTipBase),
        (role.PlaceholderText, role.Base),
    ):
        ink, paper = palette.color(text).name(), palette.color(background).name()
        assert contrast(ink, paper) >= AA, (text, ink, paper)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("layout-a11y")
    QSettings().clear()
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _window(qtbot: QtBot, qapp: Any, services: Any, size: tuple[int, int]) -> MainWindow:
    apply_theme(qapp)
    window = MainWindow(services, CHEN)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    maria = services.patients.by_mrn("D1001")
    window.open_patient(maria.id)
    qtbot.mouseClick(window.patients.primary_button, Qt.MouseButton.LeftButton)
    return window


def accessible_name(widget: QWidget) -> str:
    """What a screen reader announces for the control: its accessible name, else its own text,
    else the text of the label that is its buddy."""
    if widget.accessibleName().strip():
        return widget.accessibleName()
    if isinstance(widget, QAbstractButton) and widget.text().replace("&", "").strip():
        return widget.text()
    for label in widget.window().findChildren(QLabel):
        if label.buddy() is widget and label.text().strip():
            return label.text()
    return ""


CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QAbstractItemView, QTabBar)


def test_every_control_in_the_workspace_has_an_accessible_name(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _window(qtbot, qapp, services, (1366, 768))
    workspace = window.workspace
    unnamed: list[str] = []
    checked = 0
    for tab in range(workspace.tabs.count()):
        workspace.tabs.setCurrentIndex(tab)
        for widget in window.findChildren(QWidget):
            if not isinstance(widget, CONTROLS) or not widget.isVisible():
                continue
            if widget.inherits("QScrollBar") or widget.objectName().startswith("qt_"):
                continue
            checked += 1
            if not accessible_name(widget):
                parent = widget.parentWidget()
                unnamed.append(
                    f"{type(widget).__name__} {widget.objectName()!r} in "
                    f"{type(parent).__name__ if parent else None}"
                )
    assert checked > 60
    assert sorted(set(unnamed)) == [], "\n".join(sorted(set(unnamed)))


def truncated(window: QWidget) -> list[str]:
    """Visible buttons, one-line labels, tabs and table headers narrower than their text."""
    found: list[str] = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.width() <= 0:
            continue
        if isinstance(widget, QAbstractButton) and widget.text():
            if widget.width() < widget.sizeHint().width() - 1:
                found.append(f"button {widget.text()!r}: {widget.width()} < {widget.sizeHint()}")
        elif (
            isinstance(widget, QLabel)
            and widget.text()
            and not widget.wordWrap()
            and widget.sizePolicy().horizontalPolicy() != widget.sizePolicy().Policy.Ignored
            and widget.pixmap().isNull()
        ):
            needed = widget.fontMetrics().horizontalAdvance(widget.text()) + 2 * widget.margin()
            if "<" not in widget.text() and widget.contentsRect().width() < needed - 1:
                found.append(f"label {widget.text()!r}: {widget.width()} < {needed}")
        elif isinstance(widget, QTabBar):
            for index in range(widget.count()):
                if widget.tabRect(index).width() < widget.tabSizeHint(index).width() - 1:
                    found.append(f"tab {widget.tabText(index)!r}")
        elif isinstance(widget, QAbstractItemView) and hasattr(widget, "horizontalHeader"):
            header = widget.horizontalHeader()
            if not header.isVisible():
                continue
            for column in range(header.count()):
                if header.isSectionHidden(column):
                    continue
                if header.sectionSize(column) < header.sectionSizeHint(column) - 1:
                    name = widget.model().headerData(column, Qt.Orientation.Horizontal)
                    found.append(f"column {name!r} of {widget.objectName()}")
    return found


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_nothing_is_truncated_in_any_view_tab_or_the_keys_overlay(
    qtbot: QtBot, qapp: Any, services: Any, size: tuple[int, int]
) -> None:
    window = _window(qtbot, qapp, services, size)
    workspace = window.workspace
    problems: list[str] = []
    for view in ("anterior", "posterior", "head_left", "head_right"):
        workspace.set_view(view)
        for tab in range(workspace.tabs.count()):
            workspace.tabs.setCurrentIndex(tab)
            qapp.processEvents()
            problems += [f"{view}/{workspace.tabs.tabText(tab)}: {p}" for p in truncated(window)]
    assert workspace.title.width() >= workspace.title.sizeHint().width()  # the header's title
    window.keys_action.setChecked(True)
    overlay = window.keys_overlay
    assert overlay.isVisible()
    assert overlay.geometry() == window.rect()
    problems += [f"keys: {p}" for p in truncated(overlay)]
    for text, keys in overlay.labels:
        assert text.isVisible()
        assert keys.isVisible()
    qtbot.keyClick(overlay, Qt.Key.Key_Escape)
    assert not overlay.isVisible()
    assert not window.keys_action.isChecked()
    window.show_patients()
    window.patients.show_history()
    qapp.processEvents()
    problems += [f"history: {p}" for p in truncated(window)]
    assert sorted(set(problems)) == [], "\n".join(sorted(set(problems)))


@pytest.mark.parametrize(("size", "location_shown"), [((1366, 768), False), ((1920, 1080), True)])
def test_the_site_table_shows_each_muscle_name_whole(
    qtbot: QtBot, qapp: Any, services: Any, size: tuple[int, int], location_shown: bool
) -> None:
    """The muscle is what the physician checks before injecting: never elided. The landmark
    description gives way instead (elided, or left to the editor on a narrow screen)."""
    window = _window(qtbot, qapp, services, size)
    table = window.workspace.table
    model = table.model()
    muscle = COLUMNS.index("Muscle")
    qapp.processEvents()
    assert model.rowCount() >= 6
    metrics = table.fontMetrics()
    # What Qt's delegate needs for the widest name (text and its margins), and the text itself.
    assert table.columnWidth(muscle) >= table.sizeHintForColumn(muscle)
    for row in range(model.rowCount()):
        text = model.data(model.index(row, muscle), Qt.ItemDataRole.DisplayRole)
        assert metrics.horizontalAdvance(text) < table.columnWidth(muscle), text
    assert table.isColumnHidden(COLUMNS.index("Location")) is not location_shown


def test_the_dose_bar_draws_no_text_over_its_colours(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    window = _window(qtbot, qapp, services, (1366, 768))
    rules = window.workspace.rules
    assert not rules.dose_bar.isTextVisible()
    assert rules.dose_label.isVisible()
    assert rules.dose_label.text().startswith("Local anesthetic:")


def _press(qtbot: QtBot, key: Qt.Key | str, modifier: Any = Qt.KeyboardModifier.NoModifier) -> None:
    """A key where the keyboard is: the focused widget of the active window."""
    target = QApplication.focusWidget()
    assert target is not None
    qtbot.keyClick(target, key, modifier)


def test_the_charting_loop_works_by_keyboard_alone(qtbot: QtBot, qapp: Any, services: Any) -> None:
    apply_theme(qapp)
    window = MainWindow(services, CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.focus_start()
    _press(qtbot, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.patients.search
    qtbot.keyClicks(window.patients.search, "lopez")
    qtbot.waitUntil(lambda: window.patients.results.count() == 1)
    _press(qtbot, Qt.Key.Key_Return)  # the patient
    _press(qtbot, Qt.Key.Key_Return)  # today's procedure
    workspace = window.workspace
    assert window.stack.currentWidget() is workspace
    qtbot.waitUntil(
        lambda: (
            workspace.isAncestorOf(QApplication.focusWidget())
            or (QApplication.focusWidget() is workspace)
        )
    )
    procedure_id = workspace.document.procedure_id

    def stored() -> list[Any]:
        return [s.site for s in services.charting.sites(procedure_id)]

    if workspace.document.procedure.time_out is None:
        _press(qtbot, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)  # the time-out overlay
        dialog = workspace.time_out_dialog
        assert dialog is not None
        qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog)
        _press(qtbot, Qt.Key.Key_Y)  # confirmed: sites marked
        qtbot.waitUntil(lambda: workspace.time_out_dialog is None)
        window.activateWindow()  # the offscreen platform does not hand activation back itself
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    assert services.charting.get(procedure_id).procedure.time_out is not None
    _press(qtbot, Qt.Key.Key_F2)  # back view
    _press(qtbot, "S")  # neck and shoulders
    assert workspace.diagram.region_framed == "neck_shoulders"
    planned = [s for s in stored() if s.state == "planned"]
    assert planned
    twitches = {Qt.Key.Key_B: "brisk", Qt.Key.Key_W: "weak", Qt.Key.Key_N: "none"}
    keys = list(twitches)
    for index in range(len(planned)):
        _press(qtbot, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)  # volume preset 2
        _press(qtbot, keys[index % 3])  # injects, records the twitch, goes to the next
    after = stored()
    assert all(s.state == "injected" for s in after)
    assert [s.twitch for s in after[-len(planned) :]] == [
        twitches[keys[i % 3]] for i in range(len(planned))
    ]
    # Back to the first site, re-code it with the picker, all by keys.
    for _ in range(len(after)):
        _press(qtbot, Qt.Key.Key_K)
    first = workspace.selected_id
    _press(qtbot, "M")
    picker = workspace.picker
    assert picker is not None
    qtbot.waitUntil(lambda: QApplication.activeWindow() is picker)
    for letter in "levator":
        _press(qtbot, letter)
    _press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not picker.isVisible())
    assert next(s.site for s in services.charting.sites(procedure_id) if s.id == first).muscle == (
        "levator_scapulae"
    )
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    workspace.setFocus()
    _press(qtbot, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert next(s.site for s in services.charting.sites(procedure_id) if s.id == first).muscle != (
        "levator_scapulae"
    )


def test_the_focused_control_is_visibly_marked(qtbot: QtBot, qapp: Any, services: Any) -> None:
    window = _window(qtbot, qapp, services, (1366, 768))
    workspace = window.workspace
    checklist = workspace.checklist
    for widget in (
        checklist.consent,
        checklist.position,
        workspace.table,
        workspace.editor.volume,
        window.patients.search,
    ):
        if not widget.isVisible():
            window.show_patients()
        qapp.processEvents()
        workspace.setFocus() if widget is not window.patients.search else window.setFocus()
        qapp.processEvents()
        plain = widget.grab().toImage()
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(widget.hasFocus)
        qapp.processEvents()
        focused = widget.grab().toImage()
        assert plain != focused, widget.objectName() or type(widget).__name__


def _unnamed(root: QWidget) -> list[str]:
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisible():
            continue
        if widget.inherits("QScrollBar") or widget.objectName().startswith("qt_"):
            continue
        if not accessible_name(widget):
            found.append(f"{type(widget).__name__} {widget.objectName()!r}")
    return sorted(set(found))


def test_the_patient_page_form_and_settings_name_every_control(
    qtbot: QtBot, qapp: Any, services: Any
) -> None:
    from tpi_chart.ui.settings_dialog import SettingsDialog

    window = _window(qtbot, qapp, services, (1366, 768))
    window.show_patients()
    window.patients.new_patient()
    qapp.processEvents()
    assert window.patients.form.isVisible()
    assert _unnamed(window) == []
    dialog = SettingsDialog(services.settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert _unnamed(dialog) == []
