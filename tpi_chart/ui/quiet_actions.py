"""Tool bar actions whose tooltip or enabled state changes on every edit (Undo, Redo) without
laying the whole tool bar out again each time.

A change of an action reaches the tool bar, which invalidates its layout, and the action's
button, which takes every property again (its icon too, which invalidates its size): the tool
bar then asks every button for its size, about a millisecond and a half per diagram click, for a
tooltip nobody is reading. Here the button takes only the enabled state and the tooltip, and the
tool bar is not told. So an action given here must keep its text, icon and visibility: those are
what the tool bar lays out by.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QActionEvent
from PySide6.QtWidgets import QToolBar


class _StateOnly(QObject):
    def __init__(self, bar: QToolBar, actions: Iterable[QAction]) -> None:
        super().__init__(bar)
        self.bar = bar
        self.actions = frozenset(actions)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ActionChanged:
            return False
        assert isinstance(event, QActionEvent)
        action = event.action()
        if action not in self.actions:
            return False
        if watched is not self.bar:
            button = self.bar.widgetForAction(action)
            if button is not None:
                button.setEnabled(action.isEnabled())
                button.setToolTip(action.toolTip())
        return True


def keep_layout_on_change(bar: QToolBar, actions: Iterable[QAction]) -> None:
    """`bar` and the buttons of `actions` (already added to it) no longer lay themselves out when
    one of `actions` changed its enabled state or tooltip."""
    actions = tuple(actions)
    quiet = _StateOnly(bar, actions)
    bar.installEventFilter(quiet)
    for action in actions:
        button = bar.widgetForAction(action)
        if button is not None:
            button.installEventFilter(quiet)
