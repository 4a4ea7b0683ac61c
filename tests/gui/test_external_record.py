"""An imported signed document is shown as signed elsewhere, read-only, never as signed here;
signing with a clock behind the audit trail asks before it signs (issue 10 items 5 and 6)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from tests.accounts import signing_physician
from tests.users import staff
from tpi_chart.domain.canonical import content_hash
from tpi_chart.domain.models import ProcedureDocument, Signature
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.tasks import tasks

pytestmark = pytest.mark.gui

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"
SHOTS = Path(os.environ.get("TPI_SHOTS", "/tmp/cliauth_shots"))


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[tuple[Any, int, int]]:
    """(services, an imported signed-elsewhere record, an imported unsigned visit)."""
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("external")
    document = ProcedureDocument.model_validate_json(REFERENCE.read_text())
    signed = document.procedure.model_copy(
        update={
            "status": "signed",
            "signature": Signature(
                signed_by="Dr. Somebody Else, MD",
                signed_at=document.procedure.performed_at,
                content_hash=content_hash(document),
            ),
        }
    )
    source = tmp_path / "elsewhere.json"
    source.write_text(json.dumps(document.model_copy(update={"procedure": signed}).to_json_dict()))
    with open_services(tmp_path / "chart.db", staff("chen")) as services:
        external, draft = services.documents.import_documents([source, REFERENCE])
        assert signing_physician(services) == CHEN  # signing needs the physician's key
        yield services, external, draft


def open_sign_tab(qtbot: QtBot, services: Any, procedure_id: int) -> MainWindow:
    window = MainWindow(services.as_user(CHEN), CHEN)
    qtbot.addWidget(window)
    window.open_file = lambda _path: None
    window.resize(1366, 768)
    window.show()
    window.open_procedure(services.charting.get(procedure_id).patient_id, procedure_id)
    window.workspace.tabs.setCurrentWidget(window.workspace.sign_panel)
    return window


def test_a_record_signed_elsewhere_says_so_and_cannot_be_signed(
    qtbot: QtBot, clinic: tuple[Any, int, int]
) -> None:
    services, external, _ = clinic
    window = open_sign_tab(qtbot, services, external)
    panel = window.workspace.sign_panel
    text = panel.state.text()
    assert "Signed elsewhere, not verified by this clinic" in text
    assert "Dr. Somebody Else, MD" in text
    assert not panel.sign_button.isVisible()
    assert "Signed elsewhere" in window.workspace.status_label.text()
    assert not window.workspace._editable()
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / "external-1366.png"))
    window.resize(1920, 1080)
    QApplication.processEvents()
    window.grab().save(str(SHOTS / "external-1920.png"))
    assert services.charting.get(external).procedure.signature is None


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_a_clock_behind_the_audit_trail_asks_before_signing(
    qtbot: QtBot, clinic: tuple[Any, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tpi_chart.storage import audit

    services, _, draft = clinic
    with monkeypatch.context() as future:  # something was recorded "in 2099"
        future.setattr(audit, "now_utc", lambda: "2099-01-01T00:00:00.000000+00:00")
        services.store.audit.record(user="chen", action="login", entity="session", after={})
    window = open_sign_tab(qtbot, services, draft)
    panel = window.workspace.sign_panel
    for code, field in panel.ack_fields.items():
        field.setText(f"accepted: {code}")
    assert panel.sign_button.isEnabled()
    seen: list[str] = []

    def answer(button_text: str) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append(box.text())
        if len(seen) == 1:
            SHOTS.mkdir(parents=True, exist_ok=True)
            box.grab().save(str(SHOTS / "clock-dialog.png"))
        (button,) = [b for b in box.buttons() if b.text().replace("&", "") == button_text]
        button.click()

    QTimer.singleShot(0, lambda: answer("Cancel"))
    qtbot.mouseClick(panel.sign_button, Qt.MouseButton.LeftButton)
    assert "the clock went backwards" in seen[0]
    assert services.charting.get(draft).procedure.status == "in_progress"

    QTimer.singleShot(0, lambda: answer("Sign with this time"))
    qtbot.mouseClick(panel.sign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tasks().busy, timeout=30_000)  # the note is drawn on the worker
    assert services.charting.get(draft).procedure.status == "signed"
    confirmed = [
        json.loads(row.after or "{}")["confirmed"]
        for row in services.store.audit.rows()
        if row.action == "clock_backwards"
    ]
    assert confirmed == [False, False, True]  # each detection is audited, then the confirmation
