"""The workspace's keyboard map: what each charting key does (also the "Keys" help panel).

Kept apart from the page so the main window can list the keys without building the workspace.
"""

from __future__ import annotations

# (action id, label, keys)
KEYMAP: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("inject", "Mark selected planned site injected", ("Space", "Return", "Enter")),
    ("twitch_none", "Twitch: none (injects a planned site, then next)", ("N", "0")),
    ("twitch_weak", "Twitch: weak (injects a planned site, then next)", ("W", "1")),
    ("twitch_brisk", "Twitch: brisk (injects a planned site, then next)", ("B", "2")),
    ("volume_1", "Volume preset 1", ("Alt+1",)),
    ("volume_2", "Volume preset 2", ("Alt+2",)),
    ("volume_3", "Volume preset 3", ("Alt+3",)),
    ("volume_4", "Volume preset 4", ("Alt+4",)),
    ("next", "Next site", ("J", "Down")),
    ("previous", "Previous site", ("K", "Up")),
    ("view_anterior", "Front view", ("F1",)),
    ("view_posterior", "Back view", ("F2",)),
    ("view_head_left", "Head, left side", ("F3",)),
    ("view_head_right", "Head, right side", ("F4",)),
    ("region_neck_shoulders", "Zoom to neck and shoulders", ("S",)),
    ("region_upper_back", "Zoom to upper back", ("U",)),
    ("region_low_back_hip", "Zoom to low back and hip", ("L",)),
    ("region_jaw_head", "Zoom to jaw and head", ("H",)),
    ("add_site", "Add a site by name (muscle and side; no mouse needed)", ("A",)),
    ("pain_before", "Pain before: go to it, then type 0–10", ("P",)),
    ("pain_after", "Pain after: go to it, then type 0–10", ("Shift+P",)),
    ("dry_needling", "Dry needling on/off (no injectate at the site)", ("D",)),
    ("recode", "Muscle… (re-code the selected site)", ("M",)),
    ("pain_mode", "Pain drawing on / off (shade where it hurts)", ("Ctrl+D",)),
    ("remove", "Remove selected site (undoable)", ("Delete",)),
    ("timeout", "Time-out done (you, now)", ("Ctrl+T",)),
    ("next_missing", "Go to what still blocks signing", ("Ctrl+G",)),
    ("sign", "Sign the note", ("Ctrl+Return",)),
    ("reload", "Reload the procedure as stored (another room's changes)", ("F5",)),
    ("undo", "Undo", ("Ctrl+Z",)),
    ("redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y")),
)
# Tab / Shift+Tab move between sites while the site table has the focus (SiteTableView).


def keys_help() -> list[tuple[str, str]]:
    """(what, keys) rows for the "Keys" panel."""
    rows = [(label, " or ".join(keys)) for _id, label, keys in KEYMAP]
    rows.append(("Next / previous site in the table", "Tab / Shift+Tab"))
    return rows
