"""The workspace's side-panel tabs (Problem, Checklist, Syringes, Outcome, Sign), each built the
first time it is shown or asked for.

Building all five took most of the time a restored visit adds to the start, and only one of them
is on screen then. A tab not yet built holds an empty placeholder; the panel replaces it when its
tab becomes current while the tabs are visible, or when code asks for it (`get`: the Sign key,
Ctrl+G, a "Not documented" link, the tests). The factory connects the panel's signals and the
caller's `on_built` brings it up to date with the document, so a panel built late shows what one
built at the start would show after the same edits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QTabWidget,
    QWidget,
)

from tpi_chart.ui.workspace.indication_panel import keep_field_keys


class SideTabs(QObject):
    def __init__(
        self,
        tabs: QTabWidget,
        specs: list[tuple[str, str, str, Callable[[], QWidget]]],
        on_built: Callable[[str, Any], None],
    ) -> None:
        """`specs`: (name, tab title, tab tooltip or "", factory) in tab order."""
        super().__init__(tabs)
        self.tabs = tabs
        self._specs = {
            name: (index, title, tip, make) for index, (name, title, tip, make) in enumerate(specs)
        }
        self._order = [name for name, *_ in specs]
        self._built: dict[str, Any] = {}
        self._on_built = on_built
        for _name, title, tip, _make in specs:
            index = tabs.addTab(QWidget(), title)
            if tip:
                tabs.setTabToolTip(index, tip)
        tabs.currentChanged.connect(self._current_changed)
        tabs.installEventFilter(self)

    def get(self, name: str) -> Any:
        """The panel, built now if it was not yet."""
        panel = self._built.get(name)
        return panel if panel is not None else self._build(name)

    def built(self) -> dict[str, Any]:
        """The panels built so far, by name (those not built have nothing to refresh)."""
        return self._built

    def build_current(self) -> None:
        """The panel of the current tab, before the tabs are first shown."""
        index = self.tabs.currentIndex()
        if 0 <= index < len(self._order):
            self.get(self._order[index])

    def build_all(self) -> None:
        for name in self._order:
            self.get(name)

    def _current_changed(self, index: int) -> None:
        if self.tabs.isVisible() and 0 <= index < len(self._order):
            self.get(self._order[index])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Qt shows the children before it sends the tabs their Show event: the swap below
        # happens before anything is painted.
        if watched is self.tabs and event.type() == QEvent.Type.Show:
            self._current_changed(self.tabs.currentIndex())
        return False

    def _build(self, name: str) -> Any:
        index, title, tip, make = self._specs[name]
        panel = make()
        self._built[name] = panel
        # In a field or an open list, Enter and the arrows edit or choose; they chart only when
        # the focus is elsewhere.
        for combo in panel.findChildren(QComboBox):
            keep_field_keys(combo)
            keep_field_keys(combo.view())
        for field in panel.findChildren(QLineEdit) + panel.findChildren(QAbstractSpinBox):
            keep_field_keys(field)
        for button in panel.findChildren(QAbstractButton):
            keep_field_keys(button)
        current = self.tabs.currentIndex()
        placeholder = self.tabs.widget(index)
        self.tabs.blockSignals(True)  # a swap, not a change of tab
        try:
            self.tabs.insertTab(index, panel, title)
            if tip:
                self.tabs.setTabToolTip(index, tip)
            self.tabs.removeTab(index + 1)
            self.tabs.setCurrentIndex(current)
        finally:
            self.tabs.blockSignals(False)
        if placeholder is not None:
            placeholder.deleteLater()
        self._on_built(name, panel)
        return panel
