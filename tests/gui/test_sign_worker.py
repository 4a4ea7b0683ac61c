"""Signing from the window with a signing key: the signature is checked here, the note is drawn
and PAdES-signed on the worker thread while the window keeps repainting, and the signature, the
signed note and its filing are stored back here in one transaction; a change saved meanwhile
refuses with a sentence and stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from pytestqt.qtbot import QtBot

from tests.unit.test_pades_signing import ACKS, Clinic
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.tasks import tasks
from tpi_chart.ui.workspace.sign_panel import SIGNING

pytestmark = pytest.mark.gui


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[Clinic]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("sign-worker")
    made = Clinic(tmp_path / "valley")
    yield made
    made.close()


def _window(qtbot: QtBot, clinic: Clinic, procedure_id: int) -> MainWindow:
    services = clinic.services(clinic.chen)
    main = MainWindow(services, clinic.chen)
    qtbot.addWidget(main)
    main.show()
    main.open_procedure(services.charting.get(procedure_id).patient_id, procedure_id)
    workspace = main.workspace
    bar = workspace.tabs.tabBar()
    qtbot.mouseClick(
        bar,
        Qt.MouseButton.LeftButton,
        pos=bar.tabRect(workspace.tabs.indexOf(workspace.sign_panel)).center(),
    )
    panel = workspace.sign_panel
    for code, field in panel.ack_fields.items():
        qtbot.keyClicks(field, ACKS.get(code, f"accepted: {code}"))
    assert panel.sign_button.isEnabled()
    return main


def test_the_window_repaints_while_the_note_is_signed(qtbot: QtBot, clinic: Clinic) -> None:
    procedure_id = clinic.add_reference_visit()
    main = _window(qtbot, clinic, procedure_id)
    panel = main.workspace.sign_panel
    ticks_while_busy: list[bool] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks_while_busy.append(tasks().busy))
    timer.start()

    qtbot.mouseClick(panel.sign_button, Qt.MouseButton.LeftButton)

    assert tasks().busy
    assert main.busy_label.text() == SIGNING
    assert not panel.sign_button.isEnabled()  # not twice while it is drawn
    assert clinic.store.pki.signed_note(procedure_id) is None  # nothing stored yet
    qtbot.waitUntil(lambda: not tasks().busy, timeout=30_000)
    timer.stop()
    assert any(ticks_while_busy), "no timer fired while the note was being signed"
    stored = clinic.root.charting.get(procedure_id).procedure
    assert stored.status == "signed"
    note = clinic.store.pki.signed_note(procedure_id)
    assert note is not None
    assert note.pdf.startswith(b"%PDF")
    assert panel.state.text().startswith("✓ Signed by Dr. Alex Chen, MD")
    assert not main.busy_label.isVisible()


def test_a_change_saved_while_the_note_is_drawn_refuses(qtbot: QtBot, clinic: Clinic) -> None:
    procedure_id = clinic.add_reference_visit()
    main = _window(qtbot, clinic, procedure_id)
    panel = main.workspace.sign_panel
    charting = clinic.services(clinic.chen).charting

    qtbot.mouseClick(panel.sign_button, Qt.MouseButton.LeftButton)
    assert tasks().busy
    # Saved elsewhere (another workstation) while the worker draws the note.
    first = charting.sites(procedure_id)[0]
    charting.update_site(first.id, first.site.model_copy(update={"volume_ml": 1.0}))
    qtbot.waitUntil(lambda: not tasks().busy, timeout=30_000)

    assert "nothing was signed. Sign again." in main.workspace.banner.label.text()
    assert clinic.root.charting.get(procedure_id).procedure.signature is None
    assert clinic.store.pki.signed_note(procedure_id) is None
    assert clinic.store.outbox.pending() == []
    assert panel.sign_button.isEnabled()
