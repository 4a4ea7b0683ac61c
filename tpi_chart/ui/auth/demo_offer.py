"""The "Try the demo" offer shared by the first-run and sign-in dialogs."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialogButtonBox, QLabel, QPushButton


def demo_offer(
    buttons: QDialogButtonBox, offered: bool, try_demo: Callable[[], None]
) -> tuple[QPushButton, QLabel]:
    """The button (added to `buttons` when `offered`) and the line that explains it.

    The demo is a separate database, never this one: a clinic tries the app without putting
    fake patients into its own records (issue 12, 7)."""
    button = QPushButton("Try the demo")
    button.setObjectName("tryDemo")
    button.setToolTip(
        "Open the demo clinic (fake patients, labelled DEMO) in its own database; "
        "nothing is added to this one"
    )
    button.setAutoDefault(False)
    button.clicked.connect(try_demo)
    if offered:
        buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
    else:
        button.hide()
    hint = QLabel(
        "Just looking? \u201cTry the demo\u201d opens a demo clinic with made-up patients "
        "in a separate database, labelled DEMO."
    )
    hint.setWordWrap(True)
    hint.setProperty("role", "muted")
    hint.setVisible(offered)
    return button, hint
