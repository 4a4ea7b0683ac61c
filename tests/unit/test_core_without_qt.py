"""The core runs without Qt: importing every module of domain, storage, services, pdf, interop
and cli loads no PySide6 (`make test-core` runs the unit tests where PySide6 is not even
installed; this test says the same where it is)."""

from __future__ import annotations

import subprocess
import sys

CORE = ("domain", "storage", "services", "pdf", "interop", "cli")

IMPORT_ALL = f"""
import importlib, pkgutil, sys
import tpi_chart
names = []
for package in {CORE!r}:
    module = importlib.import_module("tpi_chart." + package)
    names.append(module.__name__)
    for info in pkgutil.walk_packages(module.__path__, module.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
print(len(names), sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6")))
"""


def test_no_core_module_imports_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    count, qt_modules = result.stdout.split(" ", 1)
    assert int(count) > 100  # every module was imported, not an empty walk
    assert qt_modules.strip() == "[]"
