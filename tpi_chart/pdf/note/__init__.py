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

The package, by part of the page: ``options``, ``text`` (wording helpers), ``base`` (page,
header, footer, building blocks), ``clinical``, ``sites`` (diagram, legend, site table),
``billing`` (medications, codes, warnings), ``signature`` (signature and addenda) and
``renderer``. The package exports the renderer, its options and the helpers callers share.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tpi_chart.pdf.note.options import (
    DOCUMENT_ATTACHMENT,
    PAGE_SIZES,
    RENDER_ATTACHMENT,
    RENDERER_ID,
    NoteOptions,
    PageSize,
    render_info,
)

if TYPE_CHECKING:
    from tpi_chart.pdf.note.base import BoxOnPage, SignaturePlaceholder
    from tpi_chart.pdf.note.renderer import ProcedureNoteRenderer, render_note
    from tpi_chart.pdf.note.text import draw_text, format_datetime, group_hash

# The page layout (reportlab's platypus) is imported when one of these is first asked for: the
# options alone are what a signed note's export, the settings and the window's start need.
_LAYOUT = {
    "BoxOnPage": "base",
    "SignaturePlaceholder": "base",
    "ProcedureNoteRenderer": "renderer",
    "render_note": "renderer",
    "draw_text": "text",
    "format_datetime": "text",
    "group_hash": "text",
}


def __getattr__(name: str) -> Any:
    part = _LAYOUT.get(name)
    if part is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{part}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DOCUMENT_ATTACHMENT",
    "PAGE_SIZES",
    "RENDERER_ID",
    "RENDER_ATTACHMENT",
    "BoxOnPage",
    "NoteOptions",
    "PageSize",
    "ProcedureNoteRenderer",
    "SignaturePlaceholder",
    "draw_text",
    "format_datetime",
    "group_hash",
    "render_info",
    "render_note",
]
