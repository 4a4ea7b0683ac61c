"""What a note needs besides the document (the clinic's options), and what it records
about how it was made."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import reportlab
from reportlab.lib.pagesizes import A4, LETTER

from tpi_chart import __version__
from tpi_chart.pdf.attachment_names import DOCUMENT_ATTACHMENT as DOCUMENT_ATTACHMENT
from tpi_chart.pdf.attachment_names import RENDER_ATTACHMENT as RENDER_ATTACHMENT

#: Identifies the layout. Bump it whenever the same document would render differently.
RENDERER_ID = "tpi-chart-note/2"


PageSize = Literal["letter", "a4"]


PAGE_SIZES: dict[str, tuple[float, float]] = {"letter": LETTER, "a4": A4}


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
