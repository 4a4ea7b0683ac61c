"""Keep PySide6 from holding the source text of every module the app imports.

From its first import on, PySide6 asks of every module imported whether it mentions "PySide6"
(PYSIDE-2029: only such a module takes part in its ``__feature__`` switches), and finds out with
``inspect.getsource``, which keeps every line read in ``linecache`` for the life of the process:
the text of the app's five hundred modules, about 10 MiB of a session's memory. The same answer,
read from the file without keeping it, is installed by ``tpi_chart.ui`` before the window's
modules are imported. Anything but a readable ``.py`` file is left to PySide6's own test.
"""

from __future__ import annotations

import linecache
import sys
from collections.abc import Callable
from types import ModuleType

_FEATURE = "shibokensupport.feature"
_TEST = "_mod_uses_pyside"


def _uncached(original: Callable[[ModuleType], bool]) -> Callable[[ModuleType], bool]:
    def uses_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return original(module)
        try:
            with open(path, "rb") as source:
                return b"PySide6" in source.read()
        except OSError:
            return original(module)

    uses_pyside.uncached = True  # type: ignore[attr-defined]
    return uses_pyside


def install() -> None:
    """Replace PySide6's test (once; nothing happens if this PySide6 has no such test, or
    without Qt at all: `tpi-chart doctor` imports the ui package to report that Qt is missing)."""
    try:
        import shiboken6  # noqa: F401 (loads shibokensupport.feature, where the test lives)
    except ImportError:
        return
    feature = sys.modules.get(_FEATURE)
    original = getattr(feature, _TEST, None)
    if feature is None or not callable(original) or getattr(original, "uncached", False):
        return
    setattr(feature, _TEST, _uncached(original))
    # What it read before (modules imported after PySide6 but before this): freed now, so the
    # window's own allocations reuse that memory. Lines are read again if a traceback needs them.
    linecache.clearcache()
