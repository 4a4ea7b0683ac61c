"""The one place that knows where the shipped data files live.

`resources/` is installed as the package `tpi_chart.resources` (setup.py maps it), a folder on
disk in a checkout (editable install), an installed wheel and a PyInstaller bundle alike: the
package's own folder is where its files are. (`importlib.resources` says the same for a package
on disk, and costs 3 ms of import before the sign-in dialog's first paint.)
"""

from __future__ import annotations

from pathlib import Path

import tpi_chart.resources as _shipped


def resources_dir() -> Path:
    location = _shipped.__file__
    root = Path(location).parent if location else None
    # reportlab, Qt's style sheet and the font code need real file names: every supported
    # install unpacks the package onto disk (a zip import would not).
    if root is None or not root.is_dir():
        raise RuntimeError(
            f"TPI Chart's data files are not on disk ({root!r}); install it unpacked "
            "(pip, pipx or the desktop bundle), not as a zip"
        )
    return root


def resource_path(relative: str) -> Path:
    if ".." in Path(relative).parts:
        raise ValueError(f"resource path must stay inside resources/: {relative!r}")
    return resources_dir() / relative
