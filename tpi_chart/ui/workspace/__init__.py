"""The charting workspace for one procedure: diagram, sites, syringes, checklist, rules, sign.

`WorkspacePage` is imported on first use: the main window starts on the patient page and builds
the workspace only when a procedure opens, so importing this package (e.g. for `keys` or
`header`) does not pull in the diagram and the rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tpi_chart.ui.workspace.page import WorkspacePage

__all__ = ["WorkspacePage"]


def __getattr__(name: str) -> Any:
    if name == "WorkspacePage":
        from tpi_chart.ui.workspace.page import WorkspacePage

        return WorkspacePage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
