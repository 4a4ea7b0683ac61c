"""The whole-file integrity check of a large database, run after the window is up (issue 15):
the open only checks what is cheap, so a clinic's tenth year starts as fast as its first day."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMainWindow, QMessageBox

from tpi_chart.services.access import INTEGRITY_CHECK
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.integrity import (
    ClinicStore,
    FullCheck,
    check_signed_at_open,
    full_check_due,
)
from tpi_chart.ui.window_watch import WindowWatch, window_watch

if TYPE_CHECKING:
    from PySide6.QtGui import QInputEvent, QWindow

#: Slices of the signed-note re-hash after start-up (each `integrity.OPEN_BUDGET_S`), and the
#: time between them: with the start's own, a session covers over five times what a start did
#: when the start alone spent 0.15 s on it.
SLICES = 40
SLICE_EVERY_MS = 3000
#: Seconds since the last key or click within which a slice waits for the next turn.
BUSY_S = 2.0
#: Seconds without a key, click or mouse move before the whole-file check starts; the next one
#: stops it (it starts again from the beginning when the window is quiet again). It reads the
#: whole file, 4 min for the 2 GB clinic on this machine, and every click it overlapped waited on
#: the disk: clicks on that clinic measured p50 14 ms, p95 17-52 ms while it ran, against 9.6 /
#: 14 ms without it (benchmarks/README.md, round 8).
QUIET_BEFORE_FULL_CHECK_S = 30.0
#: How often a due check looks whether the window has been quiet long enough.
FULL_CHECK_POLL_MS = 5000
#: How often the window looks whether the running check's thread is done.
RESULT_POLL_MS = 200

log = logging.getLogger(__name__)


class BackgroundCheck(QObject):
    """Runs the whole-file check (`FullCheck`) in a thread when one is due and nobody is using
    the window, and stops it when someone does; a damaged file is shown in the window's status
    bar and a message (never silently).

    The thread touches no Qt object: it leaves its outcome where the window's thread looks for
    it (`RESULT_POLL_MS`). A signal emitted from it could outlive this object: when the window
    is closed mid-check (the workstation handed over at the idle lock), the thread's emit on
    the deleted object raised in the thread."""

    def __init__(self, window: QMainWindow, store: ClinicStore) -> None:
        super().__init__(window)
        self._window = window
        self._store = store
        self.worker: threading.Thread | None = None
        self.problems: list[str] | None = None
        self.interruptions = 0
        self._running: FullCheck | None = None
        #: The thread's outcome once it is done: the problems found, None when it was
        #: interrupted, or what stopped it.
        self._outcome: list[list[str] | Exception | None] = []
        self._result_poll = QTimer(self)
        self._result_poll.setInterval(RESULT_POLL_MS)
        self._result_poll.timeout.connect(self._collect)
        self._quiet_poll = QTimer(self)
        self._quiet_poll.setInterval(FULL_CHECK_POLL_MS)
        self._quiet_poll.timeout.connect(self._start_if_quiet)
        watch = window_watch()
        watch.add(self._on_input)
        watch.attach(window)  # shown by now: its input is seen without waiting for the focus
        window.destroyed.connect(lambda: self._let_go(watch))
        # The signed-note re-hash the open keeps short goes on here: SLICES slices of its
        # budget (a few ms each), SLICE_EVERY_MS apart, so a click rarely meets one.
        self.slices_left = SLICES
        self._slices = QTimer(self)
        self._slices.setInterval(SLICE_EVERY_MS)
        self._slices.timeout.connect(self._rehash_slice)

    def start_when_idle(self) -> None:
        QTimer.singleShot(0, self.start)
        self._slices.start()

    def _rehash_slice(self) -> None:
        """Re-hash a few more signed notes, where the last check stopped (on the window's
        thread: the notes are read through its connection); stop once the slices are used."""
        if not self._window.isVisible():  # closed (handed over, or the app is ending)
            self._slices.stop()
            return
        lock = getattr(self._window, "idle_lock", None)
        if lock is not None and lock.is_locked:
            return  # nothing is shown over the lock screen; the next slice runs after it
        if self._seconds_since_input() < BUSY_S:
            return  # someone is charting: a click must not wait for a slice
        self.slices_left -= 1
        if self.slices_left <= 0:
            self._slices.stop()
        problems = check_signed_at_open(self._store, ChartingService(self._store, INTEGRITY_CHECK))
        if problems:
            self._slices.stop()
            self._window.statusBar().showMessage(f"Integrity check: {problems[0]}")
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                "Integrity check",
                f"{problems[0]}. Run `tpi-chart audit verify`.",
                parent=self._window,
            )
            box.open()

    def _seconds_since_input(self) -> float:
        """Since the last key, click or mouse move in the app (the idle lock keeps the time;
        a window without one counts as unused)."""
        lock = getattr(self._window, "idle_lock", None)
        if lock is None:
            return float("inf")
        return float(lock.minutes * 60 - lock.seconds_left())

    def start(self) -> None:
        """Look for a quiet moment to check the whole file, when a check is due."""
        if self._quiet_poll.isActive() or self.problems is not None:
            return
        if not full_check_due(self._store):
            return
        self._quiet_poll.start()
        self._start_if_quiet()

    def _start_if_quiet(self) -> None:
        if not self._window.isVisible():  # closed (handed over, or the app is ending)
            self._quiet_poll.stop()
            return
        if self._running is not None or self._seconds_since_input() < QUIET_BEFORE_FULL_CHECK_S:
            return
        self._running = check = FullCheck(self._store)
        outcome: list[list[str] | Exception | None] = []
        self._outcome = outcome

        def run() -> None:
            try:
                outcome.append(check.run())
            except Exception as error:  # told by the window's thread
                outcome.append(error)

        self.worker = threading.Thread(target=run, name="tpi-chart-full-check", daemon=True)
        self.worker.start()
        self._result_poll.start()

    def _collect(self) -> None:
        if not self._outcome:
            return  # still reading
        self._result_poll.stop()
        (found,) = self._outcome
        if isinstance(found, Exception):
            # Not a finding about the file (that is a list of problems): it stays due, and the
            # next start checks again.
            self._running = None
            self._quiet_poll.stop()
            log.warning("the whole-file check could not run: %s", type(found).__qualname__)
            return
        self._report(found)

    def _on_input(self, _window: QWindow, _event: QInputEvent) -> None:
        """Someone is using the window: a running whole-file check stops now, and starts
        again after the next quiet `QUIET_BEFORE_FULL_CHECK_S`."""
        if self._running is not None and not self._running.interrupted:
            self._running.interrupt()

    def _let_go(self, watch: WindowWatch) -> None:
        # The window is gone (its database closes next): the check stops with it.
        if self._running is not None:
            self._running.interrupt()
        watch.remove(self._on_input)

    def _report(self, problems: list[str] | None) -> None:
        self._running = None
        if problems is None:
            self.interruptions += 1
            return  # stopped for someone using the window: the poll starts it again
        self._quiet_poll.stop()
        self.problems = problems
        if not problems:
            return
        message = (
            f"The database {self._store.path} failed its integrity check ({problems[0]}). "
            "Run `tpi-chart doctor`, and restore the latest good backup with `tpi-chart restore "
            "FILE`; the file was not changed."
        )
        self._window.statusBar().showMessage(f"Integrity check: {problems[0]}")
        box = QMessageBox(QMessageBox.Icon.Warning, "Integrity check", message, parent=self._window)
        box.open()  # not modal: the check must not stop a visit in progress
