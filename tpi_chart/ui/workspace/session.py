"""The workspace's one door to the charting operations for the open procedure.

Every edit goes `widget → ChartSession.<edit>() → ChartingOps operation → COMMIT → Changes`; the
session takes the stored rows and the evaluation from the `Changes` (it does not read the
procedure again), emits `saved(time)` and then `changed(kind)`, and every view (site table,
diagram, rules panel, forms) refreshes from what is stored (Anki's "operations return what
changed, views refresh"). A refused edit emits `failed(message)` and nothing on screen claims it.
The defaults of an injection and the status are the operations' (`services.operations`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.models import Preparation, Procedure, Site
from tpi_chart.domain.users import User
from tpi_chart.services.errors import StaleEdit
from tpi_chart.services.operations import Changes, ChartingOps
from tpi_chart.ui.plain_errors import user_message

log = logging.getLogger(__name__)
T = TypeVar("T")


def describe(error: BaseException) -> str:
    if isinstance(error, StaleEdit):
        # The session reloads after every refusal: say so instead of asking for a reload.
        fields = ", ".join(error.changed) or "its record"
        return (
            f"Not saved: {error.what} was changed elsewhere after you opened it ({fields}). "
            "Reloaded: the workspace now shows the current record; make your change again if "
            "it is still needed."
        )
    return user_message(error).replace("\n", "; ")


class ChartSession(QObject):
    """State of the one open procedure, as last read back from the service."""

    saving = Signal()
    saved = Signal(datetime)
    failed = Signal(str)
    # "header", "sites", "preparations" or "all": which part of the stored procedure changed;
    # "diagram": sites changed by the diagram, which has already redrawn itself.
    changed = Signal(str)

    def __init__(self, charting: Any, user: User, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.charting = charting
        self.ops: ChartingOps = charting.operations()
        self.user = user
        self.procedure_id: int | None = None
        self.patient_id: int | None = None
        self.procedure: Procedure | None = None
        self.stored: Any = None  # the StoredProcedure last read: the base of header edits
        self.sites: list[Any] = []  # StoredSite(id, number, site), in number order
        self.evaluation: Any = None  # the rules on the stored procedure, from the last Changes

    # -- reading ---------------------------------------------------------------------------

    def load(self, procedure_id: int) -> None:
        self.procedure_id = procedure_id
        self._reload("all")
        self.changed.emit("all")

    def _reload(self, kind: str) -> None:
        assert self.procedure_id is not None
        self.take(self.ops.open(self.procedure_id))

    def take(self, changes: Changes) -> None:
        """Hold what an operation returned: the procedure, its sites in number order and its
        evaluation (no signal: the caller says what changed)."""
        stored = changes.procedure
        self.stored = stored
        self.patient_id = stored.patient_id
        self.procedure = stored.procedure
        self.sites = stored.stored_sites()
        self.evaluation = changes.evaluation

    def site(self, site_id: int) -> Site | None:
        for stored in self.sites:
            if stored.id == site_id:
                return stored.site  # type: ignore[no-any-return]
        return None

    def number_of(self, site_id: int) -> int | None:
        for stored in self.sites:
            if stored.id == site_id:
                return int(stored.number)
        return None

    @property
    def signed(self) -> bool:
        """Frozen: signed here, or imported as signed elsewhere (read-only)."""
        return self.procedure is not None and self.procedure.status in ("signed", "external")

    def document(self) -> Any:
        assert self.procedure_id is not None
        return self.ops.document(self.procedure_id)

    # -- writing ---------------------------------------------------------------------------

    def _commit(self, kind: str, action: Callable[[], T]) -> T | None:
        if self.procedure_id is None:
            return None
        self.saving.emit()
        try:
            result = action()
        except Exception as error:  # every refusal becomes a banner, never a traceback dialog
            if not isinstance(error, DomainError):
                log.exception("edit refused")
            self.failed.emit(describe(error))
            try:
                self._reload("all")
            except Exception:
                log.exception("reload after a refused edit failed")
            self.changed.emit("all")
            return None
        if isinstance(result, Changes):
            self.take(result)
        else:  # a service call outside the operations (preparations): read it again
            self._reload(kind)
        self.saved.emit(datetime.now())
        self.changed.emit(kind)
        return result if result is not None else True  # type: ignore[return-value]

    def update_header(self, changes: dict[str, Any]) -> bool:
        assert self.procedure_id is not None
        pid = self.procedure_id
        return self._commit("header", lambda: self.ops.update_header(pid, changes)) is not None

    def record_time_out(self, site_marked: bool, at: datetime) -> bool:
        assert self.procedure_id is not None
        pid = self.procedure_id
        return (
            self._commit(
                "header", lambda: self.ops.record_time_out(pid, site_marked=site_marked, at=at)
            )
            is not None
        )

    def _stored_site(self, site_id: int) -> Any:
        return next((stored for stored in self.sites if stored.id == site_id), None)

    def update_site(self, site_id: int, site: Site) -> bool:
        return self._commit("sites", lambda: self.ops.update_site(site_id, site)) is not None

    def set_preparations(self, preparations: Sequence[Preparation]) -> bool:
        assert self.procedure_id is not None
        pid = self.procedure_id
        base = self.stored
        return (
            self._commit(
                "preparations",
                lambda: self.charting.set_preparations(pid, tuple(preparations), base=base),
            )
            is not None
        )

    def _placed(self, site: Site) -> Changes:
        assert self.procedure_id is not None
        if site.state == "planned":
            return self.ops.plan_site(self.procedure_id, site)
        return self.ops.inject_site(self.procedure_id, site)

    def add_site(self, site: Site) -> Any:
        changes = self._commit("sites", lambda: self._placed(site))
        return changes.site if isinstance(changes, Changes) else None

    def remove_site(self, site_id: int) -> bool:
        return self._commit("sites", lambda: self.ops.remove_site(site_id)) is not None

    def restore_site(self, site_id: int) -> bool:
        return self._commit("sites", lambda: self.ops.restore_site(site_id)) is not None

    def after_external_edit(self, sites: Sequence[Any] | None = None) -> None:
        """The diagram changed sites through the service itself (it has committed): take the
        stored ``sites`` it holds (re-read when not given) and tell everyone."""
        if self.procedure_id is None:
            return
        if sites is None or self.procedure is None:
            self._reload("sites")
        else:
            self._take_sites(sites)
        self.saved.emit(datetime.now())
        self.changed.emit("diagram")

    def _take_sites(self, sites: Sequence[Any]) -> None:
        # Site edits leave the procedure's header as it was; only its sites change.
        assert self.procedure is not None
        self.sites = sorted(sites, key=lambda s: s.number)
        self.procedure = self.procedure.model_copy(
            update={"sites": tuple(stored.site for stored in self.sites)}
        )


class DiagramSites:
    """The diagram's `SiteService`, through the session's operations: a click on the diagram is
    one operation; the session takes its `Changes` (the diagram then reports `sites_changed`,
    and `after_external_edit` tells the other views)."""

    def __init__(self, session: ChartSession) -> None:
        self.session = session

    def sites(self, procedure_id: int) -> list[Any]:
        if procedure_id != self.session.procedure_id:
            self.session.procedure_id = procedure_id
            self.session._reload("all")
        return list(self.session.sites)

    def _took(self, changes: Changes, site_id: int | None = None) -> Any:
        self.session.take(changes)
        if changes.site is not None:
            return changes.site
        return next((s for s in self.session.sites if s.id == site_id), None)

    def add_site(self, procedure_id: int, site: Site) -> Any:
        if procedure_id != self.session.procedure_id:
            self.sites(procedure_id)
        return self._took(self.session._placed(site))

    def update_site(self, site_id: int, site: Site) -> Any:
        return self._took(self.session.ops.update_site(site_id, site), site_id)

    def remove_site(self, site_id: int) -> None:
        self.session.take(self.session.ops.remove_site(site_id))

    def restore_site(self, site_id: int) -> Any:
        return self._took(self.session.ops.restore_site(site_id), site_id)

    _PAIN_EDITS = frozenset({"add_pain_stroke", "remove_pain_stroke", "restore_pain_stroke"})

    def __getattr__(self, name: str) -> Any:
        # The pain drawing (`ui.diagram.pain`) is charted through the charting service; after
        # each stroke the operations take the stored drawing, so the note and forms see it.
        found = getattr(self.session.charting, name)
        if name not in self._PAIN_EDITS:
            return found

        def edited(*args: Any) -> Any:
            result = found(*args)
            if self.session.procedure_id is not None:
                self.session.take(self.session.ops.pain_changed(self.session.procedure_id))
            return result

        return edited


class SiteEditCommand(QUndoCommand):
    """One site edit (inject, twitch, volume, findings) as an undoable step via the service."""

    def __init__(
        self, session: ChartSession, site_id: int, before: Site, after: Site, text: str
    ) -> None:
        super().__init__(text)
        self.session = session
        self.site_id = site_id
        self.before = before
        self.after = after

    def redo(self) -> None:
        if not self.session.update_site(self.site_id, self.after):
            self.setObsolete(True)
            return
        # The operation may have completed the site (an injection's time, volume, syringe): a
        # redo after an undo puts back exactly what was stored.
        self.after = self.session.site(self.site_id) or self.after

    def undo(self) -> None:
        self.session.update_site(self.site_id, self.before)


class HeaderEditCommand(QUndoCommand):
    """A change of procedure header fields (pain, checklist …), undoable."""

    def __init__(
        self, session: ChartSession, before: dict[str, Any], after: dict[str, Any], text: str
    ) -> None:
        super().__init__(text)
        self.session = session
        self.before = before
        self.after = after

    def redo(self) -> None:
        if not self.session.update_header(self.after):
            self.setObsolete(True)

    def undo(self) -> None:
        self.session.update_header(self.before)


class RemoveSiteCommand(QUndoCommand):
    """Remove a site through the service; undo restores the same stored site."""

    def __init__(self, session: ChartSession, site_id: int) -> None:
        super().__init__("Remove site")
        self.session = session
        self.site_id = site_id

    def redo(self) -> None:
        if not self.session.remove_site(self.site_id):
            self.setObsolete(True)

    def undo(self) -> None:
        self.session.restore_site(self.site_id)
