"""The patient aftercare handout: one plain-language page in the clinic's name.

The text is data (``resources/aftercare/handout.json``, sourced from clinical-reference §1.6);
this module only lays it out. The pneumothorax section is shown only when a pneumothorax-risk
muscle was injected. Deterministic like the note (reportlab ``invariant=1``); the patient's name
is on the page but not in the PDF metadata.
"""

from __future__ import annotations

import io
import json
from functools import cache
from typing import Any

from reportlab.platypus import (
    KeepTogether,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from tpi_chart import APP_NAME, __version__
from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.domain.presentation import marker_specs
from tpi_chart.domain.resources import resource_path
from tpi_chart.pdf import styles as st
from tpi_chart.pdf.canvas import numbered_canvas
from tpi_chart.pdf.fonts import SANS, SANS_BOLD, markup, register_fonts
from tpi_chart.pdf.note import PAGE_SIZES, NoteOptions, draw_text
from tpi_chart.pdf.paragraph import LaidOutOnce


@cache
def handout_text() -> dict[str, Any]:
    with resource_path("aftercare/handout.json").open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def plain_join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def injected_areas(document: ProcedureDocument) -> list[str]:
    """Plain names of the regions injected, in body order (head to hip)."""
    catalog = load_catalog()
    names: dict[str, str] = handout_text()["region_names"]
    regions = {catalog.region_of(site.muscle) for site in document.procedure.injected_sites}
    return [names[r] for r in catalog.regions if r in regions and r in names]


def pneumothorax_risk(document: ProcedureDocument) -> bool:
    """Whether an injected site's marker carries the pneumothorax ring (the note's legend)."""
    return any(
        spec.injected and spec.pneumothorax_risk for spec in marker_specs(document.procedure)
    )


class AftercareHandoutRenderer:
    margin = 54.0

    def __init__(self, document: ProcedureDocument, options: NoteOptions | None = None) -> None:
        self.document = document
        self.options = options or NoteOptions()
        self.pagesize = PAGE_SIZES[self.options.page_size]

    def render(self) -> bytes:
        register_fonts()
        buffer = io.BytesIO()
        mrn = self.document.patient.mrn
        day = self.document.procedure.performed_at.date().isoformat()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=self.pagesize,
            leftMargin=self.margin,
            rightMargin=self.margin,
            topMargin=self.margin + 30,
            bottomMargin=self.margin,
            invariant=1,
            title=f"Aftercare instructions — {mrn} {day}",
            author=self.options.clinic_name,
            subject="Aftercare after trigger point injections",
            creator=f"{APP_NAME} {__version__}",
        )
        doc.build(self._story(), canvasmaker=numbered_canvas(self._decorate))
        return buffer.getvalue()

    def _decorate(self, canvas: Any, page: int, total: int) -> None:
        width, height = self.pagesize
        top = height - self.margin
        canvas.saveState()
        canvas.setFillColor(st.ACCENT)
        draw_text(canvas, self.margin, top - 6, self.options.clinic_name, SANS_BOLD, 14)
        if self.options.clinic_phone:
            canvas.setFillColor(st.INK)
            draw_text(
                canvas,
                width - self.margin,
                top - 6,
                f"Phone {self.options.clinic_phone}",
                SANS_BOLD,
                11,
                "right",
            )
        canvas.setStrokeColor(st.ACCENT)
        canvas.setLineWidth(1.2)
        canvas.line(self.margin, top - 16, width - self.margin, top - 16)
        canvas.setFillColor(st.MUTED)
        draw_text(
            canvas,
            self.margin,
            self.margin - 18,
            "Keep this sheet. Bring it to your next visit if you have questions.",
            SANS,
            8,
        )
        if total > 1:
            draw_text(
                canvas,
                width - self.margin,
                self.margin - 18,
                f"Page {page} of {total}",
                SANS,
                8,
                "right",
            )
        canvas.restoreState()

    def _story(self) -> list[Any]:
        s = st.styles()
        data = handout_text()
        patient = self.document.patient
        procedure = self.document.procedure
        areas = injected_areas(self.document)
        story: list[Any] = [
            LaidOutOnce(markup(data["title"]), s.title),
            Spacer(1, 8),
        ]
        facts = [
            ("Patient", f"{patient.given_name} {patient.family_name}"),
            (
                "Date",
                f"{procedure.performed_at:%B} {procedure.performed_at.day}, "
                f"{procedure.performed_at.year}",
            ),
            (
                "Areas treated",
                plain_join(areas).capitalize() if areas else "See your procedure note",
            ),
        ]
        if procedure.physician:
            facts.append(("Your doctor", procedure.physician))
        table = Table(
            [
                [LaidOutOnce(markup(k), s.label), LaidOutOnce(markup(v), s.handout_body)]
                for k, v in facts
            ],
            colWidths=[100, self.pagesize[0] - 2 * self.margin - 100],
        )
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, -1), st.ACCENT_LIGHT),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 10),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        story += [table, Spacer(1, 6)]
        show_ptx = pneumothorax_risk(self.document)
        for section in data["sections"]:
            if section.get("when") == "pneumothorax_risk" and not show_ptx:
                continue
            urgent = section.get("when") == "pneumothorax_risk"
            items = [
                LaidOutOnce(f"•&nbsp;&nbsp;{markup(item['text'])}", s.handout_body)
                for item in section["items"]
            ]
            block: list[Any] = [LaidOutOnce(markup(section["heading"]), s.handout_heading), *items]
            if urgent:
                box = Table([[block]], colWidths=[self.pagesize[0] - 2 * self.margin])
                box.setStyle(
                    TableStyle(
                        [
                            ("BACKGROUND", (0, 0), (-1, -1), st.WARNING_LIGHT),
                            ("BOX", (0, 0), (-1, -1), 1.2, st.WARNING),
                            ("LEFTPADDING", (0, 0), (-1, -1), 10),
                            ("RIGHTPADDING", (0, 0), (-1, -1), 10),
                            ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
                        ]
                    )
                )
                story += [Spacer(1, 8), box]
            else:
                story.append(KeepTogether(block))
        call = (
            f"Questions? Call {markup(self.options.clinic_name)} at "
            f"<b>{markup(self.options.clinic_phone)}</b>."
            if self.options.clinic_phone
            else f"Questions? Call {markup(self.options.clinic_name)}."
        )
        story += [Spacer(1, 12), LaidOutOnce(call, s.handout_body)]
        return story


def render_handout(document: ProcedureDocument, options: NoteOptions | None = None) -> bytes:
    return AftercareHandoutRenderer(document, options).render()


__all__ = ["SANS", "AftercareHandoutRenderer", "render_handout"]
