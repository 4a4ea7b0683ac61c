"""After signing, the note is frozen; a physician adds a signed addendum from the Sign tab, it is
shown below the signature, stored with its hash, and the filed note is written again with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from tests.accounts import signing_physician
from tests.users import staff
from tpi_chart.domain.canonical import addendum_hash
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.tasks import tasks

pytestmark = pytest.mark.gui

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
RIVERA = User(username="rivera", display_name="J. Rivera, MA", roles=frozenset({"assistant"}))
REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"
REASONS = {"ptx_risk_site": "discussed", "multi_region": "clinically indicated"}


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[tuple[Any, int]]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("addendum")
    with open_services(tmp_path / "chart.db", staff("chen")) as services:
        (procedure_id,) = services.documents.import_documents([REFERENCE])
        assert signing_physician(services) == CHEN
        services.signing.sign(procedure_id, CHEN, REASONS)
        yield services, procedure_id


def open_sign_tab(qtbot: QtBot, services: Any, procedure_id: int, user: User) -> MainWindow:
    window = MainWindow(services.as_user(user), user)
    qtbot.addWidget(window)
    window.open_file = lambda _path: None  # no system PDF viewer in tests
    window.show()
    patient_id = services.charting.get(procedure_id).patient_id
    window.open_procedure(patient_id, procedure_id)
    workspace = window.workspace
    workspace.tabs.setCurrentWidget(workspace.sign_panel)
    return window


def test_a_physician_adds_a_signed_addendum_below_the_signature(
    qtbot: QtBot, signed: tuple[Any, int]
) -> None:
    services, procedure_id = signed
    window = open_sign_tab(qtbot, services, procedure_id, CHEN)
    panel = window.workspace.sign_panel
    assert panel.addenda_box.isVisible()
    assert not panel.addendum_button.isEnabled()  # nothing written yet

    panel.addendum_text.setPlainText("Site 6 was infraspinatus, right, as charted; no change.")
    qtbot.mouseClick(panel.addendum_button, Qt.MouseButton.LeftButton)
    assert tasks().busy  # appended to the signed note on the worker thread
    assert services.charting.get(procedure_id).procedure.addenda == ()  # stored after it
    # Then the outbox files the grown note, on the worker too.
    qtbot.waitUntil(lambda: not tasks().busy and not window.outbox.busy, timeout=30_000)

    stored = services.charting.get(procedure_id).procedure
    assert stored.status == "signed"
    (addendum,) = stored.addenda
    assert addendum.author == CHEN.display_name
    assert addendum.content_hash == addendum_hash(addendum, stored.signature.content_hash)
    assert "Site 6 was infraspinatus" in panel.addenda_list.text()
    assert panel.addendum_text.toPlainText() == ""
    # The filed note is written again and carries the addendum.
    (note,) = services.settings.export_folder().glob(f"D1001_*_{procedure_id}.pdf")
    verified = services.notes.verify_file(note)
    assert verified.ok
    assert verified.document is not None
    assert verified.document.procedure.addenda == stored.addenda


def test_an_assistant_cannot_add_an_addendum(qtbot: QtBot, signed: tuple[Any, int]) -> None:
    services, procedure_id = signed
    window = open_sign_tab(qtbot, services, procedure_id, RIVERA)
    panel = window.workspace.sign_panel
    panel.addendum_text.setPlainText("A note from the assistant")
    assert not panel.addendum_button.isEnabled()
    panel.add_addendum()  # even when called directly
    assert services.charting.get(procedure_id).procedure.addenda == ()
