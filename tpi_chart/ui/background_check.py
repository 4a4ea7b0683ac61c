"""The whole-file integrity check of a large database, run after the window is up (issue 15):
the open only checks what is cheap, so a clinic's tenth year starts as fast as its first day."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMainWindow, QMessageBox

from tpi_chart.services.integrity import ClinicStore, full_check_due, run_full_check


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

    def start_when_idle(self) -> None:
        QTimer.singleShot(0, self.start)

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
