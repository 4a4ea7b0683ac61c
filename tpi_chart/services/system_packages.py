"""Debian/Ubuntu package names for the shared libraries PySide6's wheels load. Imports nothing,
so `tools/doctor.py` can read it with the system Python before any dependency is installed."""

QT_SYSTEM_PACKAGES = (
    "libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0 "
    "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 "
    "libxcb-image0 libxcb-xkb1"
)
