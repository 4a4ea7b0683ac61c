"""The recovery passphrase of the clinic's signing authority, shown once when it is made.

It is never stored: if every administrator forgets their password, this passphrase is the only
way to issue or revoke physicians' certificates again. So the dialog asks the person to confirm
that they have written it down before it closes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class RecoveryPassphraseDialog(QDialog):
    def __init__(self, passphrase: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("TPI Chart — Recovery passphrase")
        intro = QLabel(
            "The clinic's signing authority was created: it issues each physician's signing "
            "certificate. Write this recovery passphrase down and keep it somewhere safe (a "
            "locked drawer, the clinic's password manager). It is shown only now and is not "
            "stored anywhere. You need it only if every administrator forgets their password."
        )
        intro.setWordWrap(True)
        self.passphrase = QLabel(passphrase)
        self.passphrase.setObjectName("recoveryPassphrase")
        self.passphrase.setAccessibleName("Recovery passphrase")
        self.passphrase.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(font.pointSize() + 3)
        self.passphrase.setFont(font)
        self.passphrase.setAlignment(Qt.AlignmentFlag.AlignCenter)
        copy = QPushButton("Copy to clipboard")
        copy.setAccessibleName("Copy the recovery passphrase")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(passphrase))
        self.confirmed = QCheckBox("I have written the recovery passphrase down")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        self.continue_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.continue_button.setText("Continue")
        self.continue_button.setEnabled(False)
        self.confirmed.toggled.connect(self.continue_button.setEnabled)
        self.buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.passphrase)
        layout.addWidget(copy, alignment=Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.confirmed)
        layout.addWidget(self.buttons)

    def reject(self) -> None:
        # Escape must not dismiss the only showing of the passphrase unconfirmed.
        if self.confirmed.isChecked():
            super().reject()

    @classmethod
    def show_once(cls, passphrase: str, parent: QWidget | None = None) -> None:
        cls(passphrase, parent).exec()
