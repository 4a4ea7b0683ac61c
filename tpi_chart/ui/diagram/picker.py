"""The muscle picker: re-code a site (an uncoded one too) by typing part of a muscle's name or a
synonym (SCM, QL, pec minor), then a side. Opened from the site's row (double-click), its marker
(right-click) or the M key. Window-modal but not blocking: the caller reads `choice` on accept.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import UNSPECIFIED, load_catalog
from tpi_chart.domain.presentation import SIDE_WORDS

SIDES = tuple(SIDE_WORDS.items())


def muscle_matches(query: str) -> list[str]:
    """Muscle ids whose name or a synonym contains every typed word, best first (a name that
    starts with the query, then any other match), each group in catalog order."""
    words = query.lower().split()
    starts: list[str] = []
    others: list[str] = []
    for muscle in load_catalog().muscles.values():
        names = [muscle.name.lower(), *(s.lower() for s in muscle.synonyms)]
        text = " ".join(names)
        if not all(word in text for word in words):
            continue
        first = any(name.startswith(query.lower().strip()) for name in names)
        (starts if first and words else others).append(muscle.id)
    return starts + others


class MusclePicker(QDialog):
    def __init__(self, muscle: str, side: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("musclePicker")
        self.setWindowTitle("Muscle")
        self.setMinimumSize(420, 480)
        self.choice: tuple[str, str] | None = None
        heading = QLabel(title)
        heading.setProperty("role", "section")
        heading.setWordWrap(True)
        self.search = QLineEdit()
        self.search.setObjectName("muscleSearch")
        self.search.setAccessibleName("Search muscles")
        self.search.setPlaceholderText("Type a name or abbreviation: scm, ql, pec minor…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setObjectName("muscleList")
        self.list.setAccessibleName("Muscles")
        self.side_group = QButtonGroup(self)
        self.side_buttons: dict[str, QPushButton] = {}
        sides = QHBoxLayout()
        sides.addWidget(QLabel("Side"))
        for value, text in SIDES:
            button = QPushButton(text)
            button.setCheckable(True)
            button.setAutoDefault(False)  # Enter always means "use this muscle"
            button.setObjectName(f"side_{value}")
            button.setAccessibleName(f"Side: {text.lower()}")
            self.side_group.addButton(button)
            self.side_buttons[value] = button
            sides.addWidget(button)
        sides.addStretch(1)
        self.side_buttons.get(side, self.side_buttons["left"]).setChecked(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Use this muscle")
        self.ok_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(sides)
        layout.addWidget(buttons)
        self.search.textChanged.connect(self._filter)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.list.currentItemChanged.connect(lambda *_a: self._enable())
        self._filter("")
        if muscle != UNSPECIFIED:
            self.select(muscle)
        self.search.setFocus()

    def _filter(self, text: str) -> None:
        catalog = load_catalog()
        current = self.current_muscle()
        self.list.clear()
        for muscle_id in muscle_matches(text):
            muscle = catalog.muscles[muscle_id]
            extra = f"  ({', '.join(muscle.synonyms)})" if muscle.synonyms else ""
            item = QListWidgetItem(muscle.name + extra)
            item.setData(Qt.ItemDataRole.UserRole, muscle_id)
            self.list.addItem(item)
        if current is not None and not text:
            self.select(current)
        elif self.list.count():
            self.list.setCurrentRow(0)
        self._enable()

    def _enable(self) -> None:
        self.ok_button.setEnabled(self.current_muscle() is not None)

    def select(self, muscle: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == muscle:
                self.list.setCurrentRow(row)
                return

    def current_muscle(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def current_side(self) -> str:
        return next(v for v, b in self.side_buttons.items() if b.isChecked())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Up/Down move in the list while the search field keeps the typing.
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.search.hasFocus():
            row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
            return
        super().keyPressEvent(event)

    def accept(self) -> None:
        muscle = self.current_muscle()
        if muscle is None:
            return
        self.choice = (muscle, self.current_side())
        super().accept()
