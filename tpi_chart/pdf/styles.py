"""Colours, paragraph and table styles shared by the note and the handout."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle

from tpi_chart.pdf.fonts import MONO, SANS, SANS_BOLD, SANS_ITALIC, register_fonts

INK = colors.HexColor("#1b1f24")
MUTED = colors.HexColor("#5b6470")
RULE = colors.HexColor("#c9ced6")
ACCENT = colors.HexColor("#1f4e79")
ACCENT_LIGHT = colors.HexColor("#e8eef5")
ZEBRA = colors.HexColor("#f4f6f9")
WHITE = colors.white
WARNING = colors.HexColor("#c2410c")
WARNING_LIGHT = colors.HexColor("#fff4ec")
DRAFT = colors.HexColor("#b91c1c")
DRAFT_LIGHT = colors.HexColor("#fdecec")
SKIN = colors.HexColor("#f7f3ee")
OUTLINE = colors.HexColor("#7a6f66")
ZONE = colors.HexColor("#b9b0a7")
ZONE_USED = colors.HexColor("#dbe6f1")
BONE = colors.HexColor("#c4b497")
OK = colors.HexColor("#166534")


@dataclass(frozen=True)
class Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    muted: ParagraphStyle
    label: ParagraphStyle
    heading: ParagraphStyle
    title: ParagraphStyle
    cell: ParagraphStyle
    cell_right: ParagraphStyle
    cell_head: ParagraphStyle
    cell_head_right: ParagraphStyle
    mono: ParagraphStyle
    banner: ParagraphStyle
    warning: ParagraphStyle
    handout_body: ParagraphStyle
    handout_heading: ParagraphStyle


@cache
def styles() -> Styles:
    register_fonts()
    body = ParagraphStyle(
        "body", fontName=SANS, fontSize=9, leading=12.5, textColor=INK, alignment=TA_LEFT
    )
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10.5)
    cell = ParagraphStyle("cell", parent=body, fontSize=8, leading=10)
    cell_head = ParagraphStyle(
        "cell_head", parent=cell, fontName=SANS_BOLD, textColor=colors.white, fontSize=7.5
    )
    return Styles(
        body=body,
        small=small,
        muted=ParagraphStyle("muted", parent=small, textColor=MUTED),
        label=ParagraphStyle(
            "label", parent=small, fontName=SANS_BOLD, textColor=MUTED, fontSize=7.5, leading=10
        ),
        heading=ParagraphStyle(
            "heading",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=10.5,
            leading=13,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=4,
        ),
        title=ParagraphStyle(
            "title", parent=body, fontName=SANS_BOLD, fontSize=14, leading=18, textColor=INK
        ),
        cell=cell,
        cell_right=ParagraphStyle("cell_right", parent=cell, alignment=TA_RIGHT),
        cell_head=cell_head,
        cell_head_right=ParagraphStyle("cell_head_right", parent=cell_head, alignment=TA_RIGHT),
        mono=ParagraphStyle("mono", parent=small, fontName=MONO, fontSize=8, leading=10.5),
        banner=ParagraphStyle(
            "banner", parent=body, fontName=SANS_BOLD, fontSize=11, leading=14, textColor=DRAFT
        ),
        warning=ParagraphStyle("warning", parent=small, textColor=INK),
        handout_body=ParagraphStyle("handout_body", parent=body, fontSize=11, leading=15.5),
        handout_heading=ParagraphStyle(
            "handout_heading",
            parent=body,
            fontName=SANS_BOLD,
            fontSize=13,
            leading=17,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=3,
        ),
    )


ITALIC = SANS_ITALIC
