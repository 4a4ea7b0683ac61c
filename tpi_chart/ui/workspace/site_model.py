"""SiteTableModel: the stored sites of the open procedure, numbered as on the diagram."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import computed_location
from tpi_chart.domain.presentation import SIDE_WORDS, TWITCH_WORDS, site_state_word
from tpi_chart.ui.document import ProcedureDocument

SITE_ID_ROLE = Qt.ItemDataRole.UserRole + 1

COLUMNS = ("#", "Muscle", "Side", "State", "mL", "Twitch", "Syringe", "Location")
TWITCH_TEXT: dict[str | None, str] = {None: "–"} | dict(TWITCH_WORDS.items())

Index = QModelIndex | QPersistentModelIndex

# The view asks for every role of every cell whenever it lays out or paints (the columns size to
# their contents): the answers that never change are computed once, not per call.
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
_FONT = int(Qt.ItemDataRole.FontRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_SITE_ID = int(SITE_ID_ROLE)
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
_LEFT = int((Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter).value)
_ROLES = frozenset({_DISPLAY, _TOOLTIP, _ALIGNMENT, _FONT, _FOREGROUND, _SITE_ID})


class SiteTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []  # StoredSite(id, number, site)
        self._catalog = load_catalog()

    # -- feeding -----------------------------------------------------------------------------

    def observe(self, document: ProcedureDocument) -> None:
        """Mirror the procedure document's sites after every change it announces."""
        document.changed.connect(lambda _parts: self.set_sites(document.sites))

    def set_sites(self, sites: Sequence[Any]) -> None:
        """Show `sites`; rows keep their identity when only their content changed, a site added
        at the end inserts one row and a removed site removes its row (no reset, so the view
        keeps its selection and lays out only what changed). Anything else resets."""
        new = list(sites)
        old_ids = [s.id for s in self._rows]
        new_ids = [s.id for s in new]
        if new_ids == old_ids:
            self._replace(new)
        elif len(new_ids) > len(old_ids) and new_ids[: len(old_ids)] == old_ids:
            first, last = len(old_ids), len(new_ids) - 1
            self._replace(new[:first])
            self.beginInsertRows(QModelIndex(), first, last)
            self._rows = new
            self.endInsertRows()
        elif len(new_ids) + 1 == len(old_ids) and _without_one(old_ids, new_ids) is not None:
            row = _without_one(old_ids, new_ids)
            assert row is not None
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()
            self._replace(new)
            if row < len(new):  # the sites after it were renumbered
                self.headerDataChanged.emit(Qt.Orientation.Vertical, row, len(new) - 1)
        else:
            self.beginResetModel()
            self._rows = new
            self.endResetModel()

    def _replace(self, new: list[Any]) -> None:
        """Same ids, row for row: take the new content, announce the rows that changed."""
        changed = [i for i, (a, b) in enumerate(zip(self._rows, new, strict=True)) if a != b]
        self._rows = list(new)
        if changed:
            self.dataChanged.emit(
                self.index(min(changed), 0), self.index(max(changed), len(COLUMNS) - 1)
            )

    def site_id_at(self, row: int) -> int | None:
        if 0 <= row < len(self._rows):
            return int(self._rows[row].id)
        return None

    def row_of(self, site_id: int) -> int | None:
        for row, stored in enumerate(self._rows):
            if stored.id == site_id:
                return row
        return None

    # -- Qt model ------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return (
                    "Site number as on the diagram",
                    "Muscle",
                    "The patient's side",
                    "Planned (hollow marker) or injected (filled)",
                    "Volume injected at this site, mL",
                    "Local twitch response",
                    "Syringe (preparation) used",
                    "Where, relative to bony landmarks (from the diagram; editable)",
                )[section]
        vertical = orientation == Qt.Orientation.Vertical
        if vertical and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self._rows):
            return str(self._rows[section].number)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _FLAGS

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        role = int(role)
        if role not in _ROLES or not index.isValid():
            return None
        row = index.row()
        if not (0 <= row < len(self._rows)):
            return None
        stored = self._rows[row]
        site = stored.site
        column = index.column()
        if role == _SITE_ID:
            return int(stored.id)
        if role == _DISPLAY:
            return self._text(stored, column)
        if role == _TOOLTIP:
            warn = self._ptx(site.muscle)
            text = f"Site {stored.number}: {self._catalog.muscle_name(site.muscle)}, {site.side}"
            text += " — pneumothorax risk" if warn else ""
            location = _location(site)
            return text + (f"\n{location}" if location else "")
        if role == _ALIGNMENT:
            return _RIGHT if column in (0, 4) else _LEFT
        if role == _FONT and column == 3 and site.state == "injected":
            font = QFont()
            font.setBold(True)
            return font
        if role == _FOREGROUND:
            if column == 3:
                return QColor("#1d7a46") if site.state == "injected" else QColor("#56636f")
            if column == 1 and (site.muscle == "unspecified" or self._ptx(site.muscle)):
                return QColor("#a15c00")
        return None

    def _ptx(self, muscle: str) -> bool:
        entry = self._catalog.muscles.get(muscle)
        return bool(entry and entry.pneumothorax_risk)

    def _text(self, stored: Any, column: int) -> str:
        site = stored.site
        if column == 0:
            return str(stored.number)
        if column == 1:
            name = self._catalog.muscle_name(site.muscle)
            return f"⚠ {name}" if site.muscle == "unspecified" or self._ptx(site.muscle) else name
        if column == 2:
            return SIDE_WORDS[site.side]
        if column == 3:
            return f"{'●' if site.state == 'injected' else '○'} {site_state_word(site)}"
        if column == 4:
            if site.dry_needling:
                return "dry"
            return f"{site.volume_ml:g}" if site.volume_ml is not None else "–"
        if column == 5:
            return TWITCH_TEXT.get(site.twitch, str(site.twitch))
        if column == 6:
            return site.preparation or "–"
        if column == 7:
            return _location(site) or "–"
        return ""


def _location(site: Any) -> str | None:
    """The stored location, or (a site placed before locations were stored) the computed one."""
    return site.location or computed_location(site.view, site.x, site.y, site.side)


def _without_one(longer: list[Any], shorter: list[Any]) -> int | None:
    """The index of the one item of ``longer`` missing from ``shorter`` (order kept), else None."""
    for index, (a, b) in enumerate(zip(longer, shorter, strict=False)):
        if a != b:
            return index if longer[index + 1 :] == shorter[index:] else None
    return len(longer) - 1
