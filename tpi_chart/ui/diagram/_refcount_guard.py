"""Guard against a PySide6 6.12.0 reference-counting bug on CPython 3.11.

With PySide6 6.12.0 on CPython < 3.12, every call of a Qt method that returns nothing releases
one reference to ``None`` that it never took. ``None`` starts with a few thousand references,
so after a few thousand Qt calls (a minute of use, one test module) the interpreter aborts with
"Fatal Python error: none_dealloc". From CPython 3.12 on ``None`` is immortal and nothing happens.

:func:`protect_none` detects the bug by measuring it (so a fixed PySide6 is left alone) and, only
if present, gives ``None`` a reference count it cannot run out of. It is idempotent.
"""

from __future__ import annotations

import ctypes
import sys

_done = False


def bug_present() -> bool:
    from PySide6.QtCore import QPointF

    point = QPointF()
    before = sys.getrefcount(None)
    for _ in range(8):
        point.setX(1.0)
    return sys.getrefcount(None) < before


def protect_none() -> bool:
    """Apply the guard if this interpreter needs it; True if it was applied (now or before)."""
    global _done
    if _done:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not bug_present():
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
    _done = True
    return True
