"""The workspace's lease on the procedure it charts (services/live.py): taken when a procedure
opens, renewed by a heartbeat, released when the workspace leaves it. While another room holds
it, the document is read-only here (`ProcedureDocument.held_by`) and the lease is tried again
every second (and at once when a notice says a lease was released), so the workspace becomes
editable within a second of the other room closing the procedure or of its lease lapsing.

On a SQLite file (one window) there is nobody to lease from: nothing is taken, no timer runs,
and a click costs no statement more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from tpi_chart.services.live import HEARTBEAT_SECONDS, Lease, LiveService
from tpi_chart.ui.document import ProcedureDocument
from tpi_chart.ui.plain_errors import KNOWN_ERRORS

log = logging.getLogger(__name__)

#: How often a read-only workspace asks again whether the other room still holds the procedure
#: (the fallback for a lease that lapses: a lapse sends no notice).
RETRY_MS = 1000


class ProcedureLease(QObject):
    """The lease of one workspace (see the module)."""

    #: The holder changed: the procedure became read-only here, or editable again.
    changed = Signal()

    #: Set by the workspace's `bind`, before any procedure is held.
    live: LiveService

    def __init__(self, document: ProcedureDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.procedure_id: int | None = None
        self.heartbeat = QTimer(self)
        self.heartbeat.setInterval(int(HEARTBEAT_SECONDS * 1000))
        self.heartbeat.timeout.connect(self.check)
        self.retry = QTimer(self)
        self.retry.setInterval(RETRY_MS)
        self.retry.timeout.connect(self.check)

    @property
    def held_by(self) -> Lease | None:
        return self.document.held_by

    def hold(self, procedure_id: int) -> None:
        """Take the lease of a procedure about to be opened (before it is read, so that its
        first drawing is already read-only when another room has it)."""
        if self.procedure_id != procedure_id:
            self.release()
        if not self.live.shared:
            return
        self.procedure_id = procedure_id
        self.document.held_by = self._ask(lambda: self.live.hold(procedure_id))
        self.heartbeat.start()
        self._retry_while_held()

    def check(self) -> None:
        """Renew our lease, or try again to take another room's: on a change, the document
        reads the procedure again (the other room may have charted) and the views follow."""
        procedure_id = self.procedure_id
        if procedure_id is None:
            return
        if self.document.held_by is None:
            other = self._ask(lambda: self.live.keep(procedure_id))
        else:
            other = self._ask(lambda: self.live.hold(procedure_id))
        if _holder(other) == _holder(self.document.held_by):
            return
        self.document.held_by = other
        self._retry_while_held()
        self.document.reload()
        self.changed.emit()

    def release(self) -> None:
        """Let the procedure go (back to the patient, another procedure, the window closes)."""
        self.heartbeat.stop()
        self.retry.stop()
        procedure_id, self.procedure_id = self.procedure_id, None
        held_elsewhere = self.document.held_by is not None
        self.document.held_by = None
        if procedure_id is not None and not held_elsewhere:
            self._ask(lambda: self.live.release(procedure_id))

    def _retry_while_held(self) -> None:
        if self.document.held_by is None:
            self.retry.stop()
        else:
            self.retry.start()

    def _ask(self, call: Callable[[], Lease | None]) -> Lease | None:
        # The server unreachable for a moment: keep what we knew. A save made meanwhile is
        # refused by the server itself (its sentence says so), never stored past a lease.
        try:
            return call()
        except KNOWN_ERRORS as error:
            log.info("lease not renewed: %s", error)
            return self.document.held_by


def _holder(lease: Lease | None) -> str | None:
    return None if lease is None else lease.holder
