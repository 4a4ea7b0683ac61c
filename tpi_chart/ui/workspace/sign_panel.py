"""The signing step: what is still missing, a reason field per open warning, and the Sign button;
once signed, the signature and the addenda, and a field to add a signed addendum.

Nothing here is modal: missing items and warnings are listed in the panel, the Sign button stays
disabled until the list is empty and every open warning has a reason. A signed note is never
edited: corrections are addenda, each hashed and shown below the original (here and in the PDF).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.rules import Evaluation
from tpi_chart.domain.signing import missing_items
from tpi_chart.ui.workspace.session import ChartSession, describe
from tpi_chart.ui.workspace.widgets import section_label

log = logging.getLogger(__name__)


class SignPanel(QScrollArea):
    signed = Signal()  # the note was signed, or an addendum was added to it
    failed = Signal(str)

    def __init__(self, session: ChartSession, signing: Any, can_sign: Callable[[], bool]) -> None:
        super().__init__()
        self.session = session
        self.signing = signing
        self.can_sign = can_sign
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 6)
        self.before_title = section_label("Before signing")
        layout.addWidget(self.before_title)
        self.missing = QLabel()
        self.missing.setObjectName("missingItems")
        self.missing.setWordWrap(True)
        layout.addWidget(self.missing)
        self.warnings_title = section_label("Warnings to acknowledge")
        layout.addWidget(self.warnings_title)
        # Each warning over the whole width with its reason field under it: side by side, the
        # long warnings were cut off and the field was too narrow to read what was typed.
        self.ack_box = QWidget()
        self.ack_layout = QVBoxLayout(self.ack_box)
        self.ack_layout.setContentsMargins(0, 0, 0, 0)
        self.ack_layout.setSpacing(4)
        layout.addWidget(self.ack_box)
        self.ack_fields: dict[str, QLineEdit] = {}
        self.sign_button = QPushButton("Sign note  (Ctrl+Enter)")
        self.sign_button.setObjectName("signButton")
        self.sign_button.setProperty("role", "primary")
        self.sign_button.clicked.connect(self.sign)
        layout.addWidget(self.sign_button)
        self.state = QLabel()
        self.state.setObjectName("signState")
        self.state.setWordWrap(True)
        layout.addWidget(self.state)

        self.addenda_box = QWidget()
        addenda = QVBoxLayout(self.addenda_box)
        addenda.setContentsMargins(0, 8, 0, 0)
        addenda.addWidget(section_label("Addenda"))
        self.addenda_list = QLabel()
        self.addenda_list.setObjectName("addendaList")
        self.addenda_list.setWordWrap(True)
        self.addenda_list.setTextFormat(Qt.TextFormat.PlainText)
        addenda.addWidget(self.addenda_list)
        self.addendum_text = QPlainTextEdit()
        self.addendum_text.setObjectName("addendumText")
        self.addendum_text.setPlaceholderText(
            "Correction or later information (the signed note itself stays as it was)"
        )
        self.addendum_text.setFixedHeight(90)
        self.addendum_text.textChanged.connect(self._update_addendum_button)
        addenda.addWidget(self.addendum_text)
        self.addendum_button = QPushButton("Sign addendum")
        self.addendum_button.setObjectName("addendumButton")
        self.addendum_button.clicked.connect(self.add_addendum)
        addenda.addWidget(self.addendum_button)
        self.addenda_box.hide()
        layout.addWidget(self.addenda_box)
        layout.addStretch(1)
        self.setWidget(body)
        self._warnings: list[Any] = []

    def refresh(self, evaluation: Evaluation | None) -> None:
        procedure = self.session.procedure
        if procedure is None:
            return
        signed = procedure.status == "signed" and procedure.signature is not None
        for widget in (self.before_title, self.missing, self.warnings_title, self.sign_button):
            widget.setVisible(not signed)
        if signed:
            assert procedure.signature is not None
            sig = procedure.signature
            self.missing.setText("")
            self.state.setText(
                f"✓ Signed by {sig.signed_by} at {sig.signed_at.astimezone():%Y-%m-%d %H:%M}"
            )
            self.sign_button.setEnabled(False)
            self._set_warnings([])
            self._show_addenda()
            return
        self.addenda_box.hide()
        items = missing_items(procedure)
        self.missing.setText(
            "\n".join(f"• {item.message}" for item in items)
            if items
            else "✓ Everything required is recorded"
        )
        warnings = list(evaluation.warnings) if evaluation is not None else []
        self._set_warnings(warnings)
        if self.signing is None:
            self.state.setText("Signing is not available in this installation.")
        elif not self.can_sign():
            self.state.setText("Only a physician can sign.")
        else:
            self.state.setText("")
        self._update_button()

    def _set_warnings(self, warnings: list[Any]) -> None:
        codes = [w.code for w in warnings]
        if codes == [w.code for w in self._warnings]:
            self._warnings = warnings
            return
        kept = {code: field.text() for code, field in self.ack_fields.items()}
        while self.ack_layout.count():
            item = self.ack_layout.takeAt(0)
            widget = item.widget()
            if widget is not None:  # gone at once, not only at the next turn of the event loop
                widget.hide()
                widget.setParent(None)
                widget.deleteLater()
        self.ack_fields = {}
        self._warnings = warnings
        for warning in warnings:
            if warning.code in self.ack_fields:
                continue
            field = QLineEdit(kept.get(warning.code, ""))
            field.setObjectName(f"ack_{warning.code}")
            field.setPlaceholderText("Reason (required to sign)")
            field.setToolTip(warning.message)
            field.setAccessibleName(f"Reason for signing despite: {warning.message}")
            field.textChanged.connect(lambda _t: self._update_button())
            label = QLabel(f"⚠ {warning.message}")
            label.setWordWrap(True)
            label.setObjectName(f"ackText_{warning.code}")
            self.ack_layout.addWidget(label)
            self.ack_layout.addWidget(field)
            self.ack_fields[warning.code] = field

    def _update_button(self) -> None:
        procedure = self.session.procedure
        ready = (
            procedure is not None
            and procedure.status != "signed"
            and not missing_items(procedure)
            and all(field.text().strip() for field in self.ack_fields.values())
            and self.signing is not None
            and self.can_sign()
        )
        self.sign_button.setEnabled(bool(ready))

    def _show_addenda(self) -> None:
        procedure = self.session.procedure
        assert procedure is not None
        self.addenda_box.show()
        self.addenda_list.setText(
            "\n\n".join(
                f"{a.author}, {a.at.astimezone():%Y-%m-%d %H:%M}"
                f" (SHA-256 {(a.content_hash or '')[:16]}…)\n{a.text}"
                for a in procedure.addenda
            )
            or "None."
        )
        self._update_addendum_button()

    def _update_addendum_button(self) -> None:
        self.addendum_button.setEnabled(
            bool(self.addendum_text.toPlainText().strip()) and self.can_sign()
        )
        self.addendum_button.setToolTip(
            "" if self.can_sign() else "Only a physician can add an addendum."
        )

    def add_addendum(self) -> None:
        text = self.addendum_text.toPlainText().strip()
        if not text or self.session.procedure_id is None or not self.can_sign():
            return
        try:
            self.signing.add_addendum(self.session.procedure_id, self.session.user, text)
        except Exception as error:
            log.info("addendum refused: %s", error)
            self.failed.emit(describe(error))
            return
        self.addendum_text.clear()
        self.signed.emit()

    def acknowledgements(self) -> dict[str, str]:
        return {code: field.text().strip() for code, field in self.ack_fields.items()}

    def sign(self) -> None:
        if not self.sign_button.isEnabled() or self.session.procedure_id is None:
            return
        try:
            self.signing.sign(self.session.procedure_id, self.session.user, self.acknowledgements())
        except Exception as error:
            log.info("signing refused: %s", error)
            self.failed.emit(describe(error))
            return
        self.signed.emit()
