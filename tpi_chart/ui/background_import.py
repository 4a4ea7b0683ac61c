"""Importing the rest of the app on a thread while the sign-in dialog is on screen.

Python and Qt take about as long to start as a bare window; the app's own modules (pydantic and
its models, the services, the window) take twice that again, and nothing of them is needed to
paint the sign-in dialog. They are imported here while the person types, so the dialog comes up
at about the speed of a bare window, and the window after the sign-in does not wait for them.

Imports are safe on a thread (each module has its own import lock); the modules imported here
create no Qt object when imported (a widget is built on the GUI thread when it is used). The GUI
thread imports nothing of them meanwhile: it waits (`wait`) before it opens the clinic. A failed
import is left for the GUI thread to repeat, which reports it as any start error is reported.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEventLoop, QObject, Signal
from PySide6.QtWidgets import QDialog

log = logging.getLogger(__name__)


class BackgroundImport(QObject):
    """Signals:
    finished: every module is imported (or one failed: see the module's docstring).

    `then`: pure work (no Qt) whose result the app caches, run after the imports on the same
    thread; like an import, what fails is left for the GUI thread to repeat."""

    finished = Signal()

    def __init__(
        self,
        modules: Sequence[str],
        parent: QObject | None = None,
        then: Sequence[Callable[[], object]] = (),
    ) -> None:
        super().__init__(parent)
        self._modules = tuple(modules)
        self._then = tuple(then)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tpi-chart-import", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            for name in self._modules:
                importlib.import_module(name)
            for work in self._then:
                work()
        except Exception:  # repeated, and reported, by the GUI thread's own import
            log.debug("background import stopped", exc_info=True)
        finally:
            # Set before the signal: `wait` tests the flag after connecting to the signal.
            self._done.set()
            self.finished.emit()

    def wait(self, dialog: QDialog | None = None) -> None:
        """Return when every module is imported, keeping the GUI responsive meanwhile (typing
        into `dialog`, which stops the wait early if it is closed; the imports still finish
        before this returns, so nothing is left importing on the thread)."""
        if not self._done.is_set():
            loop = QEventLoop()
            self.finished.connect(loop.quit)
            if dialog is not None:
                dialog.finished.connect(loop.quit)
            if not self._done.is_set() and (dialog is None or dialog.isVisible()):
                loop.exec()
        self._thread.join()
