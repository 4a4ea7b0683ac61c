"""The Qt binding the app runs on must not corrupt the interpreter.

PySide6 6.12.0 under CPython 3.11 drops a reference to None on every Qt call that returns
nothing; after a few thousand calls (a minute of charting) Python aborts with
"Fatal Python error: none_dealloc". pyproject.toml excludes that release; this test fails if an
install ever brings a binding with the same fault back.
"""

from __future__ import annotations

import subprocess
import sys


def test_void_qt_calls_leave_the_reference_count_of_none_alone() -> None:
    # In a child process: with the faulty binding the interpreter aborts, which must not take
    # the test run down with it.
    script = (
        "import sys\n"
        "from PySide6.QtCore import QPointF\n"
        "point = QPointF()\n"
        "before = sys.getrefcount(None)\n"
        "for _ in range(200):\n"
        "    point.setX(1.0)\n"
        "print(before - sys.getrefcount(None))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) < 50  # other threads may hold a few; the fault drops all 200
