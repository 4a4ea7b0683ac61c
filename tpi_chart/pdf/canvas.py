"""A canvas that knows the page count when it draws headers and footers ("Page X of Y").

Pages are kept until :meth:`save`, then decorated with the total known (the NumberedCanvas
recipe used by pretix), and the files to embed are attached just before the PDF is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reportlab.pdfgen.canvas import Canvas

from tpi_chart.pdf.attachments import EmbeddedFile, embed_files

Decorator = Callable[[Any, int, int], None]


def numbered_canvas(decorate: Decorator, attachments: Sequence[EmbeddedFile] = ()) -> type[Canvas]:
    """A Canvas class whose pages get ``decorate(canvas, page_number, page_count)`` at save."""

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for number, state in enumerate(self._saved_pages, start=1):
                self.__dict__.update(state)
                decorate(self, number, total)
                Canvas.showPage(self)
            if attachments:
                embed_files(self, attachments)
            Canvas.save(self)

    return NumberedCanvas
