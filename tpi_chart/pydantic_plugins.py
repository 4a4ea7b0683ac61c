"""Pydantic without plugins.

Pydantic hands every validation to the plugins that any installed distribution registers under
its `pydantic` entry-point group. Here what is validated is patient records: an observability or
tracing package installed into the same environment would be handed every patient's data, and
the clinic never chose to run it. Finding those plugins also imports `importlib.metadata` (with
`email`, `zipfile` and `csv`), about 30 ms of every start and command spent for nothing: nothing
else in the app imports it (measured: CHANGELOG, issue 15).

`install` puts a loader that finds no plugins in the place of pydantic's
(`pydantic.plugin._loader`, which pydantic imports when it builds its first model), and sets
pydantic's documented switch, `PYDANTIC_DISABLE_PLUGINS`, too: should a later pydantic look for
its plugins elsewhere, they stay off. The value is set, not defaulted: an environment cannot turn
plugins back on. Installed by the `tpi_chart` package itself, before any of its modules imports
pydantic; a process that had built a pydantic model before importing `tpi_chart` keeps the loader
it has.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from types import ModuleType

LOADER = "pydantic.plugin._loader"


def get_plugins() -> Iterable[object]:
    """What pydantic's loader returns when plugins are disabled."""
    return ()


def install() -> None:
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    if LOADER in sys.modules:
        return
    loader = ModuleType(LOADER, f"TPI Chart's stand-in: no pydantic plugins ({__name__})")
    loader.get_plugins = get_plugins  # type: ignore[attr-defined]
    sys.modules[LOADER] = loader
