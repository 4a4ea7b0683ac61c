"""Exporting a note or the aftercare handout from the window: read here, drawn on the worker
thread, written and audited back on the GUI thread; the status bar says so meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.exports import WRITING
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.tasks import tasks

pytestmark = pytest.mark.gui

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))
REFERENCE = Path(__file__).parents[1] / "examples" / "reference-visit.json"


@pytest.fixture
def window(tmp_path: Path, qtbot: QtBot) -> Iterator[tuple[MainWindow, Any, int]]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("export-worker")
    with open_services(tmp_path / "chart.db", staff("chen")) as services:
        (procedure_id,) = services.documents.import_documents([REFERENCE])
        main = MainWindow(services.as_user(CHEN), CHEN)
        qtbot.addWidget(main)
        opened: list[Path] = []
        main.open_file = opened.append  # type: ignore[method-assign]
        main.show()
        main.open_procedure(services.charting.get(procedure_id).patient_id, procedure_id)
        main.opened = opened  # type: ignore[attr-defined]
        yield main, services, procedure_id


def test_the_note_is_drawn_on_the_worker_and_written_here(
    qtbot: QtBot, window: tuple[MainWindow, Any, int]
) -> None:
    main, services, procedure_id = window
    main.export_note()
    assert tasks().busy
    assert main.busy_label.text() == WRITING
    assert main.busy_label.isVisible()
    qtbot.waitUntil(lambda: main.opened != [], timeout=20_000)  # type: ignore[attr-defined]
    (path,) = main.opened  # type: ignore[attr-defined]
    assert path.name.endswith(f"_{procedure_id}_DRAFT.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    assert path.with_suffix(".json").exists()
    assert main.statusBar().currentMessage() == f"Note written to {path}"
    assert not main.busy_label.isVisible()
    exports = [row for row in services.store.audit.rows() if row.action == "export"]
    assert len(exports) == 1


def test_the_handout_too(qtbot: QtBot, window: tuple[MainWindow, Any, int]) -> None:
    main, _services, procedure_id = window
    main.print_handout()
    qtbot.waitUntil(lambda: main.opened != [], timeout=20_000)  # type: ignore[attr-defined]
    (path,) = main.opened  # type: ignore[attr-defined]
    assert path.name.endswith(f"_{procedure_id}_aftercare.pdf")
    assert path.read_bytes().startswith(b"%PDF")


def test_an_unwritable_folder_is_said_in_the_banner(
    qtbot: QtBot, window: tuple[MainWindow, Any, int], tmp_path: Path
) -> None:
    main, services, _procedure_id = window
    blocked = tmp_path / "exports"
    blocked.mkdir()
    services.settings.update(export_folder=blocked)
    blocked.rmdir()
    blocked.write_text("a file where the export folder was")
    main.export_note()
    qtbot.waitUntil(lambda: not tasks().busy, timeout=20_000)
    assert "Note not exported" in main.workspace.banner.label.text()
    assert main.opened == []  # type: ignore[attr-defined]
