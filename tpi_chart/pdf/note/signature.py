"""The signature block (digital, recorded, signed elsewhere or none) and the addenda."""

from __future__ import annotations

from reportlab.platypus import Flowable, KeepTogether, Spacer

from tpi_chart.domain.models import EXTERNAL_NOTICE, Signature
from tpi_chart.pdf import styles as st
from tpi_chart.pdf.fonts import markup
from tpi_chart.pdf.note.base import NoteBase, SignaturePlaceholder
from tpi_chart.pdf.note.text import (
    format_datetime,
    format_number,
    group_hash,
    markup_para,
    text_para,
)


class SignatureSections(NoteBase):
    def _signature_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        signature = self.procedure.signature
        external = self.procedure.external_signature
        if external is not None:
            when = (
                f" on {format_datetime(external.signed_at)}"
                if external.signed_at is not None
                else ""
            )
            body: list[Flowable] = [
                markup_para(
                    f'<font color="#b91c1c"><b>{markup(EXTERNAL_NOTICE.capitalize())}.</b></font> '
                    f"The imported document names {markup(external.signed_by)} as its "
                    f"signer{markup(when)}. It was not signed by a user of this clinic and "
                    "carries no signature of this clinic.",
                    s.body,
                )
            ]
            background = st.DRAFT_LIGHT
        elif signature is None or not self.signed:
            body = [
                markup_para(
                    '<font color="#b91c1c"><b>Not signed.</b></font> '
                    "This draft carries no signature "
                    "and no content hash.",
                    s.body,
                )
            ]
            background = st.DRAFT_LIGHT
        else:
            body = (
                self._digital_signature_text(signature)
                if self.digitally_signed
                else self._recorded_signature_text(signature)
            )
            background = st.ACCENT_LIGHT
        parts: list[Flowable] = [self._heading("Signature"), self._boxed(body, background)]
        if self.signed and self.digitally_signed:
            self.signature_placeholder = SignaturePlaceholder(min(self.content_width, 300.0))
            parts += [Spacer(1, 4), self.signature_placeholder]
        return [KeepTogether(parts)]

    def _digital_signature_text(self, signature: Signature) -> list[Flowable]:
        s = self._get_stylesheet()
        return self._signature_text(
            signature,
            "Digitally signed by",
            text_para(
                "A PAdES digital signature with the physician's certificate from "
                f"{self.options.clinic_name}'s signing authority covers this file; the "
                "procedure document is embedded (procedure.json). Check it in any PDF "
                "reader's signature panel (trust the clinic's clinic-ca.pem) or with: "
                "tpi-chart verify FILE.pdf",
                s.muted,
            ),
        )

    def _recorded_signature_text(self, signature: Signature) -> list[Flowable]:
        s = self._get_stylesheet()
        return self._signature_text(
            signature,
            "Signed in TPI Chart by",
            markup_para(
                '<font color="#b91c1c"><b>This copy carries no digital signature.</b></font> '
                "The signature was recorded in the clinic's database before digital signatures "
                "(TPI Chart 0.1), or this is a re-drawing of a note. Ask the clinic for the "
                "signed PDF.",
                s.muted,
            ),
        )

    def _signature_text(
        self, signature: Signature, headline: str, explanation: Flowable
    ) -> list[Flowable]:
        s = self._get_stylesheet()
        return [
            markup_para(f"<b>{headline} {markup(signature.signed_by)}</b>", s.body),
            text_para(f"Signed at {format_datetime(signature.signed_at)}", s.body),
            Spacer(1, 3),
            text_para("CONTENT HASH (SHA-256 OF THE PATIENT AND PROCEDURE DATA)", s.label),
            text_para(group_hash(signature.content_hash), s.mono),
            Spacer(1, 2),
            explanation,
        ]

    def _addenda_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        flow: list[Flowable] = []
        for number, addendum in enumerate(self.procedure.addenda, start=1):
            title = f"Addendum {number}" + (
                " — entered in error" if addendum.entered_in_error else ""
            )
            block: list[Flowable] = [
                self._heading(title),
                text_para(addendum.text, s.body),
                Spacer(1, 3),
            ]
            if addendum.sites:
                lines = "; ".join(
                    f"{self.catalog.muscle_name(site.muscle)} {site.side}"
                    + (f" {format_number(site.volume_ml)} mL" if site.volume_ml else "")
                    for site in addendum.sites
                )
                block.append(text_para(f"Sites in this addendum: {lines}", s.small))
            block.append(
                text_para(f"By {addendum.author} at {format_datetime(addendum.at)}", s.small)
            )
            if addendum.content_hash:
                block.append(text_para("ADDENDUM HASH (SHA-256)", s.label))
                block.append(text_para(group_hash(addendum.content_hash), s.mono))
            else:
                block.append(text_para("Addendum not signed (no hash).", s.muted))
            flow.append(KeepTogether(block))
        return flow
