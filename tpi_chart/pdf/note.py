"""The procedure note PDF (product.md §8): a renderer class with hooks, ``render() -> bytes``.

Shape borrowed from pretix's invoice renderer: page geometry as class attributes, fonts and styles
registered explicitly, the story built by small hook methods, headers and footers drawn by a
numbered canvas so every page says "Page X of Y".

Output is deterministic: the same document and options always give the same bytes (reportlab
``invariant=1``: fixed document ID and dates; nothing in the content comes from the clock). The
procedure document travels inside the PDF as ``procedure.json`` (canonical JSON) together with
``note-render.json`` (renderer id, versions and options), so :mod:`tpi_chart.pdf.verify` can
recompute the content hash and re-render the note to prove the visible pages match it.

Patient names stay out of the PDF metadata (title, subject, keywords): the MRN and the date of
service identify the note there; the name is only on the pages.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Literal

import reportlab
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from tpi_chart import APP_NAME, __version__
from tpi_chart.domain.canonical import canonical_json
from tpi_chart.domain.catalog import UNSPECIFIED, Catalog, load_catalog
from tpi_chart.domain.diagnoses import load_diagnoses
from tpi_chart.domain.diagram import (
    VIEW_IDS,
    computed_location,
    default_position,
    load_diagram,
)
from tpi_chart.domain.models import (
    EXTERNAL_NOTICE,
    Addendum,
    ConservativeTherapy,
    Needle,
    Procedure,
    ProcedureDocument,
    Signature,
    Site,
)
from tpi_chart.domain.presentation import (
    COMPLICATION_WORDS,
    GUIDANCE_WORDS,
    NOT_DOCUMENTED,
    PNEUMOTHORAX_FLAG,
    POSITION_WORDS,
    RISK_COLOUR,
    SEX_WORDS,
    SIDE_WORDS,
    SKIN_PREP_WORDS,
    STATUS_WORDS,
    TECHNIQUE_WORDS,
    TOLERANCE_WORDS,
    TWITCH_WORDS,
    UNCODED_COLOUR,
    UNCODED_FLAG,
    MarkerFeature,
    legend_entries,
    marker_specs,
)
from tpi_chart.domain.rules import Evaluation, evaluate
from tpi_chart.pdf import styles as st
from tpi_chart.pdf.attachments import EmbeddedFile
from tpi_chart.pdf.canvas import numbered_canvas
from tpi_chart.pdf.diagram import DRAWN_FEATURES, DiagramPanel, Marker
from tpi_chart.pdf.fonts import MONO, SANS, SANS_BOLD, font_for_run, markup, register_fonts, runs

#: Identifies the layout. Bump it whenever the same document would render differently.
RENDERER_ID = "tpi-chart-note/2"
DOCUMENT_ATTACHMENT = "procedure.json"
RENDER_ATTACHMENT = "note-render.json"

PageSize = Literal["letter", "a4"]
PAGE_SIZES: dict[str, tuple[float, float]] = {"letter": LETTER, "a4": A4}

CHECK = "✓"
#: How the printed legend draws each marker feature: a glyph and its colour (pdf.diagram).
LEGEND_GLYPHS: dict[MarkerFeature, tuple[str, str]] = {
    "planned": ("○", "#1f4e79"),
    "injected": ("●", "#1f4e79"),
    "pneumothorax_risk": ("◯", RISK_COLOUR),
    "uncoded": ("◌", UNCODED_COLOUR),
}
CROSS = "✗"


@dataclass(frozen=True)
class NoteOptions:
    """What the note needs besides the document: the clinic's settings."""

    clinic_name: str = "TPI Chart"
    clinic_phone: str | None = None
    page_size: PageSize = "letter"

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> NoteOptions:
        page_size = data.get("page_size", "letter")
        if page_size not in PAGE_SIZES:
            raise ValueError(f"unknown page size {page_size!r}")
        return cls(
            clinic_name=str(data.get("clinic_name", cls.clinic_name)),
            clinic_phone=None if data.get("clinic_phone") is None else str(data["clinic_phone"]),
            page_size=page_size,
        )


def render_info(options: NoteOptions) -> dict[str, Any]:
    """What the note records about how it was made (embedded as ``note-render.json``)."""
    return {
        "renderer": RENDERER_ID,
        "app_version": __version__,
        "reportlab_version": reportlab.Version,
        "options": options.to_json_dict(),
    }


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def format_datetime(value: datetime) -> str:
    """'2026-11-20 09:30 UTC−07:00': the time as charted, with its offset (never converted)."""
    offset = value.strftime("%z")
    zone = (
        "UTC"
        if offset in ("", "+0000")
        else f"UTC{offset[0].replace('-', '−')}{offset[1:3]}:{offset[3:5]}"
    )
    return f"{value:%Y-%m-%d %H:%M} {zone}"


def format_number(value: float, places: int = 2) -> str:
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def group_hash(value: str, size: int = 4) -> str:
    """A SHA-256 hex digest in groups of four, so people can read it aloud and compare."""
    return " ".join(value[i : i + size] for i in range(0, len(value), size))


def site_ranges(numbers: Sequence[int]) -> str:
    """'1–4, 6' for [1, 2, 3, 4, 6]; '—' for none."""
    ordered = sorted(set(numbers))
    if not ordered:
        return "—"
    parts: list[str] = []
    start = previous = ordered[0]
    for number in [*ordered[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        if previous - start >= 2:
            parts.append(f"{start}–{previous}")
        else:
            parts.extend(str(n) for n in range(start, previous + 1))
        if number is not None:
            start = previous = number
    return ", ".join(parts)


def side_name(side: str) -> str:
    return SIDE_WORDS.get(side, side.capitalize())


def needle_text(needle: Needle | None) -> str:
    return str(needle) if needle is not None else NOT_DOCUMENTED


def findings_text(site: Site) -> str:
    findings = site.findings
    items = [
        label
        for flag, label in (
            (findings.taut_band, "taut band"),
            (findings.referred_pain, "referred pain"),
            (findings.jump_sign, "jump sign"),
            (findings.negative_aspiration, "neg. aspiration"),
        )
        if flag
    ]
    if site.trigger_points:
        items.append(f"{site.trigger_points} TP{'s' if site.trigger_points > 1 else ''}")
    if site.needle is not None:
        items.append(str(site.needle))
    if site.depth_cm is not None:
        items.append(f"depth {format_number(site.depth_cm, 1)} cm")
    text = ", ".join(items)
    if site.notes:
        text = f"{text}. {site.notes}" if text else site.notes
    return text


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _therapy_text(item: ConservativeTherapy) -> str:
    dates = " to ".join(part for part in (_day(item.started), _day(item.ended)) if part)
    text = item.therapy + (f" ({dates})" if dates else "")
    return text + (f": {item.response}" if item.response else "")


def relief_text(
    percent: int, weeks: float | None, scale: str | None, measured_on: date | None
) -> str:
    """'60 % relief for 8 weeks on NRS, measured 2026-10-20' (what the LCD reviewer reads)."""
    text = f"{percent} % relief"
    text += (
        f" for {format_number(weeks, 1)} weeks" if weeks is not None else " (duration not recorded)"
    )
    text += f" on {scale}" if scale else " (scale not recorded)"
    text += f", measured {measured_on.isoformat()}" if measured_on else " (date not recorded)"
    return text


def _p(text: str, style: Any) -> Paragraph:
    """A paragraph of user/plain text (escaped, CJK fallback)."""
    return Paragraph(markup(text), style)


def _m(markup_text: str, style: Any) -> Paragraph:
    """A paragraph of trusted markup built by this module (user parts already escaped)."""
    return Paragraph(markup_text, style)


def draw_text(
    canvas: Any,
    x: float,
    y: float,
    text: str,
    font: str,
    size: float,
    align: Literal["left", "right", "centre"] = "left",
) -> float:
    """Draw user text on a canvas with the CJK fallback; returns its width."""
    pieces = [(run, font_for_run(font, fallback)) for run, fallback in runs(text)]
    width = float(sum(canvas.stringWidth(run, face, size) for run, face in pieces))
    if align == "right":
        x -= width
    elif align == "centre":
        x -= width / 2
    for run, face in pieces:
        canvas.setFont(face, size)
        canvas.drawString(x, y, run)
        x += canvas.stringWidth(run, face, size)
    return width


# --------------------------------------------------------------------------------------------
# The renderer
# --------------------------------------------------------------------------------------------


SIGNATURE_BOX_HEIGHT = 64.0
MIN_FINDINGS_WIDTH = 90.0


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


class ProcedureNoteRenderer:
    """Render one procedure document as the note PDF.

    Subclass and override the ``_…`` hooks to change a part; :meth:`render` wires them up.
    """

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

    # -- properties ------------------------------------------------------------------------

    @property
    def procedure(self) -> Procedure:
        return self.document.procedure

    @property
    def signed(self) -> bool:
        return self.procedure.status == "signed" and self.procedure.signature is not None

    @property
    def content_width(self) -> float:
        return float(self.pagesize[0] - 2 * self.margin_x)

    # -- public ----------------------------------------------------------------------------

    def render(self) -> bytes:
        self._register_fonts()
        buffer = io.BytesIO()
        doc = self._build_doc(buffer)
        canvas_class = numbered_canvas(self._decorate_page, self._attachments())
        doc.build(self._get_story(), canvasmaker=canvas_class)
        return buffer.getvalue()

    # -- hooks -----------------------------------------------------------------------------

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
        story: list[Flowable] = []
        if any(addendum.entered_in_error for addendum in self.procedure.addenda):
            story.append(self._entered_in_error_banner())
        if not self.signed:
            story.append(self._draft_banner())
        story += self._indication_section()
        story += self._pre_procedure_section()
        story += self._procedure_and_sites_section()
        story += self._medication_section()
        story += self._outcome_section()
        story += self._billing_section()
        story += self._warnings_section()
        story += self._signature_section()
        story += self._addenda_section()
        return story

    # -- page decoration -------------------------------------------------------------------

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

    # -- building blocks -------------------------------------------------------------------

    def _heading(self, text: str) -> Flowable:
        s = self._get_stylesheet()
        table = Table([[_p(text, s.heading)]], colWidths=[self.content_width])
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
            body = value if isinstance(value, Flowable) else _p(value, s.body)
            cells.append([_p(label.upper(), s.label), body])
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
            _p(text, s.cell_head_right if index in right_columns else s.cell_head)
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
                    cells.append(_p(cell, s.cell_right))
                else:
                    cells.append(_p(cell, style))
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
        table = Table([[_m(text, s.banner)]], colWidths=[self.content_width])
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
        table = Table([[_m(text, s.banner)]], colWidths=[self.content_width])
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

    # -- sections --------------------------------------------------------------------------

    def _indication_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        procedure = self.procedure
        names = load_diagnoses()
        diagnoses = (
            "<br/>".join(markup(names.label(code)) for code in procedure.diagnoses)
            if procedure.diagnoses
            else NOT_DOCUMENTED
        )
        payer = self.catalog.payers.get(procedure.payer_profile)
        coverage = payer.name if payer else procedure.payer_profile
        member = self.document.patient.member_id
        if member and procedure.payer_profile == self.document.patient.payer_profile:
            coverage += f" · member id {member}"
        history = procedure.history
        onset = NOT_DOCUMENTED
        referral = NOT_DOCUMENTED
        therapy = NOT_DOCUMENTED
        rehab = NOT_DOCUMENTED
        if history is not None:
            parts = [part for part in (history.onset, _day(history.onset_date)) if part]
            onset = "; ".join(parts) or NOT_DOCUMENTED
            referral = history.referral_pattern or NOT_DOCUMENTED
            therapy = (
                "<br/>".join(markup(_therapy_text(item)) for item in history.conservative_therapy)
                or NOT_DOCUMENTED
            )
            rehab = history.rehab_program or NOT_DOCUMENTED
        functional = (
            "; ".join(
                f"{score.label} {format_number(score.score, 1)}"
                + (f" ({score.measured_on.isoformat()})" if score.measured_on else "")
                for score in procedure.functional_scores
            )
            or NOT_DOCUMENTED
        )
        pairs: list[tuple[str, Flowable | str]] = [
            ("Diagnoses (ICD-10-CM)", _m(diagnoses, s.body)),
            ("Coverage", coverage),
            ("Session", self._session_text()),
            ("Onset", onset),
            ("Referral pattern", referral),
            ("Rehabilitation programme", rehab),
            ("Prior conservative therapy", _m(therapy, s.body)),
            ("Functional scale", functional),
        ]
        flow: list[Flowable] = [self._heading("Indication and diagnoses")]
        flow.append(_p(procedure.indication or "Indication: Not documented", s.body))
        if history is not None and history.notes:
            flow.append(_p(history.notes, s.body))
        flow.append(Spacer(1, 4))
        flow.append(self._fields(pairs))
        return flow

    def _session_text(self) -> str:
        """Initial or repeat, and for a repeat the relief after the previous session with its
        duration, scale and the date it was measured (the LCDs' repeat criterion)."""
        procedure = self.procedure
        priors = self.document.prior_procedures
        if procedure.prior_relief_percent is not None:
            relief = relief_text(
                procedure.prior_relief_percent,
                procedure.prior_relief_weeks,
                procedure.prior_relief_scale,
                procedure.prior_relief_measured_on,
            )
        elif priors:
            latest = max(priors, key=lambda prior: prior.performed_at)
            if latest.relief_percent is None:
                relief = "relief after it: Not documented"
            else:
                relief = relief_text(
                    latest.relief_percent,
                    latest.relief_weeks,
                    latest.relief_scale,
                    latest.relief_measured_on,
                )
                if latest.functional_change:
                    relief += f"; function: {latest.functional_change}"
        else:
            return "Initial session (no earlier session recorded)"
        if priors:
            latest = max(priors, key=lambda prior: prior.performed_at)
            return f"Repeat; previous session {latest.performed_at.date().isoformat()}: {relief}"
        return f"Repeat: {relief}"

    def _pre_procedure_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        procedure = self.procedure
        patient = self.document.patient

        def line(ok: bool, text: str) -> str:
            mark = (
                f'<font color="#166534">{CHECK}</font>'
                if ok
                else f'<font color="#c2410c">{CROSS}</font>'
            )
            return f"{mark} {markup(text)}"

        consent = procedure.consent
        if consent is None:
            consent_lines = [line(False, "Consent not documented")]
        else:
            method = f" ({consent.method})" if consent.method else ""
            consent_lines = [
                line(
                    consent.obtained,
                    f"Consent obtained{method}" if consent.obtained else "Consent NOT obtained",
                )
            ]
            if consent.risks_discussed:
                consent_lines.append(
                    markup("Risks discussed: " + ", ".join(consent.risks_discussed))
                )
            if consent.obtained_by:
                consent_lines.append(markup(f"By {consent.obtained_by}"))
            if consent.at is not None:
                consent_lines.append(markup(f"At {format_datetime(consent.at)}"))

        screen = procedure.safety_screen
        if screen is None:
            screen_lines = [line(False, "Safety screen not documented")]
        else:
            screen_lines = [
                line(screen.anticoagulation_reviewed, "Anticoagulation reviewed"),
                line(screen.bleeding_disorder_excluded, "Bleeding disorder excluded"),
                line(screen.infection_at_site_excluded, "No infection at sites"),
                line(screen.allergies_reviewed, "Allergies reviewed"),
                line(screen.pregnancy_reviewed, "Pregnancy status reviewed"),
                line(screen.prior_reaction_reviewed, "Prior reactions reviewed"),
            ]
            if screen.notes:
                screen_lines.append(markup(screen.notes))
        facts = [
            f"Weight {format_number(patient.weight_kg, 1)} kg"
            if patient.weight_kg
            else "Weight not recorded",
            "Allergies: "
            + (", ".join(patient.allergies) if patient.allergies else "none recorded"),
            "Anticoagulated: "
            + (
                f"yes ({patient.anticoagulant})"
                if patient.anticoagulated and patient.anticoagulant
                else "yes"
                if patient.anticoagulated
                else "no"
            ),
        ]
        if patient.pregnant is not None:
            facts.append("Pregnant: " + ("yes" if patient.pregnant else "no"))
        screen_lines += [markup(fact) for fact in facts]

        time_out = procedure.time_out
        if time_out is None:
            time_out_lines = [line(False, "Time-out not documented")]
        else:
            time_out_lines = [
                markup(f"Confirmed by {time_out.performed_by}"),
                markup(f"At {format_datetime(time_out.at)}"),
            ]
            if time_out.elements:
                # What was shown and confirmed, word for word.
                time_out_lines += [line(True, element) for element in time_out.elements]
            else:  # recorded before the time-out showed its elements
                time_out_lines += [
                    line(time_out.patient_identity_confirmed, "Correct patient"),
                    line(time_out.procedure_confirmed, "Correct procedure"),
                    line(time_out.site_and_side_confirmed, "Correct sites and sides"),
                    line(time_out.consent_confirmed, "Consent confirmed"),
                    line(time_out.position_confirmed, "Position confirmed"),
                    line(time_out.safety_precautions_confirmed, "Safety precautions"),
                ]
        if time_out is not None and time_out.site_marked is None and not time_out.elements:
            time_out_lines.append(markup("Site marking: Not documented"))

        def column(title: str, lines: list[str]) -> list[Flowable]:
            return [_p(title.upper(), s.label), *[_m(text, s.small) for text in lines]]

        width = self.content_width / 3
        table = Table(
            [
                [
                    column("Consent", consent_lines),
                    column("Safety screen", screen_lines),
                    column("Time-out (Universal Protocol)", time_out_lines),
                ]
            ],
            colWidths=[width] * 3,
        )
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 10),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return [KeepTogether([self._heading("Consent, safety screen and time-out"), table])]

    def _procedure_pairs(self) -> list[tuple[str, Flowable | str]]:
        procedure = self.procedure
        technique = (
            ", ".join(TECHNIQUE_WORDS[t] for t in procedure.technique).capitalize()
            if procedure.technique
            else NOT_DOCUMENTED
        )
        pairs: list[tuple[str, Flowable | str]] = [
            (
                "Position",
                POSITION_WORDS[procedure.position] if procedure.position else NOT_DOCUMENTED,
            ),
            (
                "Skin prep",
                SKIN_PREP_WORDS[procedure.skin_prep] if procedure.skin_prep else NOT_DOCUMENTED,
            ),
            ("Needle", needle_text(procedure.needle)),
            ("Technique", technique),
            ("Image guidance", GUIDANCE_WORDS[procedure.image_guidance]),
            ("Sites", self._site_summary()),
        ]
        return pairs

    def _site_summary(self) -> str:
        injected = len(self.procedure.injected_sites)
        planned = len(self.procedure.sites) - injected
        dry = sum(1 for site in self.procedure.injected_sites if site.dry_needling)
        text = f"{injected - dry} injected in {self.evaluation.muscle_count} muscles"
        if dry:
            text += (
                f"; {dry} dry-needled (no injectate) in "
                f"{self.evaluation.dry_needled_muscle_count} muscles"
            )
        if planned:
            text += f"; {planned} planned, not injected"
        return text

    # ---- sites ----------------------------------------------------------------------------

    def _markers_by_view(self) -> tuple[dict[str, list[Marker]], list[int]]:
        by_view: dict[str, list[Marker]] = {}
        unplaced: list[int] = []
        specs = marker_specs(self.procedure, self.catalog)
        for spec, site in zip(specs, self.procedure.sites, strict=True):
            approximate = site.view is None or site.x is None or site.y is None
            if not approximate:
                position: tuple[str, float, float] | None = (site.view, site.x, site.y)  # type: ignore[assignment]
            else:
                position = default_position(site.muscle, site.side)
            if position is None:
                unplaced.append(spec.number)
                continue
            view, x, y = position
            by_view.setdefault(view, []).append(
                Marker(spec, x, y, site.muscle, site.side, approximate)
            )
        return by_view, unplaced

    def _diagram_table(self, max_width: float) -> tuple[Table | None, float]:
        """The panels of the views used, side by side, at most ``max_width`` wide."""
        by_view, _ = self._markers_by_view()
        diagram = load_diagram()
        views = [v for v in VIEW_IDS if v in by_view]
        # The patient's pain drawing: its own panels beside the injection map.
        drawing = self.procedure.pain_drawing
        strokes = drawing.strokes if drawing is not None else ()
        pain_views = [v for v in VIEW_IDS if any(s.view == v for s in strokes)]
        if not views and not pain_views:
            return None, 0.0
        height = self.diagram_height
        gap = 14.0
        gaps = gap * (len(views) + len(pain_views) - 1)

        def build(height: float) -> list[DiagramPanel]:
            return [DiagramPanel(diagram.views[v], by_view[v], height) for v in views] + [
                DiagramPanel(
                    diagram.views[v], [], height, strokes, f"PAIN: {diagram.views[v].title.upper()}"
                )
                for v in pain_views
            ]

        panels = build(height)
        total = sum(p.width for p in panels) + gaps
        if total > max_width:
            height = height * (max_width - gaps) / (total - gaps)
            panels = build(height)
        cells: list[Any] = []
        widths: list[float] = []
        for index, panel in enumerate(panels):
            if index:
                cells.append("")
                widths.append(gap)
            cells.append(panel)
            widths.append(panel.width)
        table = Table([cells], colWidths=widths, hAlign="CENTER")
        table.setStyle(
            TableStyle(
                [
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("TOPPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                    ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ]
            )
        )
        return table, sum(widths)

    def _legend(self) -> Flowable:
        s = self._get_stylesheet()
        by_view, unplaced = self._markers_by_view()
        specs = [marker.spec for markers in by_view.values() for marker in markers]
        # Only what the diagram shows, named as the screen names it (domain.presentation).
        keys = [
            f'<font color="{LEGEND_GLYPHS[entry.feature][1]}">'
            f"{LEGEND_GLYPHS[entry.feature][0]}</font> {markup(entry.label)}"
            for entry in legend_entries(specs, DRAWN_FEATURES)
        ]
        legend = "&nbsp;&nbsp; ".join(keys) + (". " if keys else "")
        legend += "L / R: the patient's left / right. Numbers match the site table."
        if self.procedure.pain_drawing is not None:
            legend += (
                " Pain drawing: where the patient shaded the pain before the procedure"
                " (light = aching, dark = severe)."
            )
        if unplaced:
            legend += (
                " Not on the diagram (no zone for the muscle): "
                + ", ".join(f"#{n}" for n in unplaced)
                + "."
            )
        return _m(legend, s.muted)

    def _agent_columns(self) -> list[str]:
        """Agents shown with a mg column: every non-diluent agent used, in preparation order."""
        agents: list[str] = []
        for preparation in self.procedure.preparations:
            for component in preparation.components:
                agent = self.catalog.agents[component.agent]
                if agent.agent_class != "diluent" and component.agent not in agents:
                    agents.append(component.agent)
        return agents

    def _agent_short_name(self, agent_id: str) -> str:
        return self.catalog.agents[agent_id].name.split(" ")[0]

    def _site_table(self) -> Flowable:
        s = self._get_stylesheet()
        agents = self._agent_columns()
        results = {result.number: result for result in self.evaluation.sites}
        agent_widths = [
            max(42.0, stringWidth(self._agent_short_name(a), SANS_BOLD, 7.5) + 10) for a in agents
        ]
        fixed = [20.0, 118.0, 38.0, 30.0, 28.0, *agent_widths, 38.0]
        if self.content_width - sum(fixed) < MIN_FINDINGS_WIDTH:
            # Too many drugs for a column each (found with five agents in two syringes): one
            # column lists each site's doses, so the table always fits the page.
            return self._site_table_doses_listed()
        header = ["#", "Muscle", "Side", "Prep", "mL"]
        header += [f"{self._agent_short_name(a)} mg" for a in agents]
        header += ["Twitch", "Findings"]
        widths = [*fixed, self.content_width - sum(fixed)]
        right = [4, *range(5, 5 + len(agents))]
        rows: list[list[Flowable | str]] = []
        muted: list[int] = []
        totals_ml = 0.0
        totals_mg = dict.fromkeys(agents, 0.0)
        for number, site in enumerate(self.procedure.sites, start=1):
            result = results.get(number)
            injected = site.state == "injected"
            muscle = markup(self.catalog.muscle_name(site.muscle))
            if result is not None and result.ptx_risk:
                muscle += f' <font color="{RISK_COLOUR}" size="6.5">{PNEUMOTHORAX_FLAG}</font>'
            if site.muscle == UNSPECIFIED:
                muscle += f' <font color="{UNCODED_COLOUR}" size="6.5">{UNCODED_FLAG}</font>'
            location = site.location or computed_location(site.view, site.x, site.y, site.side)
            if location:
                muscle += f'<br/><font color="#5b6470" size="6.5">{markup(location)}</font>'
            doses = {dose.agent: dose.mg for dose in result.doses} if result is not None else {}
            row: list[Flowable | str] = [
                str(number),
                _m(muscle, s.cell),
                side_name(site.side),
                site.preparation or "—",
                format_number(site.volume_ml) if injected and site.volume_ml is not None else "—",
            ]
            for agent in agents:
                mg = doses.get(agent) if injected else None
                row.append(format_number(mg, 1) if mg is not None else "—")
                if mg is not None:
                    totals_mg[agent] += mg
            row.append(TWITCH_WORDS[site.twitch] if site.twitch and injected else "—")
            findings = findings_text(site)
            if injected and site.dry_needling:
                findings = f"Dry needling (no injectate). {findings}".strip()
            if not injected:
                row.append(_m(f"<i>Planned — not injected.</i> {markup(findings)}", s.muted))
                muted.append(number)
            else:
                row.append(findings or "—")
            if injected and site.volume_ml is not None:
                totals_ml += site.volume_ml
            rows.append(row)
        total_row: list[Flowable | str] = [
            "",
            _m("<b>Total injected</b>", s.cell),
            "",
            "",
            _m(f"<b>{format_number(totals_ml)}</b>", s.cell_right),
        ]
        exact = {total.agent: total.mg for total in self.evaluation.totals}
        for agent in agents:
            total_row.append(
                _m(f"<b>{format_number(exact.get(agent, totals_mg[agent]), 1)}</b>", s.cell_right)
            )
        total_row += ["", ""]
        rows.append(total_row)
        return self._grid(
            header, rows, widths, right_columns=right, total_row=True, muted_rows=muted
        )

    def _site_table_doses_listed(self) -> Flowable:
        s = self._get_stylesheet()
        results = {result.number: result for result in self.evaluation.sites}
        header = ["#", "Muscle", "Side", "Prep", "mL", "Doses (mg)", "Twitch", "Findings"]
        fixed = [20.0, 110.0, 38.0, 30.0, 28.0, 130.0, 38.0]
        widths = [*fixed, self.content_width - sum(fixed)]
        rows: list[list[Flowable | str]] = []
        muted: list[int] = []
        totals_ml = 0.0
        for number, site in enumerate(self.procedure.sites, start=1):
            result = results.get(number)
            injected = site.state == "injected"
            doses = result.doses if result is not None and injected else ()
            listed = ", ".join(
                f"{self._agent_short_name(dose.agent)} {format_number(dose.mg, 1)}"
                for dose in doses
                if self.catalog.agents[dose.agent].agent_class != "diluent"
            )
            findings = findings_text(site)
            rows.append(
                [
                    str(number),
                    _m(markup(self.catalog.muscle_name(site.muscle)), s.cell),
                    side_name(site.side),
                    site.preparation or "—",
                    format_number(site.volume_ml)
                    if injected and site.volume_ml is not None
                    else "—",
                    _p(listed or "—", s.cell),
                    TWITCH_WORDS[site.twitch] if site.twitch and injected else "—",
                    (findings or "—")
                    if injected
                    else _m(f"<i>Planned — not injected.</i> {markup(findings)}", s.muted),
                ]
            )
            if not injected:
                muted.append(number)
            elif site.volume_ml is not None:
                totals_ml += site.volume_ml
        totals = ", ".join(
            f"{self._agent_short_name(total.agent)} {format_number(total.mg, 1)}"
            for total in self.evaluation.totals
            if self.catalog.agents[total.agent].agent_class != "diluent"
        )
        rows.append(
            [
                "",
                _m("<b>Total injected</b>", s.cell),
                "",
                "",
                _m(f"<b>{format_number(totals_ml)}</b>", s.cell_right),
                _m(f"<b>{markup(totals) or '—'}</b>", s.cell),
                "",
                "",
            ]
        )
        return self._grid(header, rows, widths, right_columns=[4], total_row=True, muted_rows=muted)

    def _procedure_and_sites_section(self) -> list[Flowable]:
        """Procedure details and the diagram side by side when the diagram is narrow (one or two
        views), else stacked; then the site table, which may break across pages (its header
        row repeats)."""
        s = self._get_stylesheet()
        pairs = self._procedure_pairs()
        if not self.procedure.sites and self.procedure.pain_drawing is None:
            return [
                KeepTogether([self._heading("Procedure"), self._fields(pairs)]),
                self._heading("Injection sites"),
                _p("No sites recorded.", s.body),
            ]
        panels, width = self._diagram_table(self.content_width)
        flow: list[Flowable] = []
        if panels is not None and width <= self.content_width * 0.55:
            gutter = 18.0
            right_width = self.content_width - width - gutter
            right = [
                self._fields(pairs, columns=2, width=right_width),
                Spacer(1, 6),
                self._legend(),
            ]
            combo = Table([[panels, "", right]], colWidths=[width, gutter, right_width])
            combo.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                        ("TOPPADDING", (0, 0), (-1, -1), 4),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                    ]
                )
            )
            head: list[Flowable] = [
                self._heading("Procedure and injection sites"),
                combo,
                Spacer(1, 10),
            ]
        else:
            flow.append(KeepTogether([self._heading("Procedure"), self._fields(pairs)]))
            head = [self._heading("Injection sites")]
            if panels is not None:
                head += [Spacer(1, 4), panels]
            head += [Spacer(1, 3), self._legend(), Spacer(1, 8)]
        table = self._site_table() if self.procedure.sites else _p("No sites recorded.", s.body)
        flow += [KeepTogether(head), table]
        return flow

    # ---- medication ----------------------------------------------------------------------

    def _medication_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        procedure = self.procedure
        flow: list[Flowable] = [self._heading("Medications, lots and totals")]
        if not procedure.preparations:
            flow.append(_p("No preparations recorded.", s.body))
        else:
            use = {u.id: u for u in self.evaluation.preparations}
            header = ["Prep", "Agent", "Strength", "Drawn mL", "Given mL", "Lot", "Expires", "NDC"]
            widths = [58.0, 132.0, 62.0, 48.0, 48.0, 66.0, 62.0]
            widths.append(self.content_width - sum(widths))
            rows: list[list[Flowable | str]] = []
            for preparation in procedure.preparations:
                usage = use.get(preparation.id)
                share_total = preparation.total_volume_ml
                for index, component in enumerate(preparation.components):
                    given = (
                        usage.given_ml * component.volume_ml / share_total
                        if usage is not None
                        else 0.0
                    )
                    label = preparation.label or preparation.id
                    if not label.endswith(preparation.id):
                        label = f"{preparation.id}: {label}"
                    rows.append(
                        [
                            label if index == 0 else "",
                            self.catalog.agents[component.agent].name,
                            component.concentration,
                            format_number(component.volume_ml),
                            format_number(given),
                            component.lot or "not recorded",
                            component.expires.isoformat() if component.expires else "not recorded",
                            component.ndc or "—",
                        ]
                    )
            flow.append(self._grid(header, rows, widths, right_columns=[3, 4]))
        flow.append(Spacer(1, 6))
        flow.append(self._totals_block())
        return flow

    def _totals_block(self) -> Flowable:
        s = self._get_stylesheet()
        evaluation = self.evaluation
        totals = (
            "; ".join(
                f"{t.name} {format_number(t.mg, 1)} mg ({format_number(t.ml)} mL)"
                for t in evaluation.totals
                if t.agent_class != "diluent"
            )
            or "None"
        )
        anesthetic = evaluation.anesthetic
        if anesthetic.agents:
            parts = [
                f"{self._agent_short_name(a.agent)} {format_number(a.mg, 1)} mg of "
                f"{format_number(a.max_mg, 1)} mg maximum"
                + (
                    f" ({format_number(a.mg_per_kg or 0, 1)} mg/kg × "
                    f"{format_number(anesthetic.weight_kg or 0, 1)} kg,"
                    f" cap {format_number(a.cap_mg, 0)} mg)"
                    if a.weight_based
                    else f" (fixed cap {format_number(a.cap_mg, 0)} mg)"
                )
                for a in anesthetic.agents
            ]
            dose = f"<b>{format_number(anesthetic.percent_of_max, 1)} % of maximum</b> — " + markup(
                "; ".join(parts)
            )
        else:
            dose = "No local anesthetic"
        steroid = ""
        if evaluation.steroid_mp_equivalent_mg:
            steroid = (
                f"Corticosteroid: {format_number(evaluation.steroid_mp_equivalent_mg, 1)} mg "
                "methylprednisolone equivalent"
            )
        pairs: list[tuple[str, Flowable | str]] = [
            ("Totals administered", totals),
            ("Local anesthetic dose", _m(dose, s.body)),
        ]
        if steroid:
            pairs.append(("Steroid", steroid))
        return self._fields(pairs, columns=3)

    # ---- outcome ---------------------------------------------------------------------------

    def _outcome_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        procedure = self.procedure
        before = "—" if procedure.pain_before is None else str(procedure.pain_before)
        after = "—" if procedure.pain_after is None else str(procedure.pain_after)
        pain = _m(
            f'<font size="13"><b>{before} → {after}</b></font>  <font color="#5b6470">'
            "NRS 0–10, before → after</font>",
            s.body,
        )
        if procedure.complications is None:
            complications = NOT_DOCUMENTED
        elif not procedure.complications:
            complications = "None"
        else:
            complications = ", ".join(
                COMPLICATION_WORDS[c] for c in procedure.complications
            ).capitalize()
        if procedure.complication_notes:
            complications += f". {procedure.complication_notes}"
        tolerance = TOLERANCE_WORDS[procedure.tolerance] if procedure.tolerance else NOT_DOCUMENTED
        if procedure.observed_minutes is not None:
            tolerance += f"; observed {procedure.observed_minutes} min after the procedure"
        aftercare = (
            "Written instructions given: activity, soreness, warning signs, when to call"
            if procedure.aftercare_given
            else "Aftercare instructions not documented"
        )
        if procedure.aftercare_notes:
            aftercare += f". {procedure.aftercare_notes}"
        pairs: list[tuple[str, Flowable | str]] = [
            ("Pain score", pain),
            ("Complications", complications),
            ("Tolerance", tolerance),
            ("Aftercare", aftercare),
            ("Follow-up", procedure.follow_up or NOT_DOCUMENTED),
        ]
        flow: list[Flowable] = [
            self._heading("Outcome, aftercare and follow-up"),
            self._fields(pairs),
        ]
        if procedure.notes:
            flow.append(_p(procedure.notes, s.body))
        return [KeepTogether(flow)]

    # ---- billing ---------------------------------------------------------------------------

    def _billing_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        evaluation = self.evaluation
        if evaluation.cpt is None:
            cpt = "None (no injected sites)"
        elif evaluation.cpt in ("20560", "20561"):
            description = "1 or 2 muscles" if evaluation.cpt == "20560" else "3 or more muscles"
            cpt = (
                f"<b>{evaluation.cpt}</b> — needle insertion(s) without injection (dry "
                f"needling), {description} ({evaluation.dry_needled_muscle_count} muscles "
                "dry-needled); not a trigger point injection"
            )
        else:
            description = "1 or 2 muscles" if evaluation.cpt == "20552" else "3 or more muscles"
            cpt = (
                f"<b>{evaluation.cpt}</b> — trigger point injection(s), {description} "
                f"({evaluation.muscle_count} muscles injected)"
            )
        if evaluation.hcpcs:
            hcpcs = "<br/>".join(
                f"<b>{line.code} × {line.units}</b> — "
                f"{markup(self.catalog.agents[line.agent].name)} "
                f"{format_number(line.mg, 1)} mg, {format_number(line.unit_mg, 1)} mg per unit"
                + ("" if line.verified else " (unit size unverified)")
                for line in evaluation.hcpcs
            )
        else:
            hcpcs = "None"
        names = load_diagnoses()
        icd = (
            "<br/>".join(markup(names.label(code)) for code in self.procedure.diagnoses)
            or NOT_DOCUMENTED
        )
        pairs: list[tuple[str, Flowable | str]] = [
            ("CPT", _m(cpt, s.body)),
            ("HCPCS (units)", _m(hcpcs, s.body)),
            ("ICD-10-CM", _m(icd, s.body)),
        ]
        pairs += self._claim_pairs()
        return [KeepTogether([self._heading("Billing"), self._fields(pairs)])]

    def _kind(self) -> str:
        """What the note documents: dry needling alone is not a trigger point injection."""
        if self.evaluation.cpt in ("20560", "20561"):
            return "Dry needling"
        return "Trigger point injection"

    def _claim_pairs(self) -> list[tuple[str, Flowable | str]]:
        """Claim lines with their modifiers (JW/JZ, GA/GZ) and what decided them."""
        s = self._get_stylesheet()
        billing = self.evaluation.billing
        if billing is None:
            return []
        pairs: list[tuple[str, Flowable | str]] = []
        if billing.dry_needled_muscles and self.evaluation.cpt in ("20552", "20553"):
            pairs.append(
                (
                    "Dry needling",
                    "Not part of the TPI code: " + ", ".join(billing.dry_needled_muscles),
                )
            )
        claim = []
        for line in billing.lines:
            modifiers = f"-{'-'.join(line.modifiers)}" if line.modifiers else ""
            pointers = ",".join(str(p) for p in line.diagnosis_pointers) or "—"
            extra = " (discarded, single-dose container)" if line.discarded else ""
            ndc = f", NDC {markup(line.ndc)}" if line.ndc else ""
            claim.append(
                f"<b>{line.code}{modifiers} × {line.units}</b>{extra}{ndc}; "
                f"diagnosis pointer {pointers}"
            )
        if claim:
            pairs.append(("Claim lines", _m("<br/>".join(claim), s.body)))
        if billing.coverage_warnings:
            if billing.non_coverage_modifier is not None:
                abn = f"<b>{billing.non_coverage_modifier}</b> — " + (
                    "ABN on file" if self.procedure.abn_on_file else "no ABN on file"
                )
            else:
                abn = "Not recorded (GA if an ABN is on file, GZ if not)"
            abn += " — coverage warnings: " + ", ".join(billing.coverage_warnings)
            pairs.append(("ABN", _m(abn, s.body)))
        if billing.problems:
            pairs.append(
                ("Claim problems", _m("<br/>".join(map(markup, billing.problems)), s.body))
            )
        return pairs

    # ---- warnings --------------------------------------------------------------------------

    def _warnings_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        signature = self.procedure.signature
        acknowledged = {a.code: a for a in signature.acknowledged_warnings} if signature else {}
        messages: dict[str, Any] = {w.code: w for w in self.evaluation.warnings}
        flow: list[Flowable] = [self._heading("Warnings")]
        rows: list[list[Flowable | str]] = []
        for code, ack in acknowledged.items():
            warning = messages.get(code)
            sites = site_ranges(ack.sites)
            text = markup(warning.message if warning else code)
            rows.append(
                [
                    _m(
                        f'<font color="#166534"><b>Acknowledged</b></font><br/>{markup(code)}',
                        s.cell,
                    ),
                    sites,
                    _m(f"{text}<br/><i>Reason: {markup(ack.reason)}</i>", s.cell),
                ]
            )
        for warning in self.evaluation.warnings:
            if warning.code in acknowledged:
                continue
            rows.append(
                [
                    _m(
                        f'<font color="#c2410c"><b>Open</b></font><br/>{markup(warning.code)}',
                        s.cell,
                    ),
                    site_ranges(warning.sites),
                    warning.message,
                ]
            )
        if not rows:
            flow.append(_p("No warnings.", s.body))
            return [KeepTogether(flow)]
        # Wide enough for the longest code on one line (allergy_cross_reactivity).
        codes = [w.code for w in self.evaluation.warnings] + list(acknowledged)
        longest = max((stringWidth(code, SANS, s.cell.fontSize) for code in codes), default=0.0)
        widths = [max(100.0, longest + 12.0), 48.0]
        widths.append(self.content_width - sum(widths))
        flow.append(self._grid(["Status / code", "Sites", "Warning"], rows, widths))
        return flow

    # ---- signature -------------------------------------------------------------------------

    @property
    def _unsigned_state(self) -> str:
        """What the header and watermark say of a note no user of this clinic signed."""
        if self.procedure.external_signature is not None:
            return "Signed elsewhere — not verified"
        return "DRAFT — not signed"

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
                _m(
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
                _m(
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
            _p(
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
            _m(
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
            _m(f"<b>{headline} {markup(signature.signed_by)}</b>", s.body),
            _p(f"Signed at {format_datetime(signature.signed_at)}", s.body),
            Spacer(1, 3),
            _p("CONTENT HASH (SHA-256 OF THE PATIENT AND PROCEDURE DATA)", s.label),
            _p(group_hash(signature.content_hash), s.mono),
            Spacer(1, 2),
            explanation,
        ]

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

    def _addenda_section(self) -> list[Flowable]:
        s = self._get_stylesheet()
        flow: list[Flowable] = []
        for number, addendum in enumerate(self.procedure.addenda, start=1):
            title = f"Addendum {number}" + (
                " — entered in error" if addendum.entered_in_error else ""
            )
            block: list[Flowable] = [
                self._heading(title),
                _p(addendum.text, s.body),
                Spacer(1, 3),
            ]
            if addendum.sites:
                lines = "; ".join(
                    f"{self.catalog.muscle_name(site.muscle)} {site.side}"
                    + (f" {format_number(site.volume_ml)} mL" if site.volume_ml else "")
                    for site in addendum.sites
                )
                block.append(_p(f"Sites in this addendum: {lines}", s.small))
            block.append(_p(f"By {addendum.author} at {format_datetime(addendum.at)}", s.small))
            if addendum.content_hash:
                block.append(_p("ADDENDUM HASH (SHA-256)", s.label))
                block.append(_p(group_hash(addendum.content_hash), s.mono))
            else:
                block.append(_p("Addendum not signed (no hash).", s.muted))
            flow.append(KeepTogether(block))
        return flow


def render_note(document: ProcedureDocument, options: NoteOptions | None = None) -> bytes:
    """Convenience: the note PDF for a document."""
    return ProcedureNoteRenderer(document, options).render()


__all__ = [
    "DOCUMENT_ATTACHMENT",
    "MONO",
    "RENDERER_ID",
    "RENDER_ATTACHMENT",
    "BoxOnPage",
    "NoteOptions",
    "ProcedureNoteRenderer",
    "SignaturePlaceholder",
    "format_datetime",
    "group_hash",
    "render_info",
    "render_note",
]
