"""Layout chores shared by the panels that rebuild their rows."""

from __future__ import annotations

from PySide6.QtWidgets import QLayout, QWidget


def take_widgets(layout: QLayout) -> list[QWidget]:
    """Empty ``layout``; the widgets it held, in order (the caller deletes or keeps them)."""
    widgets: list[QWidget] = []
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widgets.append(widget)
    return widgets
