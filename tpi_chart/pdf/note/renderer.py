"""The note renderer: the sections in order on the note's page."""

from __future__ import annotations

from reportlab.platypus import Flowable

from tpi_chart.domain.models import ProcedureDocument
from tpi_chart.pdf.note.billing import BillingSections
from tpi_chart.pdf.note.clinical import ClinicalSections
from tpi_chart.pdf.note.options import NoteOptions
from tpi_chart.pdf.note.signature import SignatureSections
from tpi_chart.pdf.note.sites import SiteSections


class ProcedureNoteRenderer(ClinicalSections, SiteSections, BillingSections, SignatureSections):
    """Render one procedure document as the note PDF.

    Subclass and override the ``_…`` hooks to change a part; :meth:`render` wires them up.
    """

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


def render_note(document: ProcedureDocument, options: NoteOptions | None = None) -> bytes:
    """Convenience: the note PDF for a document."""
    return ProcedureNoteRenderer(document, options).render()
