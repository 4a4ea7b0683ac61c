"""Changes made in other rooms, shown in this window within a second (issue 18 §3).

The store's listener (storage/postgres/live.py) calls `_arrived` on its own thread; the signal
it emits is connected to a slot of this object, which lives in the GUI thread, so Qt queues the
call there. Notices arriving together (one save appends several audit rows) are handled once,
a moment later.

What a notice does:
- the workspace showing the procedure, or another procedure or the record of its patient:
  the document reads the procedure again and every view redraws. The undo history is cleared
  when the open procedure itself changed (its commands were made on the copy another room has
  charted since; replaying them could undo the other room's work) and kept when only the
  patient's other records did (the commands name this procedure's sites, which did not move);
- the patient page showing that patient: the page is read again (its visits, their sites);
- a lease taken or released on the open procedure: the workspace asks for it again at once.

Nothing is unsaved on screen to be lost: every edit is saved when it is made.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from tpi_chart.services.live import Listening, Notice, workstation_room
from tpi_chart.ui.plain_errors import KNOWN_ERRORS

if TYPE_CHECKING:
    from tpi_chart.ui.main_window import MainWindow

log = logging.getLogger(__name__)

#: This workstation's room as saved in the Settings dialog (a setting of this computer, not of
#: the clinic: every room has its own).
KEY_ROOM = "workstation/room"
#: The patient page's right-hand stack: the patient's details (0: nothing chosen, 2: the form).
DETAILS = 1
#: How long notices are gathered before the window acts on them (ms).
GATHER_MS = 60


def saved_room() -> str | None:
    value = QSettings().value(KEY_ROOM)
    return str(value) if value else None


class LiveUpdates(QObject):
    """The window's end of the change notices (see the module)."""

    _delivered = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._pending: list[Notice] = []
        self._gather = QTimer(self)
        self._gather.setSingleShot(True)
        self._gather.setInterval(GATHER_MS)
        self._gather.timeout.connect(self._act)
        self._delivered.connect(self._queue)
        self.listening: Listening | None = None
        live = window.services.live
        live.room = workstation_room(window.services.room, saved_room())
        if live.shared:
            try:
                self.listening = live.listen(self._arrived)
            except KNOWN_ERRORS as error:
                log.warning("no live updates from other rooms: %s", error)

    def _arrived(self, notice: Notice) -> None:
        """On the listener's thread: hand the notice to the GUI thread (a queued signal)."""
        self._delivered.emit(notice)

    def _queue(self, notice: Notice) -> None:
        self._pending.append(notice)
        if not self._gather.isActive():
            self._gather.start()

    def _act(self) -> None:
        notices, self._pending = self._pending, []
        try:
            self._workspace(notices)
            self._patient_page(notices)
        except KNOWN_ERRORS as error:  # the server went away meanwhile: said, not raised
            log.info("live update not shown: %s", error)
            self.window.statusBar().showMessage(f"Not updated from other rooms: {error}", 10000)

    def _workspace(self, notices: list[Notice]) -> None:
        window = self.window
        if not window.workspace_built():
            return
        workspace = window.workspace
        if window.stack.currentWidget() is not workspace:
            return
        document = workspace.document
        procedure_id = document.procedure_id
        if procedure_id is None:
            return
        if any(n.lease and n.procedure_id == procedure_id for n in notices):
            workspace.lease.check()
        changes = [n for n in notices if not n.lease]
        unknown = any(n.patient_id is None and n.procedure_id is None for n in changes)
        this_one = unknown or any(n.procedure_id == procedure_id for n in changes)
        patient = any(n.patient_id == document.patient_id for n in changes)
        if this_one:
            workspace.undo_stack.clear()
        if this_one or patient:
            document.reload()

    def _patient_page(self, notices: list[Notice]) -> None:
        window = self.window
        if not window.patients_built():  # nothing shown to refresh
            return
        page = window.patients
        patient_id = page.patient_id
        # Only the patient's details: a form being filled in keeps what was typed (its own
        # save refuses a stale copy and offers Reload).
        if patient_id is None or window.stack.currentWidget() is not page:
            return
        if page.right.currentIndex() != DETAILS:
            return
        changes = [n for n in notices if not n.lease]
        unknown = any(n.patient_id is None and n.procedure_id is None for n in changes)
        if unknown or any(n.patient_id == patient_id for n in changes):
            page.show_patient(patient_id)

    def stop(self) -> None:
        if self.listening is not None:
            self.listening.stop()
            self.listening = None
