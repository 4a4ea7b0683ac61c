"""Telling when the Qt event loop is idle, for the benchmarks (kept small: the start benchmark
imports it into the process it times).

Without an event filter: a Python filter on the application is called for every event Qt
delivers, about 4 µs each here, and the window of a visit takes some 8,000 events to open. The
filter this module used to count events with added about 35 ms to that start and next to nothing
to the bare window it is compared with.
"""

from __future__ import annotations

import time
from typing import Any

#: A pass of the event loop that finds nothing to do takes about 0.02 ms here; a pass that
#: delivers anything a window does (a layout, a paint, a timer's work) takes longer than this.
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
        begin = time.perf_counter()
        app.processEvents()
        end = time.perf_counter()
        if (end - begin) * 1000 < QUIET_PASS_MS:
            quiet += 1
        else:
            quiet, done = 0, end
    return done
