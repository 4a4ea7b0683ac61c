"""Wording and drawing helpers of the note: dates with their offset, numbers, hashes in groups,
site ranges, findings, relief, paragraphs of plain text or trusted markup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from tpi_chart.domain.models import Needle, Site
from tpi_chart.domain.presentation import NOT_DOCUMENTED, SIDE_WORDS
from tpi_chart.pdf.fonts import font_for_run, markup, runs
from tpi_chart.pdf.paragraph import LaidOutOnce


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


def text_para(text: str, style: Any) -> LaidOutOnce:
    """A paragraph of user/plain text (escaped, CJK fallback)."""
    return LaidOutOnce(markup(text), style)


def markup_para(markup_text: str, style: Any) -> LaidOutOnce:
    """A paragraph of trusted markup built by this module (user parts already escaped)."""
    return LaidOutOnce(markup_text, style)


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
