"""Checks the machine before `make run` / `make test` and says plainly what is missing.

Usage: doctor.py [python] [qt] [display]
"""

from __future__ import annotations

import os
import re
import sys

# Debian/Ubuntu package names for the shared libraries PySide6's wheels load.
QT_SYSTEM_PACKAGES = (
    "libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0 "
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 "
    "libxcb-image0 libxcb-xkb1"
)


def check_python() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (runs under any system python)
        sys.exit(f"TPI Chart needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        sys.exit("Python's venv module is missing. Install it: sudo apt-get install python3-venv")


def check_qt() -> None:
    try:
        from PySide6 import QtGui  # noqa: F401
    except ImportError as error:
        library = re.search(r"lib[\w.+-]+\.so[\d.]*", str(error))
        missing = f" ({library.group(0)} is missing)" if library else ""
        sys.exit(
            f"Qt cannot load{missing}: {error}\n"
            f"Install Qt's system libraries, then try again:\n"
            f"  sudo apt-get install -y {QT_SYSTEM_PACKAGES}"
        )


def check_display() -> None:
    if not sys.platform.startswith("linux"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        sys.exit(
            "No display: TPI Chart is a desktop application and needs a graphical session.\n"
            "Run it from a desktop, or on a headless machine try: xvfb-run -a make run"
        )
    missing = _missing_xcb_libraries()
    if missing:
        sys.exit(
            f"Qt's window system plugin cannot load: {', '.join(missing)} not found.\n"
            f"Install Qt's system libraries, then try again:\n"
            f"  sudo apt-get install -y {QT_SYSTEM_PACKAGES}"
        )


def _missing_xcb_libraries() -> list[str]:
    """Shared libraries the X11 platform plugin needs but the system lacks (Qt only says
    'could not load the Qt platform plugin' otherwise)."""
    import shutil
    import subprocess
    from pathlib import Path

    import PySide6

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists() or shutil.which("ldd") is None:
        return []
    output = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    return sorted({line.split()[0] for line in output.splitlines() if "not found" in line})


CHECKS = {"python": check_python, "qt": check_qt, "display": check_display}

if __name__ == "__main__":
    if sys.argv[1:] == ["--print-packages"]:
        print(QT_SYSTEM_PACKAGES)
        sys.exit(0)
    for name in sys.argv[1:] or list(CHECKS):
        CHECKS[name]()
