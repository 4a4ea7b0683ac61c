"""Font registration and text markup with a CJK fallback.

The note embeds its fonts (subsets), so what prints does not depend on the reader's machine.
DejaVu Sans covers Latin, Greek, Cyrillic and most symbols (``Nguyễn``, ``Ødegård``); it has no
CJK glyphs, so runs of characters DejaVu lacks are set in Droid Sans Fallback (``李``), which is
shipped in ``resources/fonts`` too and registered only when a text needs it. Characters neither
font covers print as the font's missing-glyph box: a documented limit.
"""

from __future__ import annotations

from functools import cache
from html import escape

# reportlab formats every number and measures every string in pure Python unless its C
# accelerator (the rl-accel package) is importable: a fifth of a note's render time. Imported by
# name so that the frozen bundle (which follows imports, not reportlab's exec) carries it too.
import _rl_accel  # noqa: F401
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from tpi_chart.domain.resources import resource_path
from tpi_chart.pdf.font_metrics import build_metrics, load_fonts

SANS = "TPISans"
SANS_BOLD = "TPISans-Bold"
SANS_ITALIC = "TPISans-Oblique"
MONO = "TPIMono"
FALLBACK = "TPIFallback"

#: The note's fonts (name -> resource), restored from ``font_metrics.METRICS_FILE``.
FONT_FILES = {
    SANS: "fonts/DejaVuSans.ttf",
    SANS_BOLD: "fonts/DejaVuSans-Bold.ttf",
    SANS_ITALIC: "fonts/DejaVuSans-Oblique.ttf",
    MONO: "fonts/DejaVuSansMono.ttf",
}
_FALLBACK_FILE = "fonts/DroidSansFallbackFull.ttf"


def shipped_metrics() -> bytes:
    """The metrics file of the note's fonts, parsed afresh (``tools/font_metrics.py``)."""
    return build_metrics({relative: resource_path(relative) for relative in FONT_FILES.values()})


@cache
def register_fonts() -> None:
    """Register the note's fonts once per process (idempotent)."""
    for font in load_fonts(FONT_FILES):
        pdfmetrics.registerFont(font)
    pdfmetrics.registerFontFamily(
        SANS, normal=SANS, bold=SANS_BOLD, italic=SANS_ITALIC, boldItalic=SANS_BOLD
    )
    for bold, italic, face in (
        (0, 0, SANS),
        (1, 0, SANS_BOLD),
        (0, 1, SANS_ITALIC),
        (1, 1, SANS_BOLD),
    ):
        addMapping(SANS, bold, italic, face)


@cache
def _fallback_available() -> bool:
    path = resource_path(_FALLBACK_FILE)
    if not path.is_file():
        return False
    pdfmetrics.registerFont(TTFont(FALLBACK, str(path)))
    return True


@cache
def _covered(font_name: str) -> frozenset[int]:
    register_fonts()
    font = pdfmetrics.getFont(font_name)
    return frozenset(font.face.charToGlyph)


def needs_fallback(char: str) -> bool:
    """True if DejaVu Sans has no glyph for the character (and it is not plain whitespace)."""
    return not char.isspace() and ord(char) not in _covered(SANS)


def runs(text: str) -> list[tuple[str, bool]]:
    """Split text into (run, needs_fallback) pieces, in order."""
    pieces: list[tuple[str, bool]] = []
    for char in text:
        flag = needs_fallback(char)
        if pieces and pieces[-1][1] == flag:
            pieces[-1] = (pieces[-1][0] + char, flag)
        else:
            pieces.append((char, flag))
    return pieces


def markup(text: str) -> str:
    """User text as safe Paragraph markup: XML escaped, uncovered runs set in the fallback font."""
    out: list[str] = []
    for run, fallback in runs(text):
        # html's escape, not xml.sax.saxutils' (the same &, < and >): that one imports
        # urllib.request and with it ssl and http.client: 11 ms of CPU in every `tpi-chart export`.
        escaped = escape(run, quote=False)
        if fallback and _fallback_available():
            out.append(f'<font name="{FALLBACK}">{escaped}</font>')
        else:
            out.append(escaped)
    return "".join(out)


def font_for_run(font_name: str, fallback: bool) -> str:
    """The font to draw a run with on a canvas (see :func:`runs`)."""
    if fallback and _fallback_available():
        return FALLBACK
    return font_name
