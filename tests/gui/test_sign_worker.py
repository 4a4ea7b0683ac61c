"""Signing from the window with a signing key: the signature is checked here, the note is drawn
and PAdES-signed on the worker thread while the window keeps repainting, and the signature, the
signed note and its filing are stored back here in one transaction; a change saved meanwhile
refuses with a sentence and stores nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from tests.unit.test_pades_signing import ACKS, CHEN_PASSWORD, Clinic
from tpi_chart.domain.users import User
from tpi_chart.services import signed_notes
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


def _sign_tab_shown(qtbot: QtBot, clinic: Clinic, procedure_id: int, user: User) -> MainWindow:
    services = clinic.services(user)
    main = MainWindow(services, user)
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
    return main


def _window(qtbot: QtBot, clinic: Clinic, procedure_id: int) -> MainWindow:
    main = _sign_tab_shown(qtbot, clinic, procedure_id, clinic.chen)
    panel = main.workspace.sign_panel
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


def _worker_drained(qtbot: QtBot) -> None:
    """Everything queued on the worker before now has run (it runs one thing at a time, in
    order)."""
    drained = threading.Event()
    tasks().prepare(drained.set)
    qtbot.waitUntil(drained.is_set, timeout=30_000)


def test_the_sign_tab_loads_what_signing_needs_on_the_worker_quietly(
    qtbot: QtBot, clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shown to a physician, the Sign tab has reportlab and pyHanko imported on the worker while
    they read it, with no wait cursor and no busy label; an assistant's loads nothing."""
    loaded_on: list[str] = []
    monkeypatch.setattr(
        signed_notes,
        "import_note_signing",
        lambda: loaded_on.append(threading.current_thread().name),
    )
    labels: list[str] = []
    tasks().busy_changed.connect(labels.append)
    procedure_id = clinic.add_reference_visit()

    _sign_tab_shown(qtbot, clinic, procedure_id, clinic.chen)
    assert QGuiApplication.overrideCursor() is None
    _worker_drained(qtbot)
    assert len(loaded_on) == 1
    assert loaded_on[0].startswith("tpi-worker"), loaded_on
    assert labels == []

    assistant = clinic.auth().create_user(
        clinic.admin, "ross", "Sam Ross, MA", {"assistant"}, CHEN_PASSWORD
    )
    _sign_tab_shown(qtbot, clinic, procedure_id, assistant)
    _worker_drained(qtbot)
    assert len(loaded_on) == 1
