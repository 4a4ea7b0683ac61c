"""What floats over the diagram: the placement warning strip and the "Here:" chooser offered
where muscle zones overlap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from tpi_chart.domain.catalog import UNSPECIFIED, load_catalog
from tpi_chart.ui.layouts import take_widgets


def warnings_for(muscle: str) -> list[tuple[str, str]]:
    """(kind, text) messages shown when a site lands on ``muscle``; kind "risk" or "caution"."""
    catalog = load_catalog()
    if muscle == UNSPECIFIED:
        return [("caution", catalog.unspecified_message)]
    entry = catalog.muscles.get(muscle)
    if entry is None:
        return []
    name = entry.name
    out: list[tuple[str, str]] = []
    for risk in entry.risks:
        kind = "risk" if risk.flag == "pneumothorax" else "caution"
        out.append((kind, f"{name}: {risk.message}"))
    return out


class WarningBanner(QFrame):
    """A non-modal warning strip over the diagram; it never blocks charting.

    A placement warning (risk, caution) goes away by itself after `SHOW_MS`, or when another
    view is shown: the rules panel keeps listing it, and the strip must not go on hiding the
    picture the physician charts on. "Not saved" errors stay until dismissed."""

    SHOW_MS = 6000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.setObjectName("diagramWarning")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setObjectName("diagramWarningText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.dismiss.clicked.connect(self.hide)
        layout.addWidget(self.dismiss)
        self.kind = ""
        self._sheet = ""
        self.hide()

    def show_message(self, text: str, kind: str) -> None:
        self.kind = kind
        colours = {
            "risk": ("#fdecea", "#b3261e"),
            "caution": ("#fff4e0", "#a15c00"),
            "error": ("#fdecea", "#b3261e"),
        }
        background, ink = colours.get(kind, ("#eef4fa", "#1f6fb2"))
        sheet = (
            f"QFrame#diagramWarning {{ background: {background}; border: 1px solid {ink};"
            f" border-radius: 6px; }} QLabel#diagramWarningText {{ color: {ink};"
            " font-weight: 600; }"
        )
        if sheet != self._sheet:  # setting a style sheet re-polishes the strip: only on change
            self._sheet = sheet
            self.setStyleSheet(sheet)
        self.label.setText(text)
        self.show()
        self.keep_showing()

    def keep_showing(self) -> None:
        if self.kind == "error":
            self._timer.stop()
        else:
            self._timer.start(self.SHOW_MS)


class HereChooser(QFrame):
    """After a click where zones overlap: "Here: pectoralis major / pectoralis minor", the coded
    one checked; a click on another re-codes the site just placed (one undoable step)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hereChooser")
        self.setStyleSheet(
            "QFrame#hereChooser { background: #eef4fa; border: 1px solid #1f6fb2;"
            " border-radius: 6px; }"
        )
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 2, 4, 2)
        self.buttons: list[QPushButton] = []
        self.site_id: int | None = None
        self.hide()

    def offer(
        self,
        site_id: int,
        choices: Sequence[tuple[str, str]],
        chosen: tuple[str, str],
        pick: Callable[[int, str, str], object],
    ) -> None:
        for widget in take_widgets(self._layout):
            widget.deleteLater()
        self.site_id = site_id
        label = QLabel("Here:")
        label.setStyleSheet("color: #175a91; font-weight: 600;")
        self._layout.addWidget(label)
        catalog = load_catalog()
        self.buttons = []
        for muscle, side in choices:
            button = QPushButton(catalog.muscle_name(muscle))
            button.setCheckable(True)
            button.setChecked((muscle, side) == chosen)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAccessibleName(f"Code this site as {catalog.muscle_name(muscle)}")
            button.clicked.connect(partial(self._picked, pick, site_id, muscle, side))
            self._layout.addWidget(button)
            self.buttons.append(button)
        self.adjustSize()
        self.move(6, 6)
        self.show()
        self.raise_()

    def _picked(
        self,
        pick: Callable[[int, str, str], object],
        site_id: int,
        muscle: str,
        side: str,
        _checked: bool = False,
    ) -> None:
        pick(site_id, muscle, side)
        self.hide()
