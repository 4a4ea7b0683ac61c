"""The whole-file integrity check of a large database, run after the window is up (issue 15):
the open only checks what is cheap, so a clinic's tenth year starts as fast as its first day."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMainWindow, QMessageBox

from tpi_chart.services.access import INTEGRITY_CHECK
from tpi_chart.services.charting import ChartingService
from tpi_chart.services.integrity import (
    ClinicStore,
    check_signed_at_open,
    full_check_due,
    run_full_check,
)

#: Slices of the signed-note re-hash after start-up (each `integrity.OPEN_BUDGET_S`), and the
#: time between them: with the start's own, a session covers over five times what a start did
#: when the start alone spent 0.15 s on it.
SLICES = 40
SLICE_EVERY_MS = 3000
#: Seconds since the last key or click within which a slice waits for the next turn.
BUSY_S = 2.0


class BackgroundCheck(QObject):
    """Runs `run_full_check` in a thread when one is due; a damaged file is shown in the
    window's status bar and a message (never silently)."""

    finished = Signal(list)

    def __init__(self, window: QMainWindow, store: ClinicStore) -> None:
        super().__init__(window)
        self._window = window
        self._store = store
        self.worker: threading.Thread | None = None
        self.problems: list[str] | None = None
        self.finished.connect(self._report)
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
        if lock is not None and lock.minutes * 60 - lock.seconds_left() < BUSY_S:
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

    def start(self) -> None:
        if self.worker is not None or not full_check_due(self._store):
            return
        self.worker = threading.Thread(target=self._run, name="tpi-chart-full-check", daemon=True)
        self.worker.start()

    def _run(self) -> None:
        self.finished.emit(run_full_check(self._store))  # queued to the window's thread

    def _report(self, problems: list[str]) -> None:
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
