"""The open procedure on screen: one document that every view of it observes.

Every edit goes `view → undo command (ui.commands) → ProcedureDocument.<edit>() → ChartingOps
operation → COMMIT → Changes`. The document takes the stored rows and the evaluation from the
`Changes` (it does not read the procedure again) and says what changed: `saved(time)`, then
`sites_changed(changes)` / `header_changed()` / `status_changed(status)` / `time_out_changed()`
for the parts in it, then `changed(parts)` once (Anki's "operations return what changed, views
refresh"; Orange's one document under every view). The diagram, the site table, the header and
the panels redraw from the document. A refused edit emits `failed(message)`, the document reads
the stored procedure again (`reloaded()`), and nothing on screen claims the edit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, SignalInstance

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.models import PainStroke, Preparation, Procedure, Site
from tpi_chart.domain.models import ProcedureDocument as ProcedureRecordDocument
from tpi_chart.domain.rules import Evaluation
from tpi_chart.domain.users import User
from tpi_chart.services.charting import (
    ChartingService,
    StoredProcedure,
    StoredSite,
    StoredStroke,
)
from tpi_chart.services.errors import StaleEdit, changed_by
from tpi_chart.services.live import Lease
from tpi_chart.services.operations import Changes, ChartingOps
from tpi_chart.ui.plain_errors import KNOWN_ERRORS, user_message

log = logging.getLogger(__name__)
T = TypeVar("T")

#: `changed(parts)` when a procedure was (re)read: every view redraws.
ALL = frozenset({"all"})


def describe(error: BaseException) -> str:
    """The one sentence a refused edit shows, wherever it was made."""
    if isinstance(error, StaleEdit):
        # The document reads the procedure again after every refusal: say so instead of
        # asking for a reload.
        fields = ", ".join(error.changed) or "its record"
        return (
            f"Not saved: {error.what} was {changed_by(error.by, error.at)} after you opened it "
            f"({fields}). Reloaded: the workspace now shows the current record; make your "
            "change again if it is still needed."
        )
    return user_message(error).replace("\n", "; ")


class ProcedureDocument(QObject):
    """The one open procedure, as its last operation stored it, and its evaluation.

    `charting` is the charting service (`services.charting.ChartingService`): the document
    applies its operations (`charting.operations()`) and, for the syringes and the pain
    drawing, which have their own service calls, takes what those stored.
    """

    #: An edit is about to be written.
    saving = Signal()
    #: An edit was committed (the time the screen shows as "Saved").
    saved = Signal(datetime)
    #: An edit was refused: a sentence for the user; the stored procedure was read again.
    failed = Signal(str)
    #: A procedure was opened: every view shows it from the start.
    opened = Signal()
    #: The open procedure was read again: every view redraws from it, keeping its place.
    reloaded = Signal()
    #: Sites were placed, changed, removed or restored (the `Changes`).
    sites_changed = Signal(object)
    #: Header fields changed (pain, checklist, indication, date of service …).
    header_changed = Signal()
    #: The procedure's status changed (the new status).
    status_changed = Signal(str)
    #: The time-out was recorded or undone.
    time_out_changed = Signal()
    #: The syringes changed.
    preparations_changed = Signal()
    #: The pain drawing changed.
    pain_changed = Signal()
    #: After the part signals of one edit, once: the parts ("sites", "header", "status",
    #: "time_out", "preparations", "pain"; "all" after a read).
    changed = Signal(frozenset)

    #: Set by `bind`: a document built before anyone signed in (`ui.prebuild`) has no service
    #: to read or write through, so it holds nobody's data.
    charting: ChartingService
    ops: ChartingOps

    def __init__(self, charting: ChartingService | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if charting is not None:
            self.bind(charting)
        self.procedure_id: int | None = None
        self.patient_id: int | None = None
        self.stored: StoredProcedure | None = None  # the base of the next edit
        self.procedure: Procedure | None = None
        self.sites: list[StoredSite] = []  # in number order
        self.evaluation: Evaluation | None = None
        #: Another room's lease on the open procedure (ui/workspace/lease.py): read-only here.
        self.held_by: Lease | None = None

    def bind(self, charting: ChartingService) -> None:
        """The charting service of the person signed in; once, before anything is opened."""
        self.charting = charting
        self.ops = charting.operations()

    @property
    def user(self) -> User:
        return self.ops.user

    # -- reading -------------------------------------------------------------------------------

    def open(self, procedure_id: int | None) -> bool:
        """Read a procedure (the one read of a charting session) and show it everywhere, from
        the start (no selection, framed); False when it could not be read."""
        self.procedure_id = procedure_id
        return self._read(self.opened)

    def reload(self) -> bool:
        """Read the open procedure again (edits made elsewhere, or after a refusal): the views
        redraw and keep their selection; False when it could not be read."""
        return self._read(self.reloaded)

    def _read(self, signal: SignalInstance) -> bool:
        read = True
        if self.procedure_id is None:
            self._clear()
        else:
            try:
                self._take(self.ops.open(self.procedure_id))
            except KNOWN_ERRORS as error:  # said in the banner; anything else is a bug: the hook
                if not isinstance(error, DomainError):
                    log.exception("procedure %s could not be read", self.procedure_id)
                self._clear(keep_id=True)
                self.failed.emit(describe(error))
                read = False
        signal.emit()
        self.changed.emit(ALL)
        return read

    def _clear(self, *, keep_id: bool = False) -> None:
        if not keep_id:
            self.procedure_id = None
        self.patient_id = None
        self.stored = None
        self.procedure = None
        self.sites = []
        self.evaluation = None

    def _take(self, changes: Changes) -> None:
        stored = changes.procedure
        self.stored = stored
        self.procedure_id = stored.id
        self.patient_id = stored.patient_id
        self.procedure = stored.procedure
        self.sites = stored.stored_sites()
        self.evaluation = changes.evaluation

    def stored_site(self, site_id: int) -> StoredSite | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def site(self, site_id: int) -> Site | None:
        stored = self.stored_site(site_id)
        return stored.site if stored is not None else None

    def number_of(self, site_id: int) -> int | None:
        stored = self.stored_site(site_id)
        return stored.number if stored is not None else None

    @property
    def signed(self) -> bool:
        """Frozen: signed here, or imported as signed elsewhere (read-only)."""
        return self.procedure is not None and self.procedure.status in ("signed", "external")

    @property
    def read_only(self) -> bool:
        """Nothing here may change it: signed, or open for charting in another room."""
        return self.signed or self.held_by is not None

    @property
    def editable(self) -> bool:
        return self.procedure is not None and not self.read_only

    def document(self) -> ProcedureRecordDocument:
        """The procedure document (patient, procedure, earlier sessions) as the last operation
        left it, without a read of the database."""
        assert self.procedure_id is not None
        return self.ops.document(self.procedure_id)

    # -- writing -------------------------------------------------------------------------------

    def _apply(self, action: Callable[[int], Changes]) -> Changes | None:
        """Run one operation on the open procedure (its id given to `action`) and announce the
        `Changes` it returned; None when it was refused."""
        changes = self._apply_quietly(action)
        if changes is not None:
            self._announce(changes)
        return changes

    def _apply_quietly(self, action: Callable[[int], Changes]) -> Changes | None:
        """Run one edit and take the `Changes` (the caller announces it); None when refused."""
        if self.procedure_id is None:
            self.failed.emit("No procedure is open.")
            return None
        self.saving.emit()
        try:
            changes = action(self.procedure_id)
        except KNOWN_ERRORS as error:  # every refusal becomes a banner; a bug reaches the hook
            if not isinstance(error, DomainError):
                log.exception("edit refused")
            self.failed.emit(describe(error))
            self.reload()
            return None
        self._take(changes)
        return changes

    def _announce(self, changes: Changes) -> None:
        self.saved.emit(datetime.now())
        parts = changes.parts
        if "sites" in parts:
            self.sites_changed.emit(changes)
        if "header" in parts:
            self.header_changed.emit()
        if "status" in parts and self.procedure is not None:
            self.status_changed.emit(self.procedure.status)
        if "time_out" in parts:
            self.time_out_changed.emit()
        self.changed.emit(frozenset(parts))

    def place_site(self, site: Site) -> StoredSite | None:
        """A new site: planned (before the time-out) or injected (after it)."""

        def placed(pid: int) -> Changes:
            if site.state == "planned":
                return self.ops.plan_site(pid, site)
            return self.ops.inject_site(pid, site)

        changes = self._apply(placed)
        return changes.site if changes is not None else None

    def update_site(self, site_id: int, site: Site) -> Changes | None:
        return self._apply(lambda _pid: self.ops.update_site(site_id, site))

    def remove_site(self, site_id: int) -> Changes | None:
        return self._apply(lambda _pid: self.ops.remove_site(site_id))

    def restore_site(self, site_id: int) -> Changes | None:
        return self._apply(lambda _pid: self.ops.restore_site(site_id))

    def update_header(self, changes: dict[str, Any]) -> Changes | None:
        return self._apply(lambda pid: self.ops.update_header(pid, changes))

    def record_time_out(self, site_marked: bool, at: datetime) -> Changes | None:
        return self._apply(
            lambda pid: self.ops.record_time_out(pid, site_marked=site_marked, at=at)
        )

    def set_preparations(self, preparations: Sequence[Preparation]) -> bool:
        """The syringes are stored by the charting service (not an operation): the operations
        read the procedure again to hold what it stored."""
        base = self.stored

        def stored(pid: int) -> Changes:
            self.charting.set_preparations(pid, tuple(preparations), base=base)
            return self.ops.open(pid)

        changes = self._apply_quietly(stored)
        if changes is None:
            return False
        self.saved.emit(datetime.now())
        self.preparations_changed.emit()
        self.changed.emit(frozenset({"preparations"}))
        return True

    # -- the pain drawing (its strokes have their own service calls and audit rows) ------------

    def pain_strokes(self, procedure_id: int) -> list[StoredStroke]:
        return list(self.charting.pain_strokes(procedure_id))

    def _pain_edit(self, action: Callable[[], T]) -> T:
        result = action()
        if self.procedure_id is not None:
            # The operations take the stored drawing, so the note and the forms see it.
            self._take(self.ops.pain_changed(self.procedure_id))
            self.pain_changed.emit()
        return result

    def add_pain_stroke(self, procedure_id: int, stroke: PainStroke) -> StoredStroke:
        return self._pain_edit(lambda: self.charting.add_pain_stroke(procedure_id, stroke))

    def remove_pain_stroke(self, stroke_id: int) -> None:
        self._pain_edit(lambda: self.charting.remove_pain_stroke(stroke_id))

    def restore_pain_stroke(self, stroke_id: int) -> StoredStroke:
        return self._pain_edit(lambda: self.charting.restore_pain_stroke(stroke_id))
