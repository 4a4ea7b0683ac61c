"""The diagram's view of the charting service: what the scene mirrors.

The scene never decides what exists. :class:`SiteDocument` holds the sites as the service last
returned them; every edit calls the service (which commits before returning), then takes the
stored rows and emits :attr:`SiteDocument.sites_changed`, and the scene redraws from that. A new
or changed site is the stored row the service returned (it is not read again); a removal or a
restore renumbers the sites after it, so those re-read the procedure's sites.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from PySide6.QtCore import QObject, Signal

from tpi_chart.domain.models import Site


@runtime_checkable
class StoredSiteLike(Protocol):
    """``tpi_chart.services.charting.StoredSite``: id, 1-based number, the site."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> int: ...
    @property
    def site(self) -> Site: ...


class SiteService(Protocol):
    """The part of ``tpi_chart.services.charting.ChartingService`` the diagram uses."""

    def sites(self, procedure_id: int) -> list[Any]: ...
    def add_site(self, procedure_id: int, site: Site) -> Any: ...
    def update_site(self, site_id: int, site: Site) -> Any: ...
    def remove_site(self, site_id: int) -> None: ...
    def restore_site(self, site_id: int) -> Any: ...


def describe_error(error: BaseException) -> str:
    problems = getattr(error, "problems", None)
    if problems:
        return "; ".join(str(p) for p in problems)
    return str(error).strip() or error.__class__.__name__


class SiteDocument(QObject):
    """The open procedure's sites, exactly as stored; edits go through the service."""

    #: Emitted after every re-read of the stored sites (after each edit and on refresh()).
    sites_changed = Signal()
    #: Emitted when the service refused an edit; the argument is a message for the user.
    failed = Signal(str)
    #: Emitted after an edit the service committed (add, move, remove, restore, change).
    edited = Signal()

    def __init__(self, service: SiteService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.procedure_id: int | None = None
        self.sites: list[Any] = []

    # -- reading -------------------------------------------------------------------------------

    def set_procedure(self, procedure_id: int | None, sites: Sequence[Any] | None = None) -> None:
        """Show a procedure's sites: ``sites`` as just read by the caller, else read them."""
        self.procedure_id = procedure_id
        if sites is None or procedure_id is None:
            self.reload()
        else:
            self.show(sites)

    def show(self, sites: Sequence[Any]) -> None:
        """Take the stored sites the caller has just read (no read of our own)."""
        self.sites = sorted(sites, key=lambda s: s.number)
        self.sites_changed.emit()

    def reload(self) -> None:
        if self.procedure_id is None:
            self.sites = []
        else:
            try:
                self.sites = sorted(self.service.sites(self.procedure_id), key=lambda s: s.number)
            except Exception as error:  # the diagram must never take the window down
                self.failed.emit(describe_error(error))
                self.sites = []
        self.sites_changed.emit()

    def stored(self, site_id: int) -> Any | None:
        return next((s for s in self.sites if s.id == site_id), None)

    # -- writing (each returns the stored result or None when refused) ------------------------

    def _commit(
        self, action: Callable[[], Any], take: Callable[[Any], bool] | None = None
    ) -> Any | None:
        """Run one service edit; then ``take`` the stored row it returned into :attr:`sites`
        (False when it does not fit what we hold: then, and without ``take``, re-read)."""
        try:
            result = action()
        except Exception as error:
            self.failed.emit(describe_error(error))
            self.reload()
            return None
        if take is not None and isinstance(result, StoredSiteLike) and take(result):
            self.sites_changed.emit()
        else:
            self.reload()
        self.edited.emit()
        return result if result is not None else True

    def _take_added(self, stored: Any) -> bool:
        # The new site is numbered after every site we hold, unless something changed elsewhere.
        if stored.number != len(self.sites) + 1 or self.stored(stored.id) is not None:
            return False
        self.sites = [*self.sites, stored]
        return True

    def _take_updated(self, stored: Any) -> bool:
        for index, current in enumerate(self.sites):
            if current.id == stored.id:
                if current.number != stored.number:
                    return False
                self.sites = [*self.sites[:index], stored, *self.sites[index + 1 :]]
                return True
        return False

    def add(self, site: Site) -> Any | None:
        pid = self.procedure_id
        if pid is None:
            self.failed.emit("No procedure is open.")
            return None
        return self._commit(lambda: self.service.add_site(pid, site), self._take_added)

    def update(self, site_id: int, site: Site) -> Any | None:
        return self._commit(lambda: self.service.update_site(site_id, site), self._take_updated)

    def remove(self, site_id: int) -> bool:
        return self._commit(lambda: self.service.remove_site(site_id)) is not None

    def restore(self, site_id: int) -> Any | None:
        return self._commit(lambda: self.service.restore_site(site_id))
