"""The fast paths keep the behaviour: the workspace is built on first use, and a click on the
diagram adds one marker and one table row, says "Saved" after the commit, and refreshes the rules
panel and the forms right after that frame."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.users import staff
from tpi_chart.domain import diagram as dg
from tpi_chart.domain.rules import evaluate
from tpi_chart.domain.users import User
from tpi_chart.services.context import open_services
from tpi_chart.ui.main_window import MainWindow
from tpi_chart.ui.workspace.keys import KEYMAP

# The time-out overlay is a dialog: offscreen Qt cannot size or raise it and says so.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("This plugin does not support")]

CHEN = User(username="chen", display_name="Dr. Alex Chen, MD", roles=frozenset({"physician"}))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Any]:
    QCoreApplication.setOrganizationName("TPI Chart tests")
    QCoreApplication.setApplicationName("fast-paths")
    with open_services(tmp_path / "chart.db", staff("chen"), seed_demo_if_new=True) as opened:
        yield opened


def _window(qtbot: QtBot, services: Any) -> MainWindow:
    window = MainWindow(services.as_user(CHEN), CHEN)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    window.activateWindow()  # keyboard shortcuts go to the active window only
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    return window


def _open_maria(window: MainWindow, services: Any) -> int:
    maria = services.patients.by_mrn("D1001")
    procedure_id = int(services.charting.list_for_patient(maria.id)[0].id)
    window.open_procedure(maria.id, procedure_id, "posterior")
    return procedure_id


def test_the_window_starts_without_the_workspace_and_builds_it_on_first_use(
    qtbot: QtBot, services: Any
) -> None:
    window = _window(qtbot, services)
    assert not window.workspace_built()
    assert window.stack.currentWidget() is window.patients
    # The toolbar and the keys panel do not need it: undo/redo are there, disabled; every key.
    assert not window.undo_action.isEnabled()
    assert not window.export_action.isEnabled()
    window.export_note()  # nothing open: nothing happens, nothing is built
    assert not window.workspace_built()
    assert window.keys_overlay.row_count() == len(KEYMAP) + 1

    procedure_id = _open_maria(window, services)

    assert window.workspace_built()
    workspace = window.workspace
    assert window.stack.currentWidget() is workspace
    assert workspace.document.procedure_id == procedure_id
    assert workspace.undo_stack is window.undo_stack
    assert window.export_action.isEnabled()
    assert workspace.model.rowCount() == 6
    assert len(workspace.diagram.scene.markers) == 6  # all six sites are on the back view
    assert workspace.rules.evaluation == evaluate(services.charting.document(procedure_id))
    window.show_patients()
    window.open_procedure(services.patients.by_mrn("D1001").id, procedure_id)
    assert window.workspace is workspace  # built once


def test_restore_last_builds_the_workspace_and_reopens_the_procedure_without_the_patient_list(
    qtbot: QtBot, services: Any
) -> None:
    first = _window(qtbot, services)
    procedure_id = _open_maria(first, services)
    first.close()
    again = MainWindow(services.as_user(CHEN), CHEN)
    qtbot.addWidget(again)
    assert not again.workspace_built()
    assert again.restore_last()
    assert again.workspace_built()
    assert again.stack.currentWidget() is again.workspace
    assert again.workspace.document.procedure_id == procedure_id
    assert again.workspace.diagram.document.procedure_id == procedure_id
    assert again.workspace.current_view == "posterior"
    # The patient list is not built behind the reopened visit; Ctrl+P builds it, on the
    # visit's patient.
    assert not again.patients_built()
    again.resize(1366, 768)
    again.show()
    again.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is again)
    assert not again.patients_built()
    qtbot.keyClick(again.workspace, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert again.stack.currentWidget() is again.patients
    maria = services.patients.by_mrn("D1001")
    assert again.patients.patient_id == maria.id
    assert again.patients.isVisible()


def _click_muscle(qtbot: QtBot, window: MainWindow, muscle: str, side: str) -> None:
    diagram = window.workspace.diagram
    zone = dg.load_diagram().views["posterior"].zone_for(muscle, side)
    assert zone is not None
    pos = diagram.view.mapFromScene(diagram.scene.to_scene(*zone.label_point))
    qtbot.mouseClick(diagram.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_a_click_adds_one_marker_and_one_row_and_the_rules_follow_right_after(
    qtbot: QtBot, services: Any
) -> None:
    window = _window(qtbot, services)
    procedure_id = _open_maria(window, services)
    workspace = window.workspace
    qtbot.keyClick(workspace, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)  # time-out
    qtbot.keyClick(workspace.time_out_dialog, Qt.Key.Key_Y)  # confirm: sites marked
    assert workspace.diagram.mode == "chart"
    markers = dict(workspace.diagram.scene.markers)
    evaluation = workspace.rules.evaluation
    events: list[str] = []
    workspace.model.modelReset.connect(lambda: events.append("reset"))
    workspace.model.rowsInserted.connect(lambda *_: events.append("inserted"))

    _click_muscle(qtbot, window, "lower_trapezius", "left")

    # In the click's own frame: stored (committed), marker and row added, selected, "Saved".
    stored = services.charting.sites(procedure_id)
    assert len(stored) == 7
    new = stored[-1]
    assert (new.site.muscle, new.site.side, new.site.state) == (
        "lower_trapezius",
        "left",
        "injected",
    )
    scene = workspace.diagram.scene
    assert set(scene.markers) == {*markers, new.id}
    assert all(scene.markers[site_id] is marker for site_id, marker in markers.items())
    assert scene.markers[new.id].selected
    assert events == ["inserted"]
    assert workspace.model.rowCount() == 7
    assert workspace.table.currentIndex().row() == 6
    assert workspace.selected_id == new.id
    assert workspace.saved_indicator.text().startswith("✓ Saved")
    assert [s.id for s in workspace.document.sites] == [s.id for s in stored]
    assert workspace.document.procedure.sites == tuple(s.site for s in stored)
    assert workspace.status_label.text().endswith("/7 injected")

    # The rules panel and the forms refresh on the next turn of the event loop.
    qtbot.waitUntil(lambda: not workspace.panels_pending())
    assert workspace.rules.evaluation is not evaluation
    assert QApplication.activeWindow() is window  # building the workspace opened no other window
    assert workspace.rules.evaluation == evaluate(services.charting.document(procedure_id))

    # Undo removes the row (no reset) and the marker; the rules follow again.
    qtbot.keyClick(workspace, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(services.charting.sites(procedure_id)) == 6
    assert workspace.model.rowCount() == 6
    assert set(scene.markers) == set(markers)
    assert "reset" not in events
    qtbot.waitUntil(lambda: not workspace.panels_pending())
    assert workspace.rules.evaluation == evaluate(services.charting.document(procedure_id))


def test_hit_testing_flattens_only_the_zones_whose_box_holds_the_point() -> None:
    diagram = dg.load_diagram.__wrapped__()  # a fresh, uncached copy of the shipped diagram
    posterior = diagram.views["posterior"]
    zone = posterior.zone_for("lower_trapezius", "left")
    assert zone is not None
    assert "polygon" not in vars(zone)  # not flattened while loading
    assert posterior.zone_at(*zone.label_point) == zone
    flattened = [z for z in posterior.zones if "polygon" in vars(z)]
    assert zone in flattened
    assert len(flattened) < len(posterior.zones)
    for each in posterior.zones:
        x0, y0, x1, y1 = each.bounds
        assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in each.polygon)


def test_the_window_goes_on_rehashing_signed_notes_and_says_what_it_found(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """The open re-hashes only a few signed notes (the same few milliseconds at any size of
    clinic); the window goes on in slices after it is up, and a note changed after signing is
    reported there, not silently."""
    from PySide6.QtWidgets import QMainWindow

    from tests.tampering import edit_a_signed_site
    from tpi_chart.ui.background_check import SLICES, BackgroundCheck

    db = tmp_path / "clinic.db"
    with open_services(db, staff("chen"), seed_demo_if_new=True):
        pass
    procedure_id = edit_a_signed_site(db, newest=True)
    with open_services(db, staff("chen")) as services:
        window = QMainWindow()
        qtbot.addWidget(window)
        window.show()
        check = BackgroundCheck(window, services.store)
        signed = services.store.procedures.signed_ids()
        for _ in range(len(signed)):
            check._rehash_slice()
            if window.statusBar().currentMessage():
                break
        assert (
            window.statusBar()
            .currentMessage()
            .startswith(f"Integrity check: signed procedure {procedure_id}")
        )
        assert "no longer matches" in window.statusBar().currentMessage()
        assert check.slices_left < SLICES
        assert not check._slices.isActive()  # found: no more slices
        # A closed window re-hashes nothing (its database may be closed already).
        check._slices.start()
        window.close()
        left = check.slices_left
        check._rehash_slice()
        assert check.slices_left == left
        assert not check._slices.isActive()


def test_the_window_re_hashes_only_while_nobody_is_charting(qtbot: QtBot, services: Any) -> None:
    """A slice waits while someone typed or clicked in the last seconds (a click must not wait
    for it) and while the window is locked."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QMainWindow

    from tpi_chart.ui.background_check import BUSY_S, SLICES, BackgroundCheck

    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    idle = {"seconds": 0.5}
    window.idle_lock = SimpleNamespace(  # type: ignore[attr-defined]
        minutes=10.0,
        seconds_left=lambda: 600 - idle["seconds"],
        is_locked=False,
    )
    check = BackgroundCheck(window, services.store)
    check._rehash_slice()
    assert check.slices_left == SLICES  # input half a second ago: not now
    idle["seconds"] = BUSY_S + 1
    check._rehash_slice()
    assert check.slices_left == SLICES - 1
    window.idle_lock.is_locked = True  # type: ignore[attr-defined]
    check._rehash_slice()
    assert check.slices_left == SLICES - 1


def test_the_whole_file_check_waits_for_a_quiet_window_and_stops_for_a_key(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The weekly whole-file check reads the whole database (minutes for a tenth-year clinic),
    and clicks that overlapped it waited on the disk: it starts only after the window has been
    quiet for a while, a key stops it at once (nothing reported, nothing remembered), and it
    starts again at the next quiet moment until it has read the file through."""
    from types import SimpleNamespace

    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QMainWindow

    from tests.slow_sqlite import slow_connections, wait_until_running
    from tpi_chart.services import integrity
    from tpi_chart.ui import background_check as bc

    monkeypatch.setattr(integrity, "QUICK_CHECK_AT_OPEN_MAX_BYTES", 0)  # the demo counts as large
    db = tmp_path / "clinic.db"
    with open_services(db, staff("chen"), seed_demo_if_new=True) as services:
        store = services.store
        window = QMainWindow()
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        idle = {"seconds": 1.0}
        window.idle_lock = SimpleNamespace(  # type: ignore[attr-defined]
            minutes=10.0, seconds_left=lambda: 600 - idle["seconds"], is_locked=False
        )
        check = bc.BackgroundCheck(window, store)
        check.start()
        assert check._quiet_poll.isActive()
        assert check.worker is None  # someone pressed a key a second ago: not now
        slow = slow_connections(monkeypatch)
        idle["seconds"] = bc.QUIET_BEFORE_FULL_CHECK_S + 1
        check._start_if_quiet()
        running = check._running
        assert running is not None
        wait_until_running(running)
        QTest.keyClick(window.windowHandle(), Qt.Key.Key_Shift)  # as the platform delivers it
        qtbot.waitUntil(lambda: check.interruptions == 1, timeout=3000)
        assert check.problems is None  # not a finding
        assert check._quiet_poll.isActive()  # still due: it will start again
        assert integrity.full_check_due(store)
        slow.set()
        check._start_if_quiet()
        qtbot.waitUntil(lambda: check.problems is not None, timeout=10000)
        assert check.problems == []
        assert not check._quiet_poll.isActive()
        assert not integrity.full_check_due(store)  # read through: remembered for a week
        assert window.statusBar().currentMessage() == ""


def test_the_patient_list_opens_without_anyone_s_details_and_builds_them_on_the_first_patient(
    qtbot: QtBot, services: Any
) -> None:
    window = _window(qtbot, services)
    page = window.patients
    assert page.isVisible()
    assert page.results.count() > 1
    assert not page.detail_built()
    assert page.right.currentWidget().isVisible()  # "Find a patient on the left…"
    empty = page.right.currentWidget()

    # A new patient before anyone was chosen, then Cancel: back to the empty side.
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    assert page.form.isVisible()
    assert not page.detail_built()
    qtbot.mouseClick(page.form.cancel_button, Qt.MouseButton.LeftButton)
    assert page.right.currentWidget() is empty

    maria = services.patients.by_mrn("D1001")
    row = next(
        i
        for i in range(page.results.count())
        if page.results.item(i).data(Qt.ItemDataRole.UserRole) == maria.id
    )
    rect = page.results.visualItemRect(page.results.item(row))
    qtbot.mouseClick(page.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.detail_built()
    assert page.detail.isVisible()
    assert page.name_label.text() == maria.patient.display_name
    assert page.procedures.rowCount() == len(services.charting.list_for_patient(maria.id))

    # Editing, then Cancel: back to the patient, not to the empty side.
    qtbot.mouseClick(page.edit_button, Qt.MouseButton.LeftButton)
    assert page.form.isVisible()
    qtbot.mouseClick(page.form.cancel_button, Qt.MouseButton.LeftButton)
    assert page.right.currentWidget() is page.detail

    # The History tab, built on its first showing, goes in the detail's tabs.
    page.show_history()
    assert page.history.isVisible()
    assert page.history.patient_id == maria.id


def test_every_patient_row_has_the_height_the_list_gives_all_of_them(
    qtbot: QtBot, services: Any
) -> None:
    """The results list lays out one row's size for all (uniform item sizes): it must be every
    row's own size, or a row would be cut or padded."""
    window = _window(qtbot, services)
    results = window.patients.results
    assert results.uniformItemSizes()
    assert results.count() > 1
    uniform = [results.visualItemRect(results.item(i)).size() for i in range(results.count())]
    results.setUniformItemSizes(False)
    results.doItemsLayout()
    own = [results.visualItemRect(results.item(i)).size() for i in range(results.count())]
    assert own == uniform


def test_a_window_closed_during_the_whole_file_check_leaves_its_thread_nothing_to_raise(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check runs when the window has been quiet, which is when the idle lock hands the
    workstation over and the previous person's window is closed and deleted: the thread that
    finishes afterwards must not reach for the deleted window (its signal raised "Signal source
    has been deleted" in the thread)."""
    import threading
    from types import SimpleNamespace

    from PySide6.QtWidgets import QMainWindow

    from tests.slow_sqlite import slow_connections, wait_until_running
    from tpi_chart.services import integrity
    from tpi_chart.ui import background_check as bc

    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    monkeypatch.setattr(integrity, "QUICK_CHECK_AT_OPEN_MAX_BYTES", 0)
    with open_services(tmp_path / "clinic.db", staff("chen"), seed_demo_if_new=True) as services:
        window = QMainWindow()
        window.show()
        qtbot.waitExposed(window)
        window.idle_lock = SimpleNamespace(  # type: ignore[attr-defined]
            minutes=10.0, seconds_left=lambda: 0.0, is_locked=False
        )
        check = bc.BackgroundCheck(window, services.store)
        slow = slow_connections(monkeypatch)
        check.start()
        running, worker = check._running, check.worker
        assert running is not None
        assert worker is not None
        wait_until_running(running)
        window.close()
        window.deleteLater()
        qtbot.waitUntil(lambda: running.interrupted, timeout=3000)  # closing stops it
        slow.set()
        worker.join(10)
        assert not worker.is_alive()
        QCoreApplication.processEvents()
    assert raised == []
