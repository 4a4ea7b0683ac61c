"""The interactive body diagram (product.md §3).

:class:`BodyDiagram` is the widget the workspace embeds; the picture comes from
:mod:`tpi_chart.domain.diagram` and every edit is an undo command (:mod:`tpi_chart.ui.commands`)
on the procedure document (:mod:`tpi_chart.ui.document`); see :mod:`tpi_chart.ui.diagram.widget`
for the flow and the keys.
"""

from tpi_chart.ui.diagram.widget import BodyDiagram, DiagramLegend, WarningBanner

__all__ = ["BodyDiagram", "DiagramLegend", "WarningBanner"]
