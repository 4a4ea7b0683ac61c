"""Telling when the Qt event loop is idle, for the benchmarks (kept small: the start benchmark
imports it into the process it times).

Without an event filter. The Python filter on the application this module used to count events
with cost every process it timed about 60 ms at the start (PySide6, handing a Python filter the
first object of a class it does not know, builds the Python enums of every Qt class it knows:
a bare window measured 164 ms without it and 224 ms with it, n=8 each) and then about 4 µs per
event (some 8,000 while the window of a visit opens).
"""

from __future__ import annotations

import time
from typing import Any

#: CPU time of the GUI thread in a pass of the event loop that finds nothing to do: about 0.02 ms
#: here; a pass that delivers anything a window does (a layout, a paint, a timer's work) takes
#: longer. CPU time, not wall time: a pass that waits for the interpreter lock (the start's
#: background import) or for a core (a loaded machine) has not done more.
QUIET_PASS_MS = 0.3
#: Passes in a row that must find nothing: one quiet pass may only be between two posted events.
QUIET_PASSES = 3


def run_until_idle(app: Any) -> float:
    """Process events until `QUIET_PASSES` passes in a row find nothing to do (timers due later,
    like the clock, are not waited for); returns the perf_counter() time at the end of the last
    pass that did work."""
    done = time.perf_counter()
    quiet = 0
    while quiet < QUIET_PASSES:
        cpu = time.thread_time()
        app.processEvents()
        if (time.thread_time() - cpu) * 1000 < QUIET_PASS_MS:
            quiet += 1
        else:
            quiet, done = 0, time.perf_counter()
    return done
