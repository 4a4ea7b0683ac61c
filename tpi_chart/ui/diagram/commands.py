"""Undo commands: one class per kind of diagram edit, each changing the stored data.

Every command works on :class:`~tpi_chart.ui.diagram.model.SiteDocument` (which calls the
charting service and commits), never on scene items; the scene redraws from what is stored.
A command whose first ``redo()`` is refused by the service marks itself obsolete, so
``QUndoStack.push`` drops it and nothing on screen claims the edit happened.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import Site
from tpi_chart.ui.diagram.model import SiteDocument


def site_label(site: Site) -> str:
    name = load_catalog().muscle_name(site.muscle)
    return name if site.side == "midline" else f"{name} ({site.side})"


class AddSiteCommand(QUndoCommand):
    """Place a new site. Undo soft-deletes it; redo restores the same row (same id, number)."""

    def __init__(self, document: SiteDocument, site: Site) -> None:
        super().__init__(f"Place {site_label(site)}")
        self.document = document
        self.site = site
        self.site_id: int | None = None

    def redo(self) -> None:
        if self.site_id is None:
            stored = self.document.add(self.site)
            if stored is None:
                self.setObsolete(True)
                return
            self.site_id = int(stored.id)
        elif self.document.restore(self.site_id) is None:
            self.setObsolete(True)

    def undo(self) -> None:
        if self.site_id is not None:
            self.document.remove(self.site_id)


class MoveSiteCommand(QUndoCommand):
    """Drag a marker: new coordinates and the muscle/side resolved at the drop point."""

    def __init__(self, document: SiteDocument, site_id: int, before: Site, after: Site) -> None:
        super().__init__(f"Move site to {site_label(after)}")
        self.document = document
        self.site_id = site_id
        self.before = before
        self.after = after

    def redo(self) -> None:
        if self.document.update(self.site_id, self.after) is None:
            self.setObsolete(True)

    def undo(self) -> None:
        self.document.update(self.site_id, self.before)


class RemoveSiteCommand(QUndoCommand):
    """Delete a site (soft delete in the store). Undo restores the same id and number."""

    def __init__(self, document: SiteDocument, site_id: int, site: Site) -> None:
        super().__init__(f"Remove {site_label(site)}")
        self.document = document
        self.site_id = site_id

    def redo(self) -> None:
        if not self.document.remove(self.site_id):
            self.setObsolete(True)

    def undo(self) -> None:
        self.document.restore(self.site_id)


class ChangeSiteCommand(QUndoCommand):
    """Any other edit of one site's fields from the diagram (e.g. planned → injected)."""

    def __init__(
        self, document: SiteDocument, site_id: int, before: Site, after: Site, text: str
    ) -> None:
        super().__init__(text)
        self.document = document
        self.site_id = site_id
        self.before = before
        self.after = after

    def redo(self) -> None:
        if self.document.update(self.site_id, self.after) is None:
            self.setObsolete(True)

    def undo(self) -> None:
        self.document.update(self.site_id, self.before)
