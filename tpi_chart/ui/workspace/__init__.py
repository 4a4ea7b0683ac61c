"""The charting workspace for one procedure: diagram, sites, syringes, checklist, rules, sign."""

from tpi_chart.ui.workspace.page import WorkspacePage

__all__ = ["WorkspacePage"]
