"""The workspace's keys (`keys.KEYMAP` → the handlers) and the way from a note field the Sign
tab names to the control where it is recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QScrollArea, QWidget

from tpi_chart.ui.diagram.framing import REGION_PRESETS
from tpi_chart.ui.workspace.keys import KEYMAP
from tpi_chart.ui.workspace.presets import volume_presets

if TYPE_CHECKING:
    from tpi_chart.ui.workspace.page import WorkspacePage

VIEWS = (
    ("anterior", "Front"),
    ("posterior", "Back"),
    ("head_left", "Head L"),
    ("head_right", "Head R"),
)


def install_actions(page: WorkspacePage) -> dict[str, QAction]:
    """One action per key of the keymap, on the page (so they act while it has the focus)."""
    handlers: dict[str, Callable[..., object]] = {
        "inject": page.inject_selected,
        "twitch_none": lambda: page.set_twitch("none"),
        "twitch_weak": lambda: page.set_twitch("weak"),
        "twitch_brisk": lambda: page.set_twitch("brisk"),
        "next": lambda: page.step(1),
        "previous": lambda: page.step(-1),
        "remove": page.remove_selected,
        "recode": page.recode_selected,
        "dry_needling": page.toggle_dry_needling,
        "add_site": page.add_site_by_name,
        "next_missing": lambda: next_missing(page),
        "pain_before": lambda: page.pain_before.setFocus(Qt.FocusReason.ShortcutFocusReason),
        "pain_after": lambda: page.pain_after.setFocus(Qt.FocusReason.ShortcutFocusReason),
        "timeout": page.record_time_out,
        "sign": lambda: page.sign_panel.sign(),
        "reload": page.reload_procedure,
        "undo": page.undo,
        "redo": page.redo,
    }
    presets = volume_presets()
    for index in range(4):
        if index < len(presets):
            handlers[f"volume_{index + 1}"] = lambda _c=False, v=presets[index]: page.set_volume(v)
    for view, _text in VIEWS:
        handlers[f"view_{view}"] = lambda _c=False, v=view: page.set_view(v)
    for preset in REGION_PRESETS:
        handlers[f"region_{preset[0]}"] = lambda _c=False, p=preset[0]: page.diagram.frame_region(p)
    handlers["pain_mode"] = lambda _c=False: page.diagram.set_pain_mode(not page.diagram.pain_mode)
    actions: dict[str, QAction] = {}
    for action_id, label, keys in KEYMAP:
        handler = handlers.get(action_id)
        if handler is None:
            continue
        action = QAction(label, page)
        action.setObjectName(f"action_{action_id}")
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(handler)
        page.addAction(action)
        actions[action_id] = action
    return actions


def field_widgets(page: WorkspacePage) -> dict[str, tuple[QWidget | None, QWidget | None]]:
    ind, chk, out = page.indication, page.checklist, page.outcome
    return {
        "diagnoses": (ind, ind.picker),
        "indication": (ind, ind.indication),
        "history": (ind, ind.onset),
        "conservative_therapy": (ind, ind.therapy),
        "rehab_program": (ind, ind.rehab),
        "prior_relief": (ind, ind.relief),
        "functional_score": (ind, ind.score),
        "consent": (chk, chk.consent),
        "safety_screen": (chk, next(iter(chk.safety.values()))),
        "site_marking": (chk, chk.timeout_button),
        "position": (chk, chk.position),
        "skin_prep": (chk, chk.skin_prep),
        "needle": (chk, chk.needle),
        "technique": (chk, next(iter(chk.technique.values()))),
        "pain_before": (None, page.pain_before),
        "pain_after": (None, page.pain_after),
        "complications": (out, out.no_complications),
        "tolerance": (out, out.tolerance),
        "aftercare": (out, out.aftercare),
        "follow_up": (out, out.follow_up),
    }


def focus_field(page: WorkspacePage, key: str) -> None:
    """Show the control where a note field is recorded (the Sign tab's links)."""
    panel, widget = field_widgets(page).get(key, (None, None))
    if key == "time_out":
        page.record_time_out()
        return
    if panel is not None:
        page.tabs.setCurrentWidget(panel)
        if widget is not None and isinstance(panel, QScrollArea):
            panel.ensureWidgetVisible(widget)
    if widget is not None:
        widget.setFocus(Qt.FocusReason.OtherFocusReason)


def next_missing(page: WorkspacePage) -> None:
    """To what still blocks signing (Ctrl+G): the first required field not documented, in
    the note's order, then the first warning without a reason; then the Sign button."""
    key = page.sign_panel.next_blocking()
    if key is None:
        page.tabs.setCurrentWidget(page.sign_panel)
        page.sign_panel.sign_button.setFocus(Qt.FocusReason.ShortcutFocusReason)
    elif key.startswith("ack_"):
        page.tabs.setCurrentWidget(page.sign_panel)
        field = page.sign_panel.ack_fields[key.removeprefix("ack_")]
        page.sign_panel.ensureWidgetVisible(field)
        field.setFocus(Qt.FocusReason.ShortcutFocusReason)
    else:
        focus_field(page, key)
