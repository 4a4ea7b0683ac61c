"""The signing step: what is still missing, a reason field per open warning, and the Sign button.

Nothing here is modal: missing items and warnings are listed in the panel, the Sign button stays
disabled until the list is empty and every open warning has a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.signing import missing_items
from tpi_chart.ui.workspace.session import ChartSession, describe
from tpi_chart.ui.workspace.widgets import section_label

log = logging.getLogger(__name__)


class SignPanel(QScrollArea):
    signed = Signal()
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
        layout.addWidget(section_label("Before signing"))
        self.missing = QLabel()
        self.missing.setObjectName("missingItems")
        self.missing.setWordWrap(True)
        layout.addWidget(self.missing)
        layout.addWidget(section_label("Warnings to acknowledge"))
        self.ack_form = QFormLayout()
        layout.addLayout(self.ack_form)
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
        layout.addStretch(1)
        self.setWidget(body)
        self._warnings: list[Any] = []

    def refresh(self, evaluation: Any) -> None:
        procedure = self.session.procedure
        if procedure is None:
            return
        if procedure.status == "signed" and procedure.signature is not None:
            sig = procedure.signature
            self.missing.setText("")
            self.state.setText(
                f"✓ Signed by {sig.signed_by} at {sig.signed_at.astimezone():%Y-%m-%d %H:%M}"
            )
            self.sign_button.setEnabled(False)
            self._set_warnings([])
            return
        items = missing_items(procedure)
        self.missing.setText(
            "\n".join(f"• {item.message}" for item in items)
            if items
            else "✓ Everything required is recorded"
        )
        warnings = list(getattr(evaluation, "warnings", ()) or ())
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
        while self.ack_form.rowCount():
            self.ack_form.removeRow(0)
        self.ack_fields = {}
        self._warnings = warnings
        for warning in warnings:
            if warning.code in self.ack_fields:
                continue
            field = QLineEdit(kept.get(warning.code, ""))
            field.setObjectName(f"ack_{warning.code}")
            field.setPlaceholderText("Reason (required to sign)")
            field.setToolTip(warning.message)
            field.textChanged.connect(lambda _t: self._update_button())
            label = QLabel(warning.message)
            label.setWordWrap(True)
            self.ack_form.addRow(label, field)
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
