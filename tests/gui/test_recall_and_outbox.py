"""Lot recall from the window (the tool bar action, the dialog's field, Find and Export CSV
clicked for real) and the outbox count in the status bar."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QPoint, QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QToolBar, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from tests.accounts import signing_physician
from tests.users import staff
from tpi_chart.domain.rules import evaluate
from tpi_chart.domain.users import User
from tpi_chart.services.context import Services, open_services
from tpi_chart.services.interop import ListsNotAllowed
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.recall_dialog import RecallDialog
from tpi_chart.ui.settings_dialog import SettingsDialog

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("propagateSizeHints")]

ADMIN = User(username="okafor", display_name="R. Okafor", roles=frozenset({"administrator"}))
ASSISTANT = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))
PHYSICIAN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


@pytest.fixture
def services(tmp_path: Path, examples_dir: Path) -> Iterator[Services]:
    """Three visits signed in the app by Dr. Chen (a document imported already signed would be
    an external record, which the outbox does not send): two patients got lidocaine lot
    LD24117, a third lot LX-777."""
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("recall")
    QSettings().clear()
    reference = json.loads((examples_dir / "reference-visit.json").read_text(encoding="utf-8"))
    files = []
    for mrn, family, lot, day in (
        ("D1001", "Lopez", "LD24117", "2026-11-20"),
        ("D2002", "Nguyen", "LD24117", "2026-11-21"),
        ("D3003", "Okafor", "LX-777", "2026-11-22"),
    ):
        data = json.loads(json.dumps(reference))
        data["patient"].update(mrn=mrn, family_name=family)
        data["procedure"]["performed_at"] = f"{day}T09:30:00-07:00"
        data["procedure"]["preparations"][0]["components"][0]["lot"] = lot
        path = tmp_path / f"{mrn}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        files.append(path)
    with open_services(tmp_path / "chart.db", staff("okafor")) as opened:
        chen = signing_physician(opened)
        for procedure_id in opened.documents.import_documents(files):
            reasons = {
                warning.code: "Reviewed with the patient; clinically indicated."
                for warning in evaluate(opened.charting.document(procedure_id)).warnings
            }
            opened.as_user(chen).signing.sign(procedure_id, chen, reasons)
        opened.settings.set_export_folder(tmp_path / "filed")
        opened.settings.set_clinic_name("Riverside Pain & Spine Clinic")
        yield opened


def _window(qtbot: QtBot, services: Services, user: User) -> MainWindow:
    window = MainWindow(services.as_user(user), user)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _toolbar_button(window: MainWindow, text: str) -> QWidget | None:
    bar = window.findChild(QToolBar, "mainToolbar")
    assert bar is not None
    for action in bar.actions():
        if action.isVisible() and action.text() == text:
            return bar.widgetForAction(action)
    return None


def _recall(qtbot: QtBot, window: MainWindow, lot: str) -> RecallDialog:
    button = _toolbar_button(window, "Lot recall…")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = window.recall_dialog
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.lot, lot)
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    return dialog


def _column(dialog: RecallDialog, name: str) -> list[str]:
    from tpi_chart.ui.recall_dialog import COLUMNS

    column = COLUMNS.index(name)
    return [dialog.table.item(row, column).text() for row in range(dialog.table.rowCount())]


@pytest.mark.parametrize("user", [ADMIN, ASSISTANT])
def test_recall_lists_exactly_the_procedures_with_the_lot(
    qtbot: QtBot,
    services: Services,
    user: User,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = _window(qtbot, services, user)
    dialog = _recall(qtbot, window, "ld24117")
    assert _column(dialog, "MRN") == ["D1001", "D2002"]
    assert _column(dialog, "Patient") == ["Lopez, Maria", "Nguyen, Maria"]
    assert _column(dialog, "Lot") == ["LD24117", "LD24117"]
    assert _column(dialog, "Date") == ["2026-11-20", "2026-11-21"]
    assert _column(dialog, "Sites")[0].startswith("1 Upper trapezius (left)")
    assert dialog.summary.text() == "Lot ld24117: 2 procedure(s), 2 patient(s)"

    target = tmp_path / "recall.csv"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *args: (str(target), "CSV (*.csv)"))
    )
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert [r["mrn"] for r in rows] == ["D1001", "D2002"]

    dialog.lot.clear()
    qtbot.keyClicks(dialog.lot, "LX-777")
    qtbot.keyClick(dialog.lot, Qt.Key.Key_Return)
    assert _column(dialog, "MRN") == ["D3003"]

    dialog.lot.clear()
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    assert dialog.error.isVisible()
    assert dialog.error.text() == "give the lot number to look for"

    reports = [
        json.loads(row.after or "{}")
        for row in services.store.audit.rows()
        if row.entity == "report"
    ]
    assert [(r["lot"], r["rows"], r["file"]) for r in reports] == [
        ("ld24117", 2, "(shown on screen)"),
        ("ld24117", 2, str(target)),
        ("LX-777", 1, "(shown on screen)"),
    ]
    assert {row.user for row in services.store.audit.rows() if row.entity == "report"} == {
        user.username
    }


def test_a_physician_has_no_recall_action_and_the_service_refuses(
    qtbot: QtBot, services: Services
) -> None:
    window = _window(qtbot, services, PHYSICIAN)
    assert _toolbar_button(window, "Lot recall…") is None
    with pytest.raises(ListsNotAllowed, match="only an administrator or a medical assistant"):
        services.as_user(PHYSICIAN).interop.lot_recall("LD24117")
    denied = [row for row in services.store.audit.rows() if row.action == "access_denied"]
    assert denied[-1].user == "chen"


def test_the_status_bar_shows_unsent_files_and_retries(
    qtbot: QtBot, services: Services, tmp_path: Path
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder", encoding="utf-8")
    services.settings.set_export_folder(blocked / "notes")
    (procedure_id,) = services.notes.signed_between(date(2026, 11, 20), date(2026, 11, 20))
    result = services.interop.queue(procedure_id)
    # PDF and JSON (the default formats) of each of the three notes, queued as they were signed.
    assert len(result.failed) == 6

    window = _window(qtbot, services, ADMIN)
    button = window.findChild(QToolButton, "outboxPending")
    assert button is not None
    qtbot.waitUntil(lambda: button.isVisible())
    assert button.text() == "6 file(s) not sent — retry"
    assert "blocked" in button.toolTip()

    services.settings.set_export_folder(tmp_path / "filed")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    # The files are made on the worker thread, written back on this one.
    qtbot.waitUntil(lambda: not window.outbox.busy, timeout=30_000)
    assert not button.isVisible()
    assert window.statusBar().currentMessage() == "6 file(s) sent to the export folder"
    assert sorted(p.suffix for p in (tmp_path / "filed").iterdir()) == [".json"] * 3 + [".pdf"] * 3


def test_settings_choose_the_outbox_formats(qtbot: QtBot, services: Services) -> None:
    admin = services.as_user(ADMIN)
    dialog = SettingsDialog(admin.settings, None, admin.interop)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.outbox_formats["pdf"].isChecked()
    assert not dialog.outbox_formats["fhir"].isChecked()
    for fmt in ("fhir", "json"):
        box = dialog.outbox_formats[fmt]
        # On the box itself (the left end), where a user clicks.
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))
    assert [box.isChecked() for box in dialog.outbox_formats.values()] == [True, False, True, False]
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == ""
    assert services.interop.outbox_formats() == ("pdf", "fhir")
