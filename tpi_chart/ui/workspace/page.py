"""The workspace for one procedure: diagram beside the site table, the selected site's controls,
pain scores, syringes, checklist, the live rules panel and the signing step.

Refresh path (one direction only): widget or key → undo command (`ui.commands`) →
`ProcedureDocument` applies the operation (`services.operations`), which commits and returns its
`Changes` → the document takes them without a read and emits `saved` ("Saved hh:mm:ss"), the
parts that changed, then `changed(parts)` → the diagram, the site table, the header, the editor
and the panels redraw from the document.

What a click on the diagram must show is updated in the same frame: the marker, the table row,
the selection, the header and "Saved". The rules panel and the forms refresh right after that
frame has been painted (`_refresh_panels_later`); after any other edit, at once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeyEvent, QResizeEvent, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.services.live import held_elsewhere
from tpi_chart.ui.diagram import BodyDiagram
from tpi_chart.ui.document import ProcedureDocument
from tpi_chart.ui.workspace import shortcuts
from tpi_chart.ui.workspace.editing import WorkspaceEdits
from tpi_chart.ui.workspace.forms import ChecklistPanel, OutcomePanel
from tpi_chart.ui.workspace.header import ProcedureHeader
from tpi_chart.ui.workspace.indication_panel import IndicationPanel
from tpi_chart.ui.workspace.keys import keys_help as _keys_help
from tpi_chart.ui.workspace.lease import ProcedureLease
from tpi_chart.ui.workspace.preparations_panel import PreparationsPanel
from tpi_chart.ui.workspace.presets import volume_presets
from tpi_chart.ui.workspace.rules_panel import RulesPanel
from tpi_chart.ui.workspace.side_tabs import SideTabs
from tpi_chart.ui.workspace.sign_panel import SignPanel
from tpi_chart.ui.workspace.site_editor import SiteEditor
from tpi_chart.ui.workspace.site_model import COLUMNS, SiteTableModel
from tpi_chart.ui.workspace.widgets import Banner, NrsRow, section_label

log = logging.getLogger(__name__)


#: Narrower than this, the site table leaves out its Location column (the selected site's
#: location stays in the editor below): a column of "4 c…" helps nobody.
LOCATION_COLUMN_MIN_TABLE_WIDTH = 640


class SiteTableView(QTableView):
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        location = COLUMNS.index("Location")
        self.setColumnHidden(location, event.size().width() < LOCATION_COLUMN_MIN_TABLE_WIDTH)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) and self.model() is not None:
            step = -1 if key == Qt.Key.Key_Backtab else 1
            row = self.currentIndex().row() + step
            if 0 <= row < self.model().rowCount():
                self.selectRow(row)
            event.accept()
            return
        super().keyPressEvent(event)


#: Posted with low priority, so Qt delivers it after the window's pending repaint (UpdateRequest
#: is posted with low priority too, earlier); a zero-interval QTimer.singleShot would run first.
_PANELS_EVENT = QEvent.Type(QEvent.registerEventType())


class WorkspacePage(WorkspaceEdits):
    closed = Signal()  # "back to the patient"
    signed = Signal(int)  # procedure id, after the signature was stored
    view_changed = Signal(str)

    def __init__(
        self,
        services: Any = None,
        user: Any = None,
        parent: QWidget | None = None,
        *,
        undo_stack: QUndoStack | None = None,
    ) -> None:
        """The workspace of `user` on `services`; without them, its widgets only, bound to the
        person by `bind` once their password is checked (`ui.prebuild`)."""
        super().__init__(parent)
        self.setObjectName("workspace")
        # The workspace itself takes the focus so the charting keys work before anything is clicked.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.time_out_dialog = None  # the open time-out overlay
        # The one open procedure every view here observes.
        self.document = ProcedureDocument(None, self)
        self.selected_id = None
        self.evaluation: Any = None
        self.current_view = "posterior"
        self._syncing = False
        self._panels_stale = False  # rules and forms wait for the next turn of the event loop
        self._panels_posted = False
        self.picker = None

        # One undo stack for the diagram's edits and the workspace's (keys, table, forms).
        self.diagram = BodyDiagram(self.document, undo_stack=undo_stack)
        self.undo_stack = self.diagram.undo_stack

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(6)
        self.banner = Banner()
        outer.addWidget(self.banner)
        self.header = ProcedureHeader(None, self.document, self)
        self.header.back_button.clicked.connect(self.closed)
        self.header.timeout_button.clicked.connect(self.record_time_out)
        # The header's parts, by the names the window and the tests reach them.
        self.back_button = self.header.back_button
        self.title = self.header.title
        self.status_label = self.header.status_label
        self.elapsed = self.header.elapsed
        self.timeout_header = self.header.timeout_button
        self.saved_indicator = self.header.saved_indicator
        self.fact_labels = self.header.fact_labels
        outer.addWidget(self.header)

        # Built top-down (each container in its parent before its children are added): with the
        # application style sheet, every re-parenting of a finished subtree polishes it again.
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._build_diagram_panel(splitter))
        splitter.addWidget(self._build_sites_panel(splitter))
        splitter.addWidget(self._build_side_panel(splitter))
        # At 1366 px the site table (with its Location column) and the tabs (five of them, the
        # syringe's lot and expiry on one line) need their room whole; the diagram takes the
        # rest, and every extra pixel of a wider screen is shared equally.
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 1)
        splitter.setSizes([364, 521, 460])
        self.splitter = splitter
        outer.addWidget(splitter, 1)

        # Another room's lease makes the procedure read-only here (services/live.py).
        self.lease = ProcedureLease(self.document, self)
        self.lease.changed.connect(self._lease_changed)
        self._lease_shown = False
        self.document.saved.connect(lambda _t: self.banner.hide())
        self.document.failed.connect(self._failed)
        self.document.changed.connect(self._on_changed)
        self.actions_by_id: dict[str, QAction] = shortcuts.install_actions(self)
        if services is not None:
            self.bind(services, user)

    def bind(self, services: Any, user: Any) -> None:
        """The person signed in and their services (`Services.as_user`), before anything is
        opened: until then the workspace can neither read nor write a record."""
        self.services = services
        self.user = user
        self.document.bind(services.charting)
        self.header.services = services
        self.lease.live = services.live

    # -- building ----------------------------------------------------------------------------

    def _build_diagram_panel(self, parent: QWidget) -> QWidget:
        panel = QFrame(parent)
        panel.setProperty("role", "card")
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.diagram, 1)
        self.diagram.site_selected.connect(self._diagram_selected)
        self.diagram.view_changed.connect(self._diagram_view_changed)
        self.diagram.recode_requested.connect(lambda _site_id: self.recode_selected())
        return panel

    def _build_sites_panel(self, parent: QWidget) -> QWidget:
        panel = QWidget(parent)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.model = SiteTableModel(self)
        self.model.observe(self.document)
        self.table = SiteTableView()
        self.table.setObjectName("siteTable")
        self.table.setAccessibleName("Sites")
        self.table.horizontalHeader().setAccessibleName("Site table columns")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The muscle's name is never cut short (it is what the physician checks before
        # injecting); the landmark description takes what is left, elided, whole in the editor.
        header.setSectionResizeMode(COLUMNS.index("Location"), QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._table_row_changed)
        self.table.doubleClicked.connect(lambda _index: self.recode_selected())
        layout.addWidget(self.table, 1)

        self.editor = SiteEditor(volume_presets())
        self.editor.inject_requested.connect(self.inject_selected)
        self.editor.twitch_requested.connect(self.set_twitch)
        self.editor.volume_requested.connect(self.set_volume)
        self.editor.preparation_requested.connect(self.set_preparation)
        self.editor.findings_requested.connect(self.set_finding)
        self.editor.remove_requested.connect(self.remove_selected)
        self.editor.location_requested.connect(self.set_location)
        self.editor.dry_needling_requested.connect(self.set_dry_needling)
        layout.addWidget(self.editor)

        pain = QFrame()
        pain.setProperty("role", "card")
        pain_layout = QVBoxLayout(pain)
        pain_layout.setContentsMargins(10, 6, 10, 6)
        self.pain_before = NrsRow("Pain before")
        self.pain_before.setToolTip("Pain before the procedure, NRS 0-10: one click records it")
        self.pain_before.setObjectName("painBefore")
        self.pain_after = NrsRow("Pain after")
        self.pain_after.setObjectName("painAfter")
        self.pain_before.chosen.connect(
            lambda v: self.edit_header({"pain_before": v}, "Pain before")
        )
        self.pain_after.chosen.connect(lambda v: self.edit_header({"pain_after": v}, "Pain after"))
        pain_layout.addWidget(section_label("Pain (NRS 0–10)"))
        pain_layout.addWidget(self.pain_before)
        pain_layout.addWidget(self.pain_after)
        layout.addWidget(pain)
        return panel

    def _build_side_panel(self, parent: QWidget) -> QWidget:
        panel = QWidget(parent)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.rules = RulesPanel()
        layout.addWidget(self.rules, 2)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("workspaceTabs")
        self.side_tabs = SideTabs(
            self.tabs,
            [
                (
                    "indication",
                    "Problem",
                    "Diagnoses, coverage, indication, history, prior relief",
                    lambda: IndicationPanel(self.document, self.edit_header),
                ),
                ("checklist", "Checklist", "", self._make_checklist),
                ("preparations", "Syringes", "", self._make_preparations),
                ("outcome", "Outcome", "", lambda: OutcomePanel(self.document, self.edit_header)),
                ("sign_panel", "Sign", "", self._make_sign_panel),
            ],
            self._panel_built,
        )
        # The Outcome form is the tallest that does not scroll: its minimum height is the tabs',
        # which sets how much of the column the rules panel gets. Built now (10 ms), the column
        # does not shift when the other tabs are first opened.
        self.side_tabs.get("outcome")
        layout.addWidget(self.tabs, 3)
        return panel

    # The side panels, each built the first time it is shown or used (`side_tabs`).

    @property
    def indication(self) -> IndicationPanel:
        panel: IndicationPanel = self.side_tabs.get("indication")
        return panel

    @property
    def checklist(self) -> ChecklistPanel:
        panel: ChecklistPanel = self.side_tabs.get("checklist")
        return panel

    @property
    def preparations(self) -> PreparationsPanel:
        panel: PreparationsPanel = self.side_tabs.get("preparations")
        return panel

    @property
    def outcome(self) -> OutcomePanel:
        panel: OutcomePanel = self.side_tabs.get("outcome")
        return panel

    @property
    def sign_panel(self) -> SignPanel:
        panel: SignPanel = self.side_tabs.get("sign_panel")
        return panel

    def _make_checklist(self) -> ChecklistPanel:
        panel = ChecklistPanel(self.document, self.edit_header)
        panel.timeout_requested.connect(self.record_time_out)
        return panel

    def _make_preparations(self) -> PreparationsPanel:
        panel = PreparationsPanel(self.document)
        panel.failed.connect(self._failed)
        return panel

    def _make_sign_panel(self) -> SignPanel:
        panel = SignPanel(self.document, self.services.signing, lambda: self.can("sign"))
        panel.failed.connect(self._failed)
        panel.signed.connect(self._after_signing)
        panel.field_requested.connect(self.focus_field)
        panel.abn_requested.connect(lambda v: self.edit_header({"abn_on_file": v}, "ABN"))
        return panel

    def _panel_built(self, _name: str, panel: Any) -> None:
        """A panel built after the procedure was opened shows it as it is now."""
        if self.document.procedure_id is not None:
            self._refresh_panel(panel, frozenset({"all"}))

    def focus_field(self, key: str) -> None:
        """Show the control where a note field is recorded (the Sign tab's links)."""
        shortcuts.focus_field(self, key)

    def next_missing(self) -> None:
        shortcuts.next_missing(self)

    # -- opening -----------------------------------------------------------------------------

    def open_procedure(self, procedure_id: int, view: str | None = None) -> None:
        # The undo history belongs to the procedure it was made on: another procedure starts
        # with none, so Ctrl+Z can never reach a chart that is not on screen.
        if self.document.procedure_id != procedure_id:
            self.undo_stack.clear()
        self.selected_id = None
        self.banner.hide()
        self.saved_indicator.setText("Opened")
        self.lease.hold(procedure_id)
        self.document.open(procedure_id)
        if self.document.signed:  # frozen anyway: no other room need wait for it
            self.lease.release()
        self._show_lease()
        first = next((s for s in self.document.sites if s.site.state == "planned"), None)
        first = first or (self.document.sites[0] if self.document.sites else None)
        if first is not None:
            self.select_site(int(first.id))
        self.set_view(view or self._best_view())
        self.setFocus()

    def reload_procedure(self) -> None:
        """Read the procedure again as stored (F5): what another room saved, or after a
        refusal. The undo history goes with the copy it was made on."""
        if self.document.procedure_id is None:
            return
        self.undo_stack.clear()
        self.lease.check()
        self.document.reload()
        self.banner.hide()
        self._lease_shown = False
        self._show_lease()

    def _lease_changed(self) -> None:
        # The history was made on a copy another room has charted since (or could not be
        # applied while read-only): it is cleared, never replayed over their changes.
        self.undo_stack.clear()
        self._show_lease()
        if self.document.held_by is None:
            self.saved_indicator.setText("Editable")

    def _show_lease(self) -> None:
        lease = self.document.held_by
        if lease is not None:
            self.banner.show_message(held_elsewhere(lease), "warn", dismissible=False)
            self.saved_indicator.setText(f"Read-only: open in {lease.room}")
        elif self._lease_shown:
            self.banner.hide()
        self._lease_shown = lease is not None

    def _best_view(self) -> str:
        for stored in self.document.sites:
            if stored.site.view:
                return str(stored.site.view)
        return "posterior"

    # -- refreshing --------------------------------------------------------------------------

    def _on_changed(self, parts: frozenset[str]) -> None:
        # The diagram, the header and the site table have redrawn themselves (they observe the
        # document too); what follows depends on the selection, kept here.
        self._update_diagram_mode()
        self._refresh_pain_rows()
        if self.selected_id is not None and self.document.site(self.selected_id) is None:
            self.selected_id = None
        self._sync_selection()
        self._refresh_editor()
        if self.diagram.editing and "all" not in parts:
            self._refresh_panels_later()
        else:
            self._refresh_panels(parts)

    def _refresh_panels(self, parts: frozenset[str]) -> None:
        """The rules (evaluated on the stored document), the forms and the signing step."""
        self._panels_stale = False
        # The operation that made the change evaluated the stored procedure (None while the
        # rules cannot read a half-filled chart): no second read of the document here.
        self.evaluation = self.document.evaluation
        self.rules.show_evaluation(self.evaluation)
        for panel in list(self.side_tabs.built().values()):
            self._refresh_panel(panel, parts)

    def _refresh_panel(self, panel: Any, parts: frozenset[str]) -> None:
        if isinstance(panel, PreparationsPanel):
            panel.refresh(parts)
        elif isinstance(panel, SignPanel):
            panel.refresh(self.evaluation, parts)
        else:
            panel.refresh()

    def _refresh_panels_later(self) -> None:
        """Refresh the panels right after the pending repaint (the marker and "Saved"), before
        the next input event. Several edits before then share one refresh."""
        self._panels_stale = True
        if not self._panels_posted:
            self._panels_posted = True
            QCoreApplication.postEvent(
                self, QEvent(_PANELS_EVENT), Qt.EventPriority.LowEventPriority.value
            )

    def panels_pending(self) -> bool:
        """Whether the rules panel and the forms still wait for their refresh."""
        return self._panels_stale

    def event(self, event: QEvent) -> bool:
        if event.type() == _PANELS_EVENT:
            self._panels_posted = False
            if self._panels_stale and self.document.procedure_id is not None:
                self._refresh_panels(frozenset({"sites"}))
            return True
        return super().event(event)

    def _refresh_pain_rows(self) -> None:
        p = self.document.procedure
        if p is None:
            return
        self.pain_before.set_value(p.pain_before)
        self.pain_after.set_value(p.pain_after)
        for row in (self.pain_before, self.pain_after):
            for button in row.buttons:
                button.setEnabled(self._editable())

    def _refresh_editor(self) -> None:
        site = self.document.site(self.selected_id) if self.selected_id is not None else None
        number = self.document.number_of(self.selected_id) if self.selected_id is not None else None
        preps = (
            tuple(p.id for p in self.document.procedure.preparations)
            if self.document.procedure
            else ()
        )
        self.editor.show_site(
            number, site, preps, editable=self._editable(), can_chart=self.can("chart")
        )

    def _failed(self, message: str) -> None:
        self.saved_indicator.show_failed()
        self.banner.show_message(message)

    def _after_signing(self) -> None:
        procedure_id = self.document.procedure_id
        assert procedure_id is not None
        self.undo_stack.clear()
        self.document.reload()
        self.saved_indicator.show_saved(datetime.now())
        self.signed.emit(procedure_id)

    # -- selection (table ⇄ diagram) ---------------------------------------------------------

    def select_site(self, site_id: int | None) -> None:
        self.selected_id = site_id
        self._sync_selection()
        self._refresh_editor()

    def _sync_selection(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            row = self.model.row_of(self.selected_id) if self.selected_id is not None else None
            selection = self.table.selectionModel()
            if row is None:
                selection.clearSelection()
            elif self.table.currentIndex().row() != row or not selection.isRowSelected(row):
                selection.setCurrentIndex(
                    self.model.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                self.table.scrollTo(self.model.index(row, 0))
            if self.selected_id is not None:
                self.diagram.select_site(self.selected_id)
        finally:
            self._syncing = False

    def _table_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing:
            return
        site_id = self.model.site_id_at(current.row()) if current.isValid() else None
        if site_id is not None and site_id != self.selected_id:
            self.select_site(site_id)

    def _diagram_selected(self, site_id: int) -> None:
        if not self._syncing:
            self.select_site(site_id if site_id >= 0 else None)

    def set_view(self, view: str) -> None:
        self.diagram.set_view(view)  # the diagram reports back through view_changed

    def _diagram_view_changed(self, view: str) -> None:
        self.current_view = view
        self.view_changed.emit(view)

    def _update_diagram_mode(self) -> None:
        """Clicks plan sites until a physician has done the time-out; then they chart injected
        sites. A signed note takes no clicks at all."""
        procedure = self.document.procedure
        self.diagram.set_read_only(procedure is None or self.document.read_only)
        charting = procedure is not None and procedure.time_out is not None and self.can("chart")
        self.diagram.set_mode("chart" if charting else "plan")

    # -- undo --------------------------------------------------------------------------------

    def undo_applies(self) -> bool:
        """Undo and redo act only on the procedure on screen: never from the patient page."""
        return self.document.procedure_id is not None and self.isVisible()

    def undo(self) -> None:
        if self.undo_applies():
            self.undo_stack.undo()

    def redo(self) -> None:
        if self.undo_applies():
            self.undo_stack.redo()

    def keys_help(self) -> list[tuple[str, str]]:
        return _keys_help()
