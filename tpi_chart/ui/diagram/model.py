"""The diagram's view of the charting service: what the scene mirrors.

The scene never decides what exists. :class:`SiteDocument` holds the sites as the service last
returned them; every edit calls the service (which commits before returning), then re-reads the
stored rows and emits :attr:`SiteDocument.sites_changed`, and the scene redraws from that.
"""

from __future__ import annotations

from collections.abc import Callable
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

    def set_procedure(self, procedure_id: int | None) -> None:
        self.procedure_id = procedure_id
        self.reload()

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

    def _commit(self, action: Callable[[], Any]) -> Any | None:
        try:
            result = action()
        except Exception as error:
            self.failed.emit(describe_error(error))
            self.reload()
            return None
        self.reload()
        self.edited.emit()
        return result if result is not None else True

    def add(self, site: Site) -> Any | None:
        pid = self.procedure_id
        if pid is None:
            self.failed.emit("No procedure is open.")
            return None
        return self._commit(lambda: self.service.add_site(pid, site))

    def update(self, site_id: int, site: Site) -> Any | None:
        return self._commit(lambda: self.service.update_site(site_id, site))

    def remove(self, site_id: int) -> bool:
        return self._commit(lambda: self.service.remove_site(site_id)) is not None

    def restore(self, site_id: int) -> Any | None:
        return self._commit(lambda: self.service.restore_site(site_id))
