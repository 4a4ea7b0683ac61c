"""Small reusable pieces: the NRS button row, the saved indicator, the non-modal banner."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QElapsedTimer, QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from tpi_chart.ui.style import repolish

#: A "1" then a "0" typed within this many ms is a 10, not a 1 then a 0.
TEN_WITHIN_MS = 900
_NRS_KEYS = {getattr(Qt.Key, f"Key_{digit}"): digit for digit in range(10)}
_NRS_STEPS = {
    Qt.Key.Key_Left: -1,
    Qt.Key.Key_Down: -1,
    Qt.Key.Key_Right: 1,
    Qt.Key.Key_Up: 1,
}


def show_from_start(edit: QLineEdit, text: str) -> None:
    """`text` in `edit`, its first words in view: `setText` leaves the cursor at the end, so a
    text longer than the field showed only its last words ("l and 3 cm superior to …"). While
    the person is typing there, the cursor stays where they are."""
    edit.setText(text)
    if not edit.hasFocus():
        edit.setCursorPosition(0)


class NrsRow(QWidget):
    """Pain on the 0–10 numeric rating scale as a row of large buttons; one click records it.

    By keyboard (Tab to the row, or the workspace's pain keys): a digit records that score, "1"
    then "0" records 10, arrows step, Home/End record 0/10. The row, not each button, takes the
    focus, so the digits reach it before the workspace's twitch keys (0, 1, 2)."""

    chosen = Signal(int)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName(f"{title}, NRS 0 to 10: type the score")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setProperty("role", "nrsRow")
        self._value: int | None = None
        self._since_one = QElapsedTimer()
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

    def value(self) -> int | None:
        return self._value

    def _keyed(self, event: QKeyEvent) -> int | None:
        """The score a key asks for, or None when the key is not for this row."""
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return None
        key = Qt.Key(event.key())
        if key in _NRS_KEYS:
            digit = _NRS_KEYS[key]
            ten = digit == 0 and self._since_one.isValid()
            ten = ten and self._since_one.elapsed() < TEN_WITHIN_MS and self._value == 1
            return 10 if ten else digit
        if key in _NRS_STEPS:
            current = self._value if self._value is not None else 0
            return max(0, min(10, current + _NRS_STEPS[key]))
        if key == Qt.Key.Key_Home:
            return 0
        if key == Qt.Key.Key_End:
            return 10
        return None

    def event(self, event: QEvent) -> bool:
        # Claim the digits before the workspace's shortcuts (0/1/2 = twitch) take them.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and self._keyed(event) is not None
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        score = self._keyed(event)
        if score is None:
            super().keyPressEvent(event)
            return
        event.accept()
        if score == 1:
            self._since_one.start()
        else:
            self._since_one.invalidate()
        if score != self._value:
            self.set_value(score)
            self.chosen.emit(score)

    def set_value(self, value: int | None) -> None:
        self._value = value
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
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.dismiss.clicked.connect(self.hide)
        layout.addWidget(self.dismiss)
        self.hide()

    def show_message(self, text: str, kind: str = "error", *, dismissible: bool = True) -> None:
        """`dismissible=False` for a state that lasts (read-only while another room holds
        the procedure): its explanation stays as long as it does."""
        self.dismiss.setVisible(dismissible)
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
