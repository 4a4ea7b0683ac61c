"""The note's page: geometry, fonts and styles, metadata and attachments, the header, footer
and draft watermark, and the building blocks every section uses (headings, label grids, data
tables, banners)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.units import inch
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Table, TableStyle

from tpi_chart import APP_NAME, __version__
from tpi_chart.domain.canonical import canonical_json
from tpi_chart.domain.catalog import Catalog, load_catalog
from tpi_chart.domain.models import EXTERNAL_NOTICE, Addendum, Procedure, ProcedureDocument
from tpi_chart.domain.presentation import SEX_WORDS, STATUS_WORDS
from tpi_chart.domain.rules import Evaluation, evaluate
from tpi_chart.pdf import styles as st
from tpi_chart.pdf.attachments import EmbeddedFile
from tpi_chart.pdf.canvas import numbered_canvas
from tpi_chart.pdf.fonts import SANS, SANS_BOLD, markup, register_fonts
from tpi_chart.pdf.note.options import (
    DOCUMENT_ATTACHMENT,
    PAGE_SIZES,
    RENDER_ATTACHMENT,
    RENDERER_ID,
    NoteOptions,
    render_info,
)
from tpi_chart.pdf.note.text import draw_text, format_datetime, markup_para, text_para

SIGNATURE_BOX_HEIGHT = 64.0


@dataclass(frozen=True)
class BoxOnPage:
    """Where a flowable landed: page index (0-based) and its rectangle in PDF points."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float


class SignaturePlaceholder(Flowable):  # type: ignore[misc]
    """Empty room for the visible digital signature; remembers where it was drawn, so the
    signing step puts the signature appearance exactly there."""

    def __init__(self, width: float, height: float = SIGNATURE_BOX_HEIGHT) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self.box: BoxOnPage | None = None

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def drawOn(self, canvas: Any, x: float, y: float, _sW: float = 0) -> None:
        # Drawn straight into the page frame (never inside a table), so x, y are page points.
        self.box = BoxOnPage(canvas.getPageNumber() - 1, x, y, x + self.width, y + self.height)
        super().drawOn(canvas, x, y, _sW)

    def draw(self) -> None:
        return None


class NoteBase:
    """The page and the building blocks; the sections are mixed in by the renderer."""

    margin_x = 0.55 * inch

    margin_top = 0.5 * inch

    margin_bottom = 0.55 * inch

    header_height = 58.0

    footer_height = 14.0

    diagram_height = 190.0

    def __init__(
        self,
        document: ProcedureDocument,
        options: NoteOptions | None = None,
        *,
        evaluation: Evaluation | None = None,
        catalog: Catalog | None = None,
        digitally_signed: bool = False,
    ) -> None:
        self.document = document
        # True only when the caller is about to put a PAdES signature on these pages: a note
        # must never say "digitally signed" unless it is.
        self.digitally_signed = digitally_signed
        self.options = options or NoteOptions()
        self.catalog = catalog or load_catalog()
        self.evaluation = evaluation or evaluate(document, catalog=self.catalog)
        self.pagesize = PAGE_SIZES[self.options.page_size]
        self.signature_placeholder: SignaturePlaceholder | None = None

    @property
    def signature_box(self) -> BoxOnPage | None:
        """Where the visible signature goes (after :meth:`render` of a signed note)."""
        placeholder = self.signature_placeholder
        return placeholder.box if placeholder is not None else None

    @property
    def procedure(self) -> Procedure:
        return self.document.procedure

    @property
    def signed(self) -> bool:
        return self.procedure.status == "signed" and self.procedure.signature is not None

    @property
    def content_width(self) -> float:
        return float(self.pagesize[0] - 2 * self.margin_x)

    def render(self) -> bytes:
        self._register_fonts()
        buffer = io.BytesIO()
        doc = self._build_doc(buffer)
        canvas_class = numbered_canvas(self._decorate_page, self._attachments())
        doc.build(self._get_story(), canvasmaker=canvas_class)
        return buffer.getvalue()

    def _register_fonts(self) -> None:
        register_fonts()

    def _get_stylesheet(self) -> st.Styles:
        return st.styles()

    def _metadata(self) -> dict[str, str]:
        procedure = self.procedure
        mrn = self.document.patient.mrn
        day = procedure.performed_at.date().isoformat()
        author = (
            procedure.signature.signed_by
            if procedure.signature is not None
            else procedure.physician or APP_NAME
        )
        state = "signed" if self.signed else self._unsigned_state.replace(" — ", ", ")
        return {
            "title": f"Trigger point injection procedure note — {mrn} {day}",
            "author": author,
            "subject": f"Trigger point injection procedure note, MRN {mrn}, {day} ({state})",
            "creator": f"{APP_NAME} {__version__}",
            "keywords": f"{RENDERER_ID}, MRN {mrn}",
        }

    def _build_doc(self, buffer: io.BytesIO) -> BaseDocTemplate:
        width, height = self.pagesize
        frame = Frame(
            self.margin_x,
            self.margin_bottom + self.footer_height,
            width - 2 * self.margin_x,
            height - self.margin_top - self.header_height - self.margin_bottom - self.footer_height,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            id="body",
        )
        doc = BaseDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=self.margin_x,
            rightMargin=self.margin_x,
            topMargin=self.margin_top,
            bottomMargin=self.margin_bottom,
            invariant=1,
            pageCompression=1,
            **self._metadata(),
        )
        doc.addPageTemplates([PageTemplate(id="note", frames=[frame])])
        return doc

    def _attachments(self) -> list[EmbeddedFile]:
        return [
            EmbeddedFile(
                DOCUMENT_ATTACHMENT,
                canonical_json(self.document.to_json_dict()),
                "application/json",
                "The procedure document (tpi-chart.procedure/1) this note was rendered from",
            ),
            EmbeddedFile(
                RENDER_ATTACHMENT,
                canonical_json(render_info(self.options)),
                "application/json",
                "How this note was rendered (renderer, versions, clinic options)",
            ),
        ]

    def _get_story(self) -> list[Flowable]:
        raise NotImplementedError

    def _decorate_page(self, canvas: Any, page: int, total: int) -> None:
        self._draw_header(canvas)
        self._draw_footer(canvas, page, total)
        if not self.signed:
            self._draw_watermark(canvas)

    def _draw_header(self, canvas: Any) -> None:
        width, height = self.pagesize
        left = self.margin_x
        right = width - self.margin_x
        top = height - self.margin_top
        patient = self.document.patient
        procedure = self.procedure
        canvas.saveState()
        canvas.setFillColor(st.ACCENT)
        draw_text(canvas, left, top - 12, self.options.clinic_name, SANS_BOLD, 12)
        canvas.setFillColor(st.MUTED)
        draw_text(canvas, right, top - 11, f"{self._kind()} — procedure note", SANS, 8.5, "right")
        # Patient: two identifiers (name + MRN + date of birth).
        canvas.setFillColor(st.INK)
        y = top - 29
        x = left + draw_text(canvas, left, y, patient.display_name, SANS_BOLD, 10.5)
        details = (
            f"   MRN {patient.mrn}   ·   DOB {patient.birth_date.isoformat()}"
            f"   ·   {SEX_WORDS[patient.sex]}"
        )
        draw_text(canvas, x, y, details, SANS, 9)
        if self.signed:
            canvas.setFillColor(st.OK)
            status = STATUS_WORDS["signed"]
        else:
            canvas.setFillColor(st.DRAFT)
            status = self._unsigned_state
        draw_text(canvas, right, y, status, SANS_BOLD, 9, "right")
        y -= 13
        canvas.setFillColor(st.MUTED)
        draw_text(
            canvas,
            left,
            y,
            f"Date of service {format_datetime(procedure.performed_at)}   ·   "
            f"Physician: {procedure.physician or 'not recorded'}",
            SANS,
            8.5,
        )
        canvas.setStrokeColor(st.ACCENT)
        canvas.setLineWidth(1.2)
        rule_y = height - self.margin_top - self.header_height + 8
        canvas.line(left, rule_y, right, rule_y)
        canvas.restoreState()

    def _draw_footer(self, canvas: Any, page: int, total: int) -> None:
        width, _ = self.pagesize
        left = self.margin_x
        right = width - self.margin_x
        y = self.margin_bottom
        patient = self.document.patient
        canvas.saveState()
        canvas.setStrokeColor(st.RULE)
        canvas.setLineWidth(0.5)
        canvas.line(left, y + 10, right, y + 10)
        canvas.setFillColor(st.MUTED)
        day = self.procedure.performed_at.date().isoformat()
        draw_text(canvas, left, y, f"{patient.display_name} · MRN {patient.mrn} · {day}", SANS, 7.5)
        draw_text(canvas, width / 2, y, f"{APP_NAME} {__version__}", SANS, 7.5, "centre")
        draw_text(canvas, right, y, self._page_label(page, total), SANS_BOLD, 7.5, "right")
        canvas.restoreState()

    def _page_label(self, page: int, total: int) -> str:
        return f"Page {page} of {total}"

    def _draw_watermark(self, canvas: Any) -> None:
        width, height = self.pagesize
        canvas.saveState()
        canvas.setFillColor(st.DRAFT)
        canvas.setFillAlpha(0.07)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(35)
        text = self._unsigned_state
        # As large as the draft's, but the slanted line stays inside the page.
        natural = canvas.stringWidth(text, SANS_BOLD, 64)
        room = min(
            0.85 * width / math.cos(math.radians(35)), 0.85 * height / math.sin(math.radians(35))
        )
        size = min(64.0, 64.0 * room / max(natural, 1.0))
        canvas.setFont(SANS_BOLD, size)
        canvas.drawCentredString(0, 0, text)
        canvas.restoreState()

    def _heading(self, text: str) -> Flowable:
        s = self._get_stylesheet()
        table = Table([[text_para(text, s.heading)]], colWidths=[self.content_width])
        table.setStyle(
            TableStyle(
                [
                    ("LINEBELOW", (0, 0), (-1, -1), 0.6, st.RULE),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 6),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        # Never the last line of a page with its section on the next (reportlab moves the
        # heading on with what follows it).
        table.keepWithNext = True
        return table

    def _fields(
        self,
        pairs: Sequence[tuple[str, Flowable | str]],
        columns: int = 3,
        width: float | None = None,
    ) -> Flowable:
        """Label-over-value cells in a grid."""
        s = self._get_stylesheet()
        cells: list[list[Flowable]] = []
        for label, value in pairs:
            body = value if isinstance(value, Flowable) else text_para(value, s.body)
            cells.append([text_para(label.upper(), s.label), body])
        rows: list[list[Any]] = []
        for index in range(0, len(cells), columns):
            row: list[Any] = cells[index : index + columns]
            row += [""] * (columns - len(row))
            rows.append(row)
        column_width = (width or self.content_width) / columns
        table = Table(rows, colWidths=[column_width] * columns)
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 10),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        return table

    def _grid(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[Flowable | str]],
        widths: Sequence[float],
        *,
        right_columns: Sequence[int] = (),
        total_row: bool = False,
        muted_rows: Sequence[int] = (),
    ) -> Table:
        """A data table: accent header row repeated on every page, zebra rows."""
        s = self._get_stylesheet()
        head = [
            text_para(text, s.cell_head_right if index in right_columns else s.cell_head)
            for index, text in enumerate(header)
        ]
        body: list[list[Any]] = []
        for row_index, row in enumerate(rows, start=1):
            style = s.muted if row_index in muted_rows else s.cell
            cells: list[Any] = []
            for index, cell in enumerate(row):
                if isinstance(cell, Flowable):
                    cells.append(cell)
                elif index in right_columns:
                    cells.append(text_para(cell, s.cell_right))
                else:
                    cells.append(text_para(cell, style))
            body.append(cells)
        table = Table([head, *body], colWidths=list(widths), repeatRows=1)
        commands: list[tuple[Any, ...]] = [
            ("BACKGROUND", (0, 0), (-1, 0), st.ACCENT),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [st.WHITE, st.ZEBRA]),
            ("LINEBELOW", (0, -1), (-1, -1), 0.6, st.RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]
        if total_row:
            # Never leave the total row alone on a page: keep it with the last site row.
            if len(body) >= 2:
                commands.append(("NOSPLIT", (0, -2), (-1, -1)))
            commands += [
                ("BACKGROUND", (0, -1), (-1, -1), st.ACCENT_LIGHT),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, st.ACCENT),
            ]
        table.setStyle(TableStyle(commands))
        return table

    def _entered_in_error_banner(self, marking: Addendum | None = None) -> Flowable:
        s = self._get_stylesheet()
        if marking is None:
            marking = next(a for a in self.procedure.addenda if a.entered_in_error)
        text = (
            "<b>ENTERED IN ERROR.</b> "
            f'<font size="8.5">Marked by {markup(marking.author)} on '
            f"{format_datetime(marking.at)} in a signed addendum: "
            f"{markup(marking.text)}. Kept in the record; not a valid procedure note.</font>"
        )
        table = Table([[markup_para(text, s.banner)]], colWidths=[self.content_width])
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), st.DRAFT_LIGHT),
                    ("BOX", (0, 0), (-1, -1), 1.5, st.DRAFT),
                    ("LEFTPADDING", (0, 0), (-1, -1), 8),
                    ("TOPPADDING", (0, 0), (-1, -1), 6),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                ]
            )
        )
        return table

    def _draft_banner(self) -> Flowable:
        s = self._get_stylesheet()
        text = (
            "<b>DRAFT — not signed.</b> "
            '<font size="8.5" color="#5b6470">This note is not part of the medical record '
            "until the "
            "physician signs it. Content may still change.</font>"
        )
        if self.procedure.external_signature is not None:
            text = (
                f"<b>{markup(EXTERNAL_NOTICE.capitalize())}.</b> "
                '<font size="8.5" color="#5b6470">Imported from another system; no user of '
                "this clinic signed it.</font>"
            )
        table = Table([[markup_para(text, s.banner)]], colWidths=[self.content_width])
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), st.DRAFT_LIGHT),
                    ("BOX", (0, 0), (-1, -1), 1, st.DRAFT),
                    ("LEFTPADDING", (0, 0), (-1, -1), 8),
                    ("TOPPADDING", (0, 0), (-1, -1), 6),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                ]
            )
        )
        return table

    def _boxed(self, body: list[Flowable], background: Any) -> Table:
        table = Table([[body]], colWidths=[self.content_width])
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), background),
                    ("LEFTPADDING", (0, 0), (-1, -1), 10),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 10),
                    ("TOPPADDING", (0, 0), (-1, -1), 8),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 9),
                ]
            )
        )
        return table

    @property
    def _unsigned_state(self) -> str:
        """What the header and watermark say of a note no user of this clinic signed."""
        if self.procedure.external_signature is not None:
            return "Signed elsewhere — not verified"
        return "DRAFT — not signed"

    def _kind(self) -> str:
        """What the note documents: dry needling alone is not a trigger point injection."""
        if self.evaluation.cpt in ("20560", "20561"):
            return "Dry needling"
        return "Trigger point injection"

    def _agent_short_name(self, agent_id: str) -> str:
        return self.catalog.agents[agent_id].name.split(" ")[0]
