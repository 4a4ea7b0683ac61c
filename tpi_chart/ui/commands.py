"""Undo commands: one family for every edit of the open procedure, each one operation.

Every command calls :class:`~tpi_chart.ui.document.ProcedureDocument` (which applies a
`services.operations` operation and commits), never a view; the views redraw from the document.
A command whose first ``redo()`` is refused marks itself obsolete, so ``QUndoStack.push`` drops
it and nothing on screen claims the edit happened. The diagram, the keys, the table and the
forms push the same commands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtGui import QUndoCommand

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.models import Site
from tpi_chart.ui.document import ProcedureDocument


def site_label(site: Site) -> str:
    name = load_catalog().muscle_name(site.muscle)
    return name if site.side == "midline" else f"{name} ({site.side})"


class PlaceSiteCommand(QUndoCommand):
    """Place a new site (planned, or injected after the time-out). Undo removes it; redo
    restores the same stored site (same id, same number)."""

    def __init__(self, document: ProcedureDocument, site: Site) -> None:
        super().__init__(f"Place {site_label(site)}")
        self.document = document
        self.site = site
        self.site_id: int | None = None

    def redo(self) -> None:
        if self.site_id is None:
            stored = self.document.place_site(self.site)
            if stored is None:
                self.setObsolete(True)
                return
            self.site_id = stored.id
        elif self.document.restore_site(self.site_id) is None:
            self.setObsolete(True)

    def undo(self) -> None:
        if self.site_id is not None:
            self.document.remove_site(self.site_id)


class ChangeSiteCommand(QUndoCommand):
    """One edit of a site's fields: inject, twitch, volume, syringe, findings, muscle, a move."""

    def __init__(
        self, document: ProcedureDocument, site_id: int, before: Site, after: Site, text: str
    ) -> None:
        super().__init__(text)
        self.document = document
        self.site_id = site_id
        self.before = before
        self.after = after

    def redo(self) -> None:
        if self.document.update_site(self.site_id, self.after) is None:
            self.setObsolete(True)
            return
        # The operation may have completed the site (an injection's time, volume, syringe; the
        # location of a move): a redo after an undo puts back exactly what was stored.
        self.after = self.document.site(self.site_id) or self.after

    def undo(self) -> None:
        self.document.update_site(self.site_id, self.before)


def move_site_command(
    document: ProcedureDocument, site_id: int, before: Site, after: Site
) -> ChangeSiteCommand:
    """A marker dragged: new coordinates and the muscle and side at the drop point."""
    return ChangeSiteCommand(document, site_id, before, after, f"Move site to {site_label(after)}")


class RemoveSiteCommand(QUndoCommand):
    """Take a site off the procedure (kept in the store). Undo restores the same id and number."""

    def __init__(self, document: ProcedureDocument, site_id: int, site: Site) -> None:
        super().__init__(f"Remove {site_label(site)}")
        self.document = document
        self.site_id = site_id

    def redo(self) -> None:
        if self.document.remove_site(self.site_id) is None:
            self.setObsolete(True)

    def undo(self) -> None:
        self.document.restore_site(self.site_id)


class HeaderEditCommand(QUndoCommand):
    """A change of procedure header fields (pain, checklist …)."""

    def __init__(
        self, document: ProcedureDocument, before: dict[str, Any], after: dict[str, Any], text: str
    ) -> None:
        super().__init__(text)
        self.document = document
        self.before = before
        self.after = after

    def redo(self) -> None:
        if self.document.update_header(self.after) is None:
            self.setObsolete(True)

    def undo(self) -> None:
        self.document.update_header(self.before)


class TimeOutCommand(QUndoCommand):
    """The confirmed time-out: undo puts back the planned time and status."""

    def __init__(self, document: ProcedureDocument, site_marked: bool) -> None:
        super().__init__("Time-out")
        self.document = document
        self.site_marked = site_marked
        procedure = document.procedure
        assert procedure is not None
        self.before: dict[str, Any] = {
            "time_out": None,
            "status": procedure.status,
            "performed_at": procedure.performed_at,
            "planned_at": procedure.planned_at,
        }
        self.at = datetime.now().astimezone().replace(microsecond=0)
        self.after: dict[str, Any] = {}  # as stored by the first redo

    def redo(self) -> None:
        if self.after:  # redo after undo: the same time-out, as it was confirmed
            if self.document.update_header(self.after) is None:
                self.setObsolete(True)
            return
        if self.document.record_time_out(self.site_marked, self.at) is None:
            self.setObsolete(True)
            return
        procedure = self.document.procedure
        assert procedure is not None
        self.after = {key: getattr(procedure, key) for key in self.before}

    def undo(self) -> None:
        self.document.update_header(self.before)
