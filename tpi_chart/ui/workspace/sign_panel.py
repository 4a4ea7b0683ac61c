"""The signing step: what is still missing, a reason field per open warning, and the Sign button;
once signed, the signature and the addenda, and a field to add a signed addendum.

Nothing here is modal: missing items and warnings are listed in the panel, the Sign button stays
disabled until the list is empty and every open warning has a reason. A signed note is never
edited: corrections are addenda, each hashed and shown below the original (here and in the PDF).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape
from typing import Any, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import EXTERNAL_NOTICE
from tpi_chart.domain.rules import Billing, Evaluation
from tpi_chart.domain.signing import (
    DEFAULT_REQUIRED,
    NOTE_FIELD_KEYS,
    MissingItem,
    missing_items,
    not_documented,
)
from tpi_chart.services.timing import ClockWentBackwards
from tpi_chart.ui.document import ProcedureDocument, describe
from tpi_chart.ui.layouts import take_widgets
from tpi_chart.ui.plain_errors import KNOWN_ERRORS
from tpi_chart.ui.tasks import tasks
from tpi_chart.ui.workspace.widgets import section_label

log = logging.getLogger(__name__)

T = TypeVar("T")

SIGNING = "Signing the note…"


class SignPanel(QScrollArea):
    signed = Signal()  # the note was signed, or an addendum was added to it
    failed = Signal(str)
    field_requested = Signal(str)  # a "Not documented" link: the note field's key
    #: The ABN question answered in the billing block: True = on file (GA), False = not (GZ).
    abn_requested = Signal(bool)

    def __init__(
        self, document: ProcedureDocument, signing: Any, can_sign: Callable[[], bool]
    ) -> None:
        super().__init__()
        self.document = document
        self.signing = signing
        self.can_sign = can_sign
        # The clinic's required fields, read when a procedure is (re)loaded, not at every click;
        # signing itself reads them again.
        self._required_cache: frozenset[str] | None = None
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
        self.missing.setTextFormat(Qt.TextFormat.RichText)
        self.missing.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.missing.linkActivated.connect(self.field_requested)
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
        layout.addWidget(self._build_billing())
        self.sign_button = QPushButton("Sign note  (Ctrl+Enter)")
        self.sign_button.setObjectName("signButton")
        self.sign_button.setProperty("role", "primary")
        self.sign_button.clicked.connect(self.sign)
        layout.addWidget(self.sign_button)
        self.state = QLabel()
        self.state.setObjectName("signState")
        self.state.setWordWrap(True)
        layout.addWidget(self.state)
        if can_sign():
            # Built when the Sign tab is first shown: reportlab and pyHanko load while the
            # physician reads it, not after they press Sign (a window's first signature, after
            # 2 s on the tab: 2.1-3.5 s before, about 0.4 s after; CHANGELOG, issue 15).
            tasks().prepare(signing.preload)

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
        self.entered_in_error = QCheckBox(
            "This note was entered in error (wrong patient, opened by mistake)"
        )
        self.entered_in_error.setObjectName("enteredInError")
        self.entered_in_error.setToolTip(
            "The note stays in the record with an ENTERED IN ERROR banner and leaves the rules "
            "and the history"
        )
        addenda.addWidget(self.entered_in_error)
        self.addendum_button = QPushButton("Sign addendum")
        self.addendum_button.setObjectName("addendumButton")
        self.addendum_button.clicked.connect(self.add_addendum)
        addenda.addWidget(self.addendum_button)
        self.addenda_box.hide()
        layout.addWidget(self.addenda_box)
        layout.addStretch(1)
        self.setWidget(body)
        self._warnings: list[Any] = []
        self._missing: list[MissingItem] = []
        self._prior_cache: tuple[Any, ...] = ()

    def _build_billing(self) -> QFrame:
        """The claim as the rules code it and, while a coverage warning is open, the ABN
        question (GA: advance beneficiary notice on file; GZ: none), recorded on the procedure."""
        self.billing_box = QFrame()
        self.billing_box.setObjectName("billingBlock")
        self.billing_box.setProperty("role", "card")
        column = QVBoxLayout(self.billing_box)
        column.setContentsMargins(8, 6, 8, 6)
        column.setSpacing(4)
        column.addWidget(section_label("Billing"))
        self.claim_lines = QLabel()
        self.claim_lines.setObjectName("claimLines")
        self.claim_lines.setWordWrap(True)
        column.addWidget(self.claim_lines)
        self.abn_box = QWidget()
        abn = QVBoxLayout(self.abn_box)
        abn.setContentsMargins(0, 0, 0, 0)
        abn.setSpacing(2)
        self.abn_question = QLabel()
        self.abn_question.setObjectName("abnQuestion")
        self.abn_question.setWordWrap(True)
        abn.addWidget(self.abn_question)
        self.abn_group = QButtonGroup(self)
        self.abn_on_file = QRadioButton()
        self.abn_on_file.setObjectName("abnOnFile")
        self.abn_none = QRadioButton()
        self.abn_none.setObjectName("abnNone")
        for button, value in ((self.abn_on_file, True), (self.abn_none, False)):
            self.abn_group.addButton(button)
            button.clicked.connect(lambda _c=False, v=value: self._abn_chosen(v))
            abn.addWidget(button)
        column.addWidget(self.abn_box)
        self.billing_box.hide()
        return self.billing_box

    def _abn_chosen(self, on_file: bool) -> None:
        procedure = self.document.procedure
        if procedure is not None and procedure.abn_on_file is not on_file:
            self.abn_requested.emit(on_file)

    def _show_billing(self, billing: Billing | None, editable: bool) -> None:
        procedure = self.document.procedure
        if billing is None or procedure is None or not billing.lines:
            self.billing_box.hide()
            return
        self.billing_box.show()
        self.claim_lines.setText(
            "Claim: "
            + "; ".join(
                f"{line.code}"
                + (f" × {line.units}" if line.kind == "hcpcs" else "")
                + (f" {' '.join(line.modifiers)}" if line.modifiers else "")
                + (" (discarded)" if line.discarded else "")
                for line in billing.lines
            )
        )
        payer = load_catalog().payers.get(procedure.payer_profile)
        modifiers = payer.non_coverage_modifiers if payer is not None else None
        if not billing.coverage_warnings or modifiers is None:
            self.abn_box.hide()
            return
        self.abn_box.show()
        codes = ", ".join(code.replace("_", " ") for code in billing.coverage_warnings)
        question = f"Coverage warning open ({codes}): is an ABN on file?"
        if billing.abn_needed:
            question = f"⚠ {question} Answer before billing."
        self.abn_question.setText(question)
        self.abn_on_file.setText(f"{modifiers.on_file} — ABN signed and on file")
        self.abn_none.setText(f"{modifiers.not_on_file} — no ABN")
        self.abn_group.setExclusive(False)
        self.abn_on_file.setChecked(procedure.abn_on_file is True)
        self.abn_none.setChecked(procedure.abn_on_file is False)
        self.abn_group.setExclusive(True)
        for button in (self.abn_on_file, self.abn_none):
            button.setEnabled(editable)

    def refresh(self, evaluation: Evaluation | None, parts: frozenset[str] = frozenset()) -> None:
        """`parts`: what changed in the document ("all" after a read: the clinic's required
        fields are read again too)."""
        if "all" in parts:
            self._required_cache = None
        procedure = self.document.procedure
        if procedure is None:
            return
        signed = procedure.status == "signed" and procedure.signature is not None
        external = procedure.external_signature
        for widget in (self.before_title, self.missing, self.warnings_title, self.sign_button):
            widget.setVisible(not signed and external is None)
        self._show_billing(
            evaluation.billing if evaluation is not None else None,
            editable=not signed and external is None,
        )
        if external is not None:
            self.missing.setText("")
            self.state.setText(
                f"{EXTERNAL_NOTICE.capitalize()}: the imported document names "
                f"{external.signed_by} as its signer. Read-only; it cannot be signed here."
            )
            self.sign_button.setEnabled(False)
            self._set_warnings([])
            self.addenda_box.hide()
            return
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
        self._missing = self._check(procedure)
        self.missing.setText(self._missing_text(procedure))
        warnings = list(evaluation.warnings) if evaluation is not None else []
        self._set_warnings(warnings)
        if self.signing is None:
            self.state.setText("Signing is not available in this installation.")
        elif not self.can_sign():
            self.state.setText("Only a physician can sign.")
        else:
            self.state.setText("")
        self._update_button()

    def _required(self) -> frozenset[str]:
        if self.signing is None:
            return DEFAULT_REQUIRED
        if self._required_cache is None:
            self._required_cache = frozenset(self.signing.required())
        return self._required_cache

    def _priors(self) -> tuple[Any, ...]:
        try:
            return tuple(self.document.document().prior_procedures)
        except KNOWN_ERRORS:  # the rules panel reports a document that cannot be built
            log.info("prior sessions not available for the completeness check")
            return ()

    def _check(self, procedure: Any) -> list[MissingItem]:
        self._prior_cache = self._priors()
        return missing_items(
            procedure, required=self._required(), prior_procedures=self._prior_cache
        )

    def _missing_text(self, procedure: Any) -> str:
        """Every field the note would print as "Not documented", in the note's order, each a
        link to its control; required ones first in weight, then what else blocks signing."""
        required = {item.field.removeprefix("procedure.") for item in self._missing}
        lines = []
        for field in not_documented(procedure, self._prior_cache):
            tag = "<b>required</b>" if field.key in required else "optional"
            lines.append(
                f'• <a href="{field.key}">{escape(field.label)}</a>: Not documented ({tag})'
            )
        others = [
            item
            for item in self._missing
            if item.field.removeprefix("procedure.") not in NOTE_FIELD_KEYS
        ]
        lines += [f"• {escape(item.message)} (<b>required</b>)" for item in others]
        if self._missing:
            head = f"{len(self._missing)} required item(s) missing before signing:"
        else:
            head = "✓ Everything required is recorded"
        return "<br/>".join([head, *lines])

    def next_blocking(self) -> str | None:
        """What blocks signing first: a note field's key, "ack_<code>" for a warning without a
        reason, or None when nothing does."""
        for item in self._missing:
            key = item.field.removeprefix("procedure.")
            if key in NOTE_FIELD_KEYS:
                return key
        for code, field in self.ack_fields.items():
            if not field.text().strip():
                return f"ack_{code}"
        return None

    def _set_warnings(self, warnings: list[Any]) -> None:
        codes = [w.code for w in warnings]
        if codes == [w.code for w in self._warnings]:
            self._warnings = warnings
            return
        kept = {code: field.text() for code, field in self.ack_fields.items()}
        for widget in take_widgets(self.ack_layout):
            # Gone at once, not only at the next turn of the event loop.
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
        procedure = self.document.procedure
        ready = (
            procedure is not None
            and not self.document.read_only
            and not self._missing
            and all(field.text().strip() for field in self.ack_fields.values())
            and self.signing is not None
            and self.can_sign()
        )
        self.sign_button.setEnabled(bool(ready))

    def _show_addenda(self) -> None:
        procedure = self.document.procedure
        assert procedure is not None
        self.addenda_box.show()
        self.addenda_list.setText(
            "\n\n".join(
                ("ENTERED IN ERROR — " if a.entered_in_error else "")
                + f"{a.author}, {a.at.astimezone():%Y-%m-%d %H:%M}"
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
        """As signing: checked here, appended to the signed note on the worker thread, stored
        back here."""
        text = self.addendum_text.toPlainText().strip()
        if not text or self.document.procedure_id is None or not self.can_sign():
            return
        procedure_id, user = self.document.procedure_id, self.document.user
        in_error = self.entered_in_error.isChecked()
        try:
            prepared = self._confirming_clock(
                lambda ok: self.signing.prepare_addendum(
                    procedure_id, user, text, confirm_clock=ok, entered_in_error=in_error
                )
            )
        except KNOWN_ERRORS as error:
            self._addendum_refused(error)
            return
        if prepared.note is None:  # nothing to draw: only the hashed record
            self._finish_addendum(prepared, None)
            return
        self.addendum_button.setEnabled(False)
        tasks().run(
            prepared.render,
            lambda pdf: self._finish_addendum(prepared, pdf),
            on_error=self._addendum_refused,
            expected=KNOWN_ERRORS,
            label=SIGNING,
        )

    def _finish_addendum(self, prepared: Any, pdf: bytes | None) -> None:
        try:
            self.signing.finish_addendum(prepared, pdf)
        except KNOWN_ERRORS as error:
            self._addendum_refused(error)
            return
        self.addendum_text.clear()
        self.entered_in_error.setChecked(False)
        self._emit_signed(prepared.procedure_id)

    def _addendum_refused(self, error: Exception) -> None:
        log.info("addendum refused: %s", error)
        self._update_addendum_button()
        self.failed.emit(describe(error))

    def acknowledgements(self) -> dict[str, str]:
        return {code: field.text().strip() for code, field in self.ack_fields.items()}

    def sign(self) -> None:
        """Check and make the signature here, draw and sign the note on the worker thread,
        store both back here (`SigningService.prepare_sign` / `render` / `finish_sign`)."""
        if not self.sign_button.isEnabled() or self.document.procedure_id is None:
            return
        procedure_id, user, acks = (
            self.document.procedure_id,
            self.document.user,
            self.acknowledgements(),
        )
        try:
            prepared = self._confirming_clock(
                lambda ok: self.signing.prepare_sign(procedure_id, user, acks, confirm_clock=ok)
            )
        except KNOWN_ERRORS as error:
            self._sign_refused(error)
            return
        if prepared.note is None:  # no signing key here: only the signature record, nothing to draw
            self._finish_sign(prepared, None)
            return
        # Not twice while the first is drawn; `refresh` sets it again from what is stored.
        self.sign_button.setEnabled(False)
        self.state.setText(SIGNING)
        tasks().run(
            prepared.render,
            lambda pdf: self._finish_sign(prepared, pdf),
            on_error=self._sign_refused,
            expected=KNOWN_ERRORS,
            label=SIGNING,
        )

    def _finish_sign(self, prepared: Any, pdf: bytes | None) -> None:
        try:
            self.signing.finish_sign(prepared, pdf)
        except KNOWN_ERRORS as error:
            self._sign_refused(error)
            return
        self.state.setText("")
        self._emit_signed(prepared.procedure_id)

    def _emit_signed(self, procedure_id: int) -> None:
        # Another procedure opened while the note was drawn: its page must not take this
        # signature as its own (the filing was queued with the signature and is sent later).
        if self.document.procedure_id == procedure_id:
            self.signed.emit()

    def _sign_refused(self, error: Exception) -> None:
        log.info("signing refused: %s", error)
        self.state.setText("")
        self._update_button()
        self.failed.emit(describe(error))

    def _confirming_clock(self, call: Callable[[bool], T]) -> T:
        """Run `call`; when the clock went backwards (the service audited it), show that and
        ask before signing with this time anyway."""
        try:
            return call(False)
        except ClockWentBackwards as error:
            box = QMessageBox(QMessageBox.Icon.Warning, "Check the clock", str(error), parent=self)
            sign = box.addButton("Sign with this time", QMessageBox.ButtonRole.AcceptRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            if box.clickedButton() is not sign:
                raise
            return call(True)
