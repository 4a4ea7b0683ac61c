"""The one place that knows where the shipped data files live.

`resources/` is installed as the package `tpi_chart.resources` (setup.py maps it), so
`importlib.resources` finds it the same way in a checkout (editable install), an installed wheel
and a PyInstaller bundle.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import tpi_chart.resources as _shipped


def resources_dir() -> Path:
    root = files(_shipped)
    # reportlab and the font code need real file names: every supported install unpacks the
    # package onto disk (a zip import would not), so the traversable is a plain path.
    if not isinstance(root, Path):
        raise RuntimeError(
            f"TPI Chart's data files are not on disk ({root!r}); install it unpacked "
            "(pip, pipx or the desktop bundle), not as a zip"
        )
    return root


def resource_path(relative: str) -> Path:
    if ".." in Path(relative).parts:
        raise ValueError(f"resource path must stay inside resources/: {relative!r}")
    return resources_dir() / relative
