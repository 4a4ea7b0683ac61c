"""SQLite made slow on purpose, for the tests of what stops a long check."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest


def slow_connections(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Every connection opened from here on runs slowly until the returned event is set: its
    progress handler waits 20 ms before each step of SQLite's program, so a `PRAGMA
    quick_check` is still running when a test interrupts it. A progress handler the code under
    test sets is kept and called after the wait (SQLite keeps only one per connection)."""
    release = threading.Event()
    connect = sqlite3.connect

    class SlowConnection(sqlite3.Connection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._then: Callable[[], int] | None = None
            super().set_progress_handler(self._step, 1)

        def _step(self) -> int:
            release.wait(0.02)
            return self._then() if self._then is not None else 0

        def set_progress_handler(self, handler: Callable[[], int] | None, n: int) -> None:
            self._then = handler

    def slow(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return connect(*args, factory=SlowConnection, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", slow)
    return release


def wait_until_running(check: Any, seconds: float = 10) -> None:
    """Until the `FullCheck` `check` (run on another thread) has its query under way."""
    deadline = time.monotonic() + seconds
    while check._check._running is None:
        assert time.monotonic() < deadline, "the check did not start"
        time.sleep(0.001)
