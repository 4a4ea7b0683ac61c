"""Slow work off the GUI thread (Anki's `taskman`): one worker thread runs a pure callable, and
its result or its exception comes back on the GUI thread, where the caller's handler runs.

What may run on the worker: Argon2 (a password check, a key opening), rendering a PDF from
domain objects to bytes. What may not: anything that touches a widget or the database (the
sqlite connection belongs to the GUI thread), so a task reads on the GUI thread first, computes
on the worker and writes on the GUI thread in its handler.

While a task runs the application shows the wait cursor and `busy_changed` carries a short label
("Checking the password…") for whichever status line is showing; the window keeps repainting
and its timers keep firing. An exception the caller did not say it expects is re-raised on the
GUI thread, where it reaches the crash dialog like any other bug.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication

log = logging.getLogger(__name__)

T = TypeVar("T")

WORKING = "Working…"


@dataclass(frozen=True)
class _Task(Generic[T]):
    on_done: Callable[[T], None]
    on_error: Callable[[Exception], None] | None
    expected: tuple[type[Exception], ...]


class TaskManager(QObject):
    """One worker thread, shared by the whole application (`tasks()`): tasks run one after the
    other, in the order given.

    Signals:
        busy_changed: the label of the task running (str), "" when none is.
    """

    busy_changed = Signal(str)
    # Carries (task, future) from the worker to the GUI thread: a queued connection, because the
    # emitting thread is not the one this object lives in.
    _finished = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tpi-worker")
        self._labels: list[str] = []
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return bool(self._labels)

    def run(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None],
        *,
        on_error: Callable[[Exception], None] | None = None,
        expected: tuple[type[Exception], ...] = (),
        label: str = WORKING,
    ) -> None:
        """Run `work()` on the worker; then, on the GUI thread, `on_done(result)`, or
        `on_error(error)` when it raised one of the `expected` exceptions. Any other exception
        is raised again on the GUI thread (a bug: the crash dialog)."""
        task = _Task(on_done, on_error, expected)
        self._labels.append(label)
        if len(self._labels) == 1:
            QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        self.busy_changed.emit(label)
        future = self._executor.submit(work)
        future.add_done_callback(lambda done: self._finished.emit(task, done))

    def prepare(self, work: Callable[[], object]) -> None:
        """Run `work()` on the worker in turn with the tasks, without the wait cursor or a
        label: preparation nobody asked for and nobody waits on (importing what a button the
        person is about to press needs). In turn with the tasks, so it never imports a module
        while a task imports the same ones. What it raises is logged and dropped: the task that
        needs the same work does it again and reports it."""

        def quietly() -> None:
            try:
                work()
            except Exception:
                log.warning("preparing in the background failed", exc_info=True)

        self._executor.submit(quietly)

    def _deliver(self, task: _Task[Any], future: Future[Any]) -> None:
        self._labels.pop(0)
        if not self._labels:
            QGuiApplication.restoreOverrideCursor()
        self.busy_changed.emit(self._labels[0] if self._labels else "")
        error = future.exception()
        if error is None:
            task.on_done(future.result())
            return
        if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit: not ours
            raise error
        if task.on_error is not None and isinstance(error, task.expected):
            task.on_error(error)
            return
        raise error

    def shutdown(self) -> None:
        """Wait for the task running (the ones queued behind it are dropped)."""
        self._executor.shutdown(wait=True, cancel_futures=True)


_manager: TaskManager | None = None


def tasks() -> TaskManager:
    """The application's task manager (made with the QApplication, which owns it)."""
    global _manager
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("tasks(): create the QApplication first")
    if _manager is None or _manager.parent() is not app:
        _manager = TaskManager(app)
        app.aboutToQuit.connect(_manager.shutdown)
    return _manager
