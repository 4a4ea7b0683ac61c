"""Sending the outbox from the window without drawing on its thread: the pending items are read
here, their files made on the worker thread (`InteropService.prepare_pending` →
`PendingBatch.render` → `finish_pending`), then written, audited and marked here.

Every note the window draws goes through the one worker, one at a time: reportlab keeps its font
registry (and the note module registers fonts on first use) in module state shared by the whole
process, without locks, so two drawings at once are not known to be safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject

from tpi_chart.services.interop import InteropService, OutboxResult
from tpi_chart.services.outbox import PendingBatch, RenderedBatch
from tpi_chart.ui.plain_errors import KNOWN_FILE_ERRORS
from tpi_chart.ui.tasks import tasks

log = logging.getLogger(__name__)

SENDING = "Sending files to the export folder…"

Done = Callable[[OutboxResult], None]
Failed = Callable[[str], None]


class OutboxSender(QObject):
    """One send at a time: a send asked for while one runs starts when it ends (it would read
    the same pending items and write them twice)."""

    def __init__(self, interop: InteropService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._interop = interop
        self._waiting: list[tuple[Done, Failed]] | None = None  # None: no send running

    @property
    def busy(self) -> bool:
        return self._waiting is not None

    def send(self, done: Done, failed: Failed) -> None:
        """Send everything pending; `done(result)` or `failed(why)` on the GUI thread."""
        if self._waiting is not None:
            self._waiting.append((done, failed))
            return
        try:
            batch = self._interop.prepare_pending()
        except KNOWN_FILE_ERRORS as error:
            log.exception("outbox not read")
            failed(str(error))
            return
        self._waiting = []
        tasks().run(
            batch.render,
            lambda rendered: self._write(batch, rendered, done, failed),
            label=SENDING,
        )

    def _write(
        self, batch: PendingBatch, rendered: RenderedBatch, done: Done, failed: Failed
    ) -> None:
        waiting, self._waiting = self._waiting or [], None
        try:
            result = self._interop.finish_pending(batch, rendered)
        except KNOWN_FILE_ERRORS as error:
            log.exception("outbox not sent")
            failed(str(error))
        else:
            done(result)
        if waiting:

            def all_done(result: OutboxResult) -> None:
                for each, _ in waiting:
                    each(result)

            def all_failed(why: str) -> None:
                for _, each in waiting:
                    each(why)

            self.send(all_done, all_failed)
