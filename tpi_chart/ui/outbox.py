"""Sending the outbox from the window without drawing on its thread: the pending items are read
here, their files made on the worker thread (`InteropService.prepare_pending` →
`PendingBatch.render` → `finish_pending`), then written, audited and marked here.

Every note the window draws goes through the one worker, one at a time: reportlab keeps its font
registry (and the note module registers fonts on first use) in module state shared by the whole
process, without locks, so two drawings at once are not known to be safe.
"""

from __future__ import annotations

import logging
import weakref
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
        self._current: tuple[PendingBatch, Done, Failed] | None = None

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
        self._current = (batch, done, failed)
        # Only a weak reference rides with the task: a window closed meanwhile is not kept
        # alive (with its timers) by the files being made.
        sender = weakref.ref(self)
        tasks().run(batch.render, lambda rendered: _made(sender, rendered), label=SENDING)

    def stop(self) -> None:
        """The window closes: what is being made is dropped; the items stay pending and are
        sent by the next window (or `tpi-chart outbox --retry`)."""
        self._current = self._waiting = None

    def _write(self, rendered: RenderedBatch) -> None:
        if self._current is None:
            return
        (batch, done, failed), self._current = self._current, None
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


def _made(sender: weakref.ref[OutboxSender], rendered: RenderedBatch) -> None:
    alive = sender()
    if alive is not None:
        alive._write(rendered)
