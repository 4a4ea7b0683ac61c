"""Checks the machine before `make run` / `make test` and says plainly what is missing.

Usage: doctor.py [python] [qt] [display] | --print-packages

A bootstrap for the Makefile: `python` runs under the system Python before the virtual
environment exists. The checks themselves live in the package (`tpi_chart.services.doctor`, the
same ones `tpi-chart doctor` prints); this only stops `make` with their message.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Imports nothing else: works under the system Python before the dependencies are installed.
from tpi_chart.services.system_packages import QT_SYSTEM_PACKAGES


def check_python() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (runs under any system python)
        sys.exit(f"TPI Chart needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        sys.exit("Python's venv module is missing. Install it: sudo apt-get install python3-venv")


def check_qt() -> None:
    from tpi_chart.ui.doctor_checks import qt_checks

    for check in qt_checks():
        if check.status == "attention":
            sys.exit(
                f"{check.detail}\nInstall Qt's system libraries, then try again:\n"
                f"  sudo apt-get install -y {QT_SYSTEM_PACKAGES}"
            )


def check_display() -> None:
    from tpi_chart.services.doctor import check_display as display
    from tpi_chart.services.doctor import check_system_libraries

    for check in (display(), check_system_libraries()):
        if check.status == "attention":
            sys.exit(check.detail)


CHECKS = {"python": check_python, "qt": check_qt, "display": check_display}

if __name__ == "__main__":
    if sys.argv[1:] == ["--print-packages"]:
        print(QT_SYSTEM_PACKAGES)
        sys.exit(0)
    for name in sys.argv[1:] or list(CHECKS):
        CHECKS[name]()
