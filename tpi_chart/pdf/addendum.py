"""The page(s) of an addendum, appended to a signed note as a new signed revision.

Drawn with the note's own header and styles, so the addendum reads as part of the note; the
footer names the addendum instead of counting the note's pages (those pages are signed and never
re-drawn).
"""

from __future__ import annotations

from reportlab.platypus import Flowable, KeepTogether, Spacer

from tpi_chart.domain.models import Addendum, ProcedureDocument
from tpi_chart.domain.rules import Evaluation
from tpi_chart.pdf.attachments import EmbeddedFile
from tpi_chart.pdf.fonts import markup
from tpi_chart.pdf.note import (
    BoxOnPage,
    NoteOptions,
    ProcedureNoteRenderer,
    SignaturePlaceholder,
    format_datetime,
    group_hash,
)
from tpi_chart.pdf.note.text import markup_para, text_para


class AddendumRenderer(ProcedureNoteRenderer):
    def __init__(
        self,
        document: ProcedureDocument,
        addendum: Addendum,
        number: int,
        options: NoteOptions | None = None,
        *,
        evaluation: Evaluation | None = None,
    ) -> None:
        super().__init__(document, options, evaluation=evaluation)
        self.addendum = addendum
        self.number = number

    @property
    def signed(self) -> bool:
        # An addendum page is only ever made for a signed note: no DRAFT watermark.
        return True

    def _attachments(self) -> list[EmbeddedFile]:
        return []

    def _get_story(self) -> list[Flowable]:
        s = self._get_stylesheet()
        addendum = self.addendum
        # A note marked entered in error says so at the top of the revision that marks it.
        banner = [self._entered_in_error_banner(addendum)] if addendum.entered_in_error else []
        block: list[Flowable] = [
            *banner,
            self._heading(f"Addendum {self.number} to this procedure note"),
            text_para(addendum.text, s.body),
            Spacer(1, 4),
        ]
        if addendum.sites:
            lines = "; ".join(
                f"{self.catalog.muscle_name(site.muscle)} {site.side}" for site in addendum.sites
            )
            block.append(text_para(f"Sites in this addendum: {lines}", s.small))
        block += [
            markup_para(
                f"<b>By {markup(addendum.author)}</b> at {markup(format_datetime(addendum.at))}",
                s.body,
            ),
            Spacer(1, 2),
        ]
        if addendum.content_hash:
            block += [
                text_para("ADDENDUM HASH (SHA-256, COVERS THE SIGNED NOTE'S HASH)", s.label),
                text_para(group_hash(addendum.content_hash), s.mono),
            ]
        block.append(
            text_para(
                "Signed as a new revision of this PDF: the note's earlier signatures still "
                "cover exactly what they signed.",
                s.muted,
            )
        )
        self.signature_placeholder = SignaturePlaceholder(min(self.content_width, 300.0))
        block += [Spacer(1, 6), self.signature_placeholder]
        return [KeepTogether(block)]

    def _page_label(self, page: int, total: int) -> str:
        # The note's pages are signed and never re-drawn: count the addendum's own pages.
        return f"Addendum {self.number} · page {page} of {total}"


def render_addendum(
    document: ProcedureDocument,
    addendum: Addendum,
    number: int,
    options: NoteOptions | None = None,
    *,
    evaluation: Evaluation | None = None,
) -> tuple[bytes, BoxOnPage | None]:
    """The addendum's page(s) and where its signature goes (page index within these pages)."""
    renderer = AddendumRenderer(document, addendum, number, options, evaluation=evaluation)
    pdf = renderer.render()
    return pdf, renderer.signature_box
