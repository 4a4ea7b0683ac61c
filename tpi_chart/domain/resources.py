"""The one place that knows where the shipped data files live."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    # A frozen bundle (PyInstaller) unpacks next to sys._MEIPASS; a checkout keeps resources/
    # beside the package.
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def resource_path(relative: str) -> Path:
    if ".." in Path(relative).parts:
        raise ValueError(f"resource path must stay inside resources/: {relative!r}")
    return resources_dir() / relative
