"""Small reusable pieces: the NRS button row, the saved indicator, the non-modal banner."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from tpi_chart.ui.style import repolish


class NrsRow(QWidget):
    """Pain on the 0–10 numeric rating scale as a row of large buttons; one click records it."""

    chosen = Signal(int)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        label = QLabel(title.replace("Pain ", "").capitalize())
        label.setToolTip(f"{title} (NRS 0-10)")
        label.setMinimumWidth(48)
        layout.addWidget(label)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: list[QPushButton] = []
        for score in range(11):
            button = QPushButton(str(score))
            button.setProperty("role", "nrs")
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(f"{title}: {score} of 10 (NRS)")
            button.setAccessibleName(f"{title} {score}")
            self.group.addButton(button, score)
            self.buttons.append(button)
            layout.addWidget(button)
        layout.addStretch(1)
        self.group.idClicked.connect(self.chosen)

    def set_value(self, value: int | None) -> None:
        self.group.setExclusive(False)
        for score, button in enumerate(self.buttons):
            button.setChecked(score == value)
        self.group.setExclusive(True)


class SavedIndicator(QLabel):
    """'Saved 09:41:12' after each committed edit; 'Saving…' only while the service works."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("No changes yet", parent)
        self.setObjectName("savedIndicator")
        self.setProperty("role", "muted")
        self.setMinimumWidth(150)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setToolTip("Every change is written to the database before it shows as saved")

    def show_saving(self) -> None:
        self.setText("Saving…")

    def show_saved(self, when: datetime) -> None:
        self.setText(f"✓ Saved {when:%H:%M:%S}")

    def show_failed(self) -> None:
        self.setText("✗ Not saved — see message")


class Banner(QFrame):
    """A non-modal message strip at the top of the workspace; it never blocks charting."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        close = QPushButton("Dismiss")
        close.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        close.clicked.connect(self.hide)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.setProperty("role", f"banner-{kind}")
        repolish(self)
        # A stale edit's message already says "Not saved:" (it is also read without a banner).
        prefix = "Not saved: " if kind == "error" and not text.startswith("Not saved") else ""
        self.label.setText(prefix + text)
        self.show()


def section_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "section")
    return label
