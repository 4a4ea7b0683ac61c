"""The interactive body diagram (product.md §3).

:class:`BodyDiagram` is the widget the workspace embeds; the picture comes from
:mod:`tpi_chart.domain.diagram` and every edit goes through the charting service as an undo
command (see :mod:`tpi_chart.ui.diagram.widget` for the flow and the keys).
"""

from tpi_chart.ui.diagram._refcount_guard import protect_none
from tpi_chart.ui.diagram.widget import BodyDiagram, DiagramLegend, WarningBanner

# PySide6 6.12.0 on CPython 3.11 aborts the process after a few thousand Qt calls unless guarded
# (see _refcount_guard); the guard should move to application start-up (ui/launch.py).
protect_none()

__all__ = ["BodyDiagram", "DiagramLegend", "WarningBanner"]
