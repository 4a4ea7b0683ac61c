"""SQLite made slow on purpose, for the tests of what stops a long check."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest


def slow_connections(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Every connection opened from here on runs slowly until the returned event is set: its
    progress handler waits 20 ms before each step of SQLite's program, so a `PRAGMA
    quick_check` is still running when a test interrupts it; SQLite's own interrupt stops it at
    its next step."""
    release = threading.Event()
    connect = sqlite3.connect

    def slow(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_progress_handler(lambda: int(release.wait(0.02) and 0), 1)
        return conn

    monkeypatch.setattr(sqlite3, "connect", slow)
    return release


def wait_until_running(check: Any, seconds: float = 10) -> None:
    """Until the `FullCheck` `check` (run on another thread) has its query under way."""
    deadline = time.monotonic() + seconds
    while check._check._running is None:
        assert time.monotonic() < deadline, "the check did not start"
        time.sleep(0.001)
