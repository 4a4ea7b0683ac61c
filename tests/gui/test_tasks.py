"""The one worker thread (`ui.tasks`): results and exceptions come back on the GUI thread, the
wait cursor shows while work runs, and an exception nobody expected reaches the excepthook."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tpi_chart.domain.errors import DomainError
from tpi_chart.ui.tasks import TaskManager, tasks


def gui_thread() -> bool:
    app = QApplication.instance()
    assert app is not None
    return QThread.currentThread() is app.thread()


def test_the_result_comes_back_on_the_gui_thread(qtbot: QtBot) -> None:
    manager = TaskManager()
    ran_on: list[str] = []
    results: list[tuple[int, bool]] = []

    def work() -> int:
        ran_on.append(threading.current_thread().name)
        return 42

    with qtbot.waitSignal(manager.busy_changed) as started:
        manager.run(work, lambda value: results.append((value, gui_thread())), label="Adding…")
    assert started.args == ["Adding…"]
    assert manager.busy
    cursor = QGuiApplication.overrideCursor()
    assert cursor is not None
    qtbot.waitUntil(lambda: results != [])
    assert results == [(42, True)]
    assert ran_on[0].startswith("tpi-worker")
    assert not manager.busy
    assert QGuiApplication.overrideCursor() is None
    manager.shutdown()


def test_tasks_run_one_after_the_other_in_order(qtbot: QtBot) -> None:
    manager = tasks()
    assert tasks() is manager  # one worker for the application
    release = threading.Event()
    done: list[int] = []
    manager.run(lambda: release.wait(5) and 1, done.append)
    manager.run(lambda: 2, done.append)
    qtbot.wait(50)
    assert done == []  # the second waits for the first
    release.set()
    qtbot.waitUntil(lambda: done == [1, 2])


def test_an_expected_exception_goes_to_the_handler(qtbot: QtBot) -> None:
    manager = TaskManager()
    errors: list[tuple[str, bool]] = []

    def refuse() -> int:
        raise DomainError("the procedure is signed")

    manager.run(
        refuse,
        lambda _value: pytest.fail("no result expected"),
        on_error=lambda error: errors.append((str(error), gui_thread())),
        expected=(DomainError,),
    )
    qtbot.waitUntil(lambda: errors != [])
    assert errors == [("the procedure is signed", True)]
    assert not manager.busy
    manager.shutdown()


def test_an_unexpected_exception_is_raised_on_the_gui_thread(qtbot: QtBot) -> None:
    """A bug in a task is not swallowed: it reaches the excepthook (the crash dialog), and the
    busy state ends."""
    manager = TaskManager()
    handled: list[Exception] = []

    def bug() -> int:
        raise KeyError("oops")

    with qtbot.captureExceptions() as raised:
        manager.run(bug, lambda _value: None, on_error=handled.append, expected=(DomainError,))
        qtbot.waitUntil(lambda: not manager.busy)
        qtbot.wait(10)
    assert handled == []
    assert [type(error) for _kind, error, _tb in raised] == [KeyError]
    assert QGuiApplication.overrideCursor() is None
    manager.shutdown()


def test_the_gui_thread_keeps_running_timers_while_a_task_works(qtbot: QtBot) -> None:
    manager = TaskManager()
    release = threading.Event()
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    done: list[bool] = []
    manager.run(lambda: release.wait(5), done.append)
    qtbot.waitUntil(lambda: len(ticks) >= 3)  # would time out if the work blocked the loop
    release.set()
    qtbot.waitUntil(lambda: done == [True])
    timer.stop()
    manager.shutdown()
