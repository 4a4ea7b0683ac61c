"""Telling when the Qt event loop is idle, for the benchmarks (kept small: the start benchmark
imports it into the process it times)."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject


class EventCounter:
    """Counts every event Qt delivers (an application event filter), to tell when it is idle."""

    def __init__(self, app: Any) -> None:
        counter = self

        class Filter(QObject):
            def eventFilter(self, _watched: Any, _event: Any) -> bool:
                counter.count += 1
                return False

        self.count = 0
        self.filter = Filter()
        app.installEventFilter(self.filter)


def run_until_idle(app: Any, events: EventCounter) -> float:
    """Process events until a pass delivers none (timers due later, like the clock, are not
    waited for); returns the perf_counter() time at the end of the last pass that did work."""
    done = time.perf_counter()
    while True:
        before = events.count
        app.processEvents()
        if events.count == before:
            return done
        done = time.perf_counter()
