"""The workspace for one procedure: diagram beside the site table, the selected site's controls,
pain scores, syringes, checklist, the live rules panel and the signing step.

Refresh path (one direction only): widget or key → `ChartSession` edit (through an undo command)
→ ChartingService commits → session re-reads the stored rows → `saved` (indicator says "Saved
hh:mm:ss") → `changed(kind)` → table, diagram, rules, forms and header redraw from the stored rows.

A click on the diagram (`changed("diagram")`) takes the stored row the service returned instead of
re-reading, and updates what the click must show in the same frame: the marker, the table row,
the selection, the header and "Saved". The rules panel and the forms, which re-read the procedure
document, refresh right after that frame has been painted (`_refresh_panels_later`).
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
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QResizeEvent, QUndoStack
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.catalog import load_catalog
from tpi_chart.domain.diagram import computed_location
from tpi_chart.domain.models import Findings, Patient, Site
from tpi_chart.domain.timeout import time_out_problems
from tpi_chart.services.access import allowed
from tpi_chart.ui.diagram import BodyDiagram
from tpi_chart.ui.diagram.picker import MusclePicker
from tpi_chart.ui.diagram.widget import REGION_PRESETS
from tpi_chart.ui.safety_facts import safety_facts
from tpi_chart.ui.style import repolish
from tpi_chart.ui.workspace.forms import ChecklistPanel, OutcomePanel
from tpi_chart.ui.workspace.indication_panel import IndicationPanel, keep_field_keys
from tpi_chart.ui.workspace.keys import KEYMAP
from tpi_chart.ui.workspace.keys import keys_help as _keys_help
from tpi_chart.ui.workspace.preparations_panel import PreparationsPanel
from tpi_chart.ui.workspace.presets import volume_presets
from tpi_chart.ui.workspace.rules_panel import RulesPanel
from tpi_chart.ui.workspace.session import (
    ChartSession,
    DiagramSites,
    HeaderEditCommand,
    RemoveSiteCommand,
    SiteEditCommand,
)
from tpi_chart.ui.workspace.sign_panel import SignPanel
from tpi_chart.ui.workspace.site_editor import SiteEditor
from tpi_chart.ui.workspace.site_model import COLUMNS, SiteTableModel
from tpi_chart.ui.workspace.timeout_dialog import TimeOutCommand, TimeOutDialog
from tpi_chart.ui.workspace.widgets import Banner, NrsRow, SavedIndicator, section_label

log = logging.getLogger(__name__)

VIEWS = (
    ("anterior", "Front"),
    ("posterior", "Back"),
    ("head_left", "Head L"),
    ("head_right", "Head R"),
)


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


class WorkspacePage(QWidget):
    closed = Signal()  # "back to the patient"
    signed = Signal(int)  # procedure id, after the signature was stored
    view_changed = Signal(str)

    def __init__(
        self,
        services: Any,
        user: Any,
        parent: QWidget | None = None,
        *,
        undo_stack: QUndoStack | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("workspace")
        # The workspace itself takes the focus so the charting keys work before anything is clicked.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.services = services
        self.time_out_dialog: TimeOutDialog | None = None  # the open time-out overlay
        self.user = user
        self.session = ChartSession(services.charting, user, self)
        self.selected_id: int | None = None
        self.evaluation: Any = None
        self.current_view = "posterior"
        self._syncing = False
        self._opening = False
        self._patient_line = "Patient ?"
        self._patient: Patient | None = None
        self._panels_stale = False  # rules and forms wait for the next turn of the event loop
        self._panels_posted = False
        self.picker: MusclePicker | None = None

        # One undo stack for the diagram's edits and the workspace's (keys, table, forms).
        # The diagram edits through the session's operations (which decide a new site's
        # syringe and volume), so a click is one operation and one `Changes`.
        self.diagram = BodyDiagram(DiagramSites(self.session), undo_stack=undo_stack)
        self.undo_stack: QUndoStack = self.diagram.undo_stack

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(6)
        self.banner = Banner()
        outer.addWidget(self.banner)
        outer.addLayout(self._build_header())
        outer.addWidget(self._build_facts())

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

        self.clock = QTimer(self)
        self.clock.setInterval(1000)
        self.clock.timeout.connect(self._tick)

        self.session.saving.connect(self.saved_indicator.show_saving)
        self.session.saved.connect(self.saved_indicator.show_saved)
        self.session.saved.connect(lambda _t: self.banner.hide())
        self.session.failed.connect(self._failed)
        self.session.changed.connect(self._on_changed)
        self.actions_by_id: dict[str, QAction] = {}
        self._install_actions()

    # -- building ----------------------------------------------------------------------------

    def _build_header(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.back_button = QPushButton("◀ Patient")
        self.back_button.setObjectName("backToPatient")
        self.back_button.setToolTip("Back to the patient's page (Esc)")
        self.back_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.back_button.clicked.connect(self.closed)
        row.addWidget(self.back_button)
        self.title = QLabel()
        self.title.setObjectName("procedureTitle")
        self.title.setProperty("role", "title")
        # Title and status give way (clipped, full text in the tooltip) rather than overlap the
        # clock when the window is narrow.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")
        heading = QHBoxLayout()
        heading.setSpacing(6)
        heading.addWidget(self.title, 1)
        heading.addWidget(self.status_label)
        row.addLayout(heading, 1)
        self.elapsed = QLabel()
        self.elapsed.setObjectName("elapsedClock")
        self.elapsed.setProperty("role", "big")
        self.elapsed.setToolTip("Time since the time-out")
        row.addWidget(self.elapsed)
        self.timeout_header = QPushButton("Time-out…  (Ctrl+T)")
        self.timeout_header.setObjectName("timeoutHeaderButton")
        self.timeout_header.setProperty("role", "primary")
        self.timeout_header.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.timeout_header.setToolTip(
            "Show the time-out: patient, procedure, sites and sides, consent, position, "
            "allergies and anticoagulation, site marking; confirm with Y or N (Ctrl+T)"
        )
        self.timeout_header.clicked.connect(self.record_time_out)
        row.addWidget(self.timeout_header)
        self.saved_indicator = SavedIndicator()
        row.addWidget(self.saved_indicator)
        return row

    def _build_facts(self) -> QWidget:
        """Allergies, anticoagulation, weight and age (pregnancy when recorded), always in view
        while charting: one chip each, an alert chip in red with a ⚠."""
        strip = QWidget()
        strip.setObjectName("safetyFacts")
        row = QHBoxLayout(strip)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.fact_labels: dict[str, QLabel] = {}
        for name in ("allergies", "anticoagulation", "weight", "age", "pregnancy"):
            label = QLabel()
            label.setObjectName(f"fact_{name}")
            label.setProperty("role", "fact")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            row.addWidget(label)
            self.fact_labels[name] = label
        row.addStretch(1)
        return strip

    def _refresh_facts(self) -> None:
        patient = self._patient
        facts = safety_facts(patient, self.services.settings.weight_unit()) if patient else []
        shown = {fact.name: fact for fact in facts}
        for name, label in self.fact_labels.items():
            fact = shown.get(name)
            label.setVisible(fact is not None)
            if fact is None:
                continue
            label.setText(fact.text)
            label.setAccessibleName(fact.text)
            role = "fact-alert" if fact.alert else "fact"
            if label.property("role") != role:
                label.setProperty("role", role)
                repolish(label)

    def _build_diagram_panel(self, parent: QWidget) -> QWidget:
        panel = QFrame(parent)
        panel.setProperty("role", "card")
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.diagram, 1)
        self.diagram.site_selected.connect(self._diagram_selected)
        # The diagram holds the sites as the service returned them: the session takes those.
        self.diagram.sites_changed.connect(
            lambda: self.session.after_external_edit(self.diagram.document.sites)
        )
        self.diagram.view_changed.connect(self._diagram_view_changed)
        self.diagram.recode_requested.connect(lambda _site_id: self.recode_selected())
        return panel

    def _build_sites_panel(self, parent: QWidget) -> QWidget:
        panel = QWidget(parent)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.model = SiteTableModel(self)
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
        self.indication = IndicationPanel(self.session, self.edit_header)
        self.checklist = ChecklistPanel(self.session, self.edit_header)
        self.checklist.timeout_requested.connect(self.record_time_out)
        self.preparations = PreparationsPanel(self.session)
        self.preparations.failed.connect(self._failed)
        self.outcome = OutcomePanel(self.session, self.edit_header)
        self.sign_panel = SignPanel(self.session, self.services.signing, lambda: self.can("sign"))
        self.sign_panel.failed.connect(self._failed)
        self.sign_panel.signed.connect(self._after_signing)
        self.sign_panel.field_requested.connect(self.focus_field)
        self.sign_panel.abn_requested.connect(lambda v: self.edit_header({"abn_on_file": v}, "ABN"))
        self.tabs.addTab(self.indication, "Problem")
        self.tabs.setTabToolTip(0, "Diagnoses, coverage, indication, history, prior relief")
        self.tabs.addTab(self.checklist, "Checklist")
        self.tabs.addTab(self.preparations, "Syringes")
        self.tabs.addTab(self.outcome, "Outcome")
        self.tabs.addTab(self.sign_panel, "Sign")
        # In a field or an open list, Enter and the arrows edit or choose; they chart only when
        # the focus is elsewhere.
        for combo in self.tabs.findChildren(QComboBox):
            keep_field_keys(combo)
            keep_field_keys(combo.view())
        for field in self.tabs.findChildren(QLineEdit) + self.tabs.findChildren(QAbstractSpinBox):
            keep_field_keys(field)
        for button in self.tabs.findChildren(QAbstractButton):
            keep_field_keys(button)
        layout.addWidget(self.tabs, 3)
        return panel

    def focus_field(self, key: str) -> None:
        """Show the control where a note field is recorded (the Sign tab's links)."""
        panel, widget = self._field_widgets().get(key, (None, None))
        if key == "time_out":
            self.record_time_out()
            return
        if panel is not None:
            self.tabs.setCurrentWidget(panel)
            if widget is not None and isinstance(panel, QScrollArea):
                panel.ensureWidgetVisible(widget)
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def next_missing(self) -> None:
        """To what still blocks signing (Ctrl+G): the first required field not documented, in
        the note's order, then the first warning without a reason; then the Sign button."""
        key = self.sign_panel.next_blocking()
        if key is None:
            self.tabs.setCurrentWidget(self.sign_panel)
            self.sign_panel.sign_button.setFocus(Qt.FocusReason.ShortcutFocusReason)
        elif key.startswith("ack_"):
            self.tabs.setCurrentWidget(self.sign_panel)
            field = self.sign_panel.ack_fields[key.removeprefix("ack_")]
            self.sign_panel.ensureWidgetVisible(field)
            field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        else:
            self.focus_field(key)

    def _field_widgets(self) -> dict[str, tuple[QWidget | None, QWidget | None]]:
        ind, chk, out = self.indication, self.checklist, self.outcome
        return {
            "diagnoses": (ind, ind.picker),
            "indication": (ind, ind.indication),
            "history": (ind, ind.onset),
            "conservative_therapy": (ind, ind.therapy),
            "rehab_program": (ind, ind.rehab),
            "prior_relief": (ind, ind.relief),
            "functional_score": (ind, ind.score),
            "consent": (chk, chk.consent),
            "safety_screen": (chk, next(iter(chk.safety.values()))),
            "site_marking": (chk, chk.timeout_button),
            "position": (chk, chk.position),
            "skin_prep": (chk, chk.skin_prep),
            "needle": (chk, chk.needle),
            "technique": (chk, next(iter(chk.technique.values()))),
            "pain_before": (None, self.pain_before),
            "pain_after": (None, self.pain_after),
            "complications": (out, out.no_complications),
            "tolerance": (out, out.tolerance),
            "aftercare": (out, out.aftercare),
            "follow_up": (out, out.follow_up),
        }

    def _install_actions(self) -> None:
        handlers = {
            "inject": self.inject_selected,
            "twitch_none": lambda: self.set_twitch("none"),
            "twitch_weak": lambda: self.set_twitch("weak"),
            "twitch_brisk": lambda: self.set_twitch("brisk"),
            "next": lambda: self.step(1),
            "previous": lambda: self.step(-1),
            "remove": self.remove_selected,
            "recode": self.recode_selected,
            "dry_needling": self.toggle_dry_needling,
            "add_site": self.add_site_by_name,
            "next_missing": self.next_missing,
            "pain_before": lambda: self.pain_before.setFocus(Qt.FocusReason.ShortcutFocusReason),
            "pain_after": lambda: self.pain_after.setFocus(Qt.FocusReason.ShortcutFocusReason),
            "timeout": self.record_time_out,
            "sign": self.sign_panel.sign,
            "undo": self.undo,
            "redo": self.redo,
        }
        presets = volume_presets()
        for index in range(4):
            if index < len(presets):
                handlers[f"volume_{index + 1}"] = lambda _c=False, v=presets[index]: (
                    self.set_volume(v)
                )
        for view, _text in VIEWS:
            handlers[f"view_{view}"] = lambda _c=False, v=view: self.set_view(v)
        for preset in REGION_PRESETS:
            handlers[f"region_{preset[0]}"] = lambda _c=False, p=preset[0]: (
                self.diagram.frame_region(p)
            )
        handlers["pain_mode"] = lambda _c=False: self.diagram.set_pain_mode(
            not self.diagram.pain_mode
        )
        for action_id, label, keys in KEYMAP:
            handler = handlers.get(action_id)
            if handler is None:
                continue
            action = QAction(label, self)
            action.setObjectName(f"action_{action_id}")
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(handler)
            self.addAction(action)
            self.actions_by_id[action_id] = action

    # -- opening -----------------------------------------------------------------------------

    def open_procedure(self, procedure_id: int, view: str | None = None) -> None:
        # The undo history belongs to the procedure it was made on: another procedure starts
        # with none, so Ctrl+Z can never reach a chart that is not on screen.
        if self.session.procedure_id != procedure_id:
            self.undo_stack.clear()
        self.selected_id = None
        self.banner.hide()
        self.saved_indicator.setText("Opened")
        self._opening = True  # _on_changed("all") shows the new procedure on the diagram
        try:
            self.session.load(procedure_id)
        finally:
            self._opening = False
        first = next((s for s in self.session.sites if s.site.state == "planned"), None)
        first = first or (self.session.sites[0] if self.session.sites else None)
        if first is not None:
            self.select_site(int(first.id))
        self.set_view(view or self._best_view())
        self.setFocus()

    def _best_view(self) -> str:
        for stored in self.session.sites:
            if stored.site.view:
                return str(stored.site.view)
        return "posterior"

    # -- permissions -------------------------------------------------------------------------

    def can(self, action: str) -> bool:
        return allowed(self.user, action)  # type: ignore[arg-type]

    def _editable(self) -> bool:
        return self.session.procedure is not None and not self.session.signed

    # -- refreshing --------------------------------------------------------------------------

    def _on_changed(self, kind: str) -> None:
        self.model.set_sites(self.session.sites)
        if self._opening:
            self.diagram.set_procedure(self.session.procedure_id, self.session.sites)
        elif kind != "diagram" and self.diagram.document.sites != self.session.sites:
            # The session has just read the sites; "diagram" edits come from it: up to date.
            self.diagram.refresh(self.session.sites)
        self._update_diagram_mode()
        if kind == "all":
            self._patient_line = self._patient_text()
            self._refresh_facts()
        self._refresh_header()
        if self.selected_id is not None and self.session.site(self.selected_id) is None:
            self.selected_id = None
        self._sync_selection()
        self._refresh_editor()
        if kind == "diagram":
            self._refresh_panels_later()
        else:
            self._refresh_panels(kind)

    def _refresh_panels(self, kind: str) -> None:
        """The rules (evaluated on the stored document), the forms and the signing step."""
        self._panels_stale = False
        # The operation that made the change evaluated the stored procedure (None while the
        # rules cannot read a half-filled chart): no second read of the document here.
        self.evaluation = self.session.evaluation
        self.rules.show_evaluation(self.evaluation)
        self.checklist.refresh()
        self.indication.refresh()
        self.outcome.refresh()
        self.preparations.refresh(kind)
        self.sign_panel.refresh(self.evaluation)

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
            if self._panels_stale and self.session.procedure_id is not None:
                self._refresh_panels("diagram")
            return True
        return super().event(event)

    def _refresh_header(self) -> None:
        p = self.session.procedure
        if p is None:
            return
        # The date of service is when it happened; until then the schedule's time, said so.
        performed = p.planned_at is not None or p.time_out is not None or bool(p.injected_sites)
        when = f"{p.performed_at.astimezone():%Y-%m-%d %H:%M}"
        if not performed:  # the schedule's time, until the time-out or the first injection
            when = f"planned {when}"
        self.title.setText(f"{self._patient_line}  ·  {when}")
        self.title.setToolTip(self.title.text())
        status = {
            "planned": "Planned",
            "in_progress": "In progress",
            "signed": "Signed",
            "external": "Signed elsewhere, not verified by this clinic",
        }[p.status]
        injected = sum(1 for s in self.session.sites if s.site.state == "injected")
        self.status_label.setText(f"· {status} · {injected}/{len(self.session.sites)} injected")
        self.pain_before.set_value(p.pain_before)
        self.pain_after.set_value(p.pain_after)
        for row in (self.pain_before, self.pain_after):
            for button in row.buttons:
                button.setEnabled(self._editable())
        self.timeout_header.setVisible(p.time_out is None and self._editable())
        if p.time_out is not None and p.status not in ("signed", "external"):
            self.clock.start()
        else:
            self.clock.stop()
        self._tick()

    def _patient_text(self) -> str:
        """Two identifiers on screen at all times: name and MRN, plus date of birth."""
        try:
            patient = self.services.patients.get(self.session.patient_id).patient
        except Exception:
            self._patient = None
            return "Patient ?"
        self._patient = patient
        return f"{patient.display_name} · MRN {patient.mrn} · DOB {patient.birth_date:%Y-%m-%d}"

    def _tick(self) -> None:
        p = self.session.procedure
        if p is None or p.time_out is None or p.external_signature is not None:
            self.elapsed.setText("")  # a record signed elsewhere has no running clock here
            return
        # A signed note's clock stopped at the signature; a planned procedure runs from now.
        end = p.signature.signed_at if p.signature is not None else datetime.now().astimezone()
        seconds = max(0, int((end - p.time_out.at).total_seconds()))
        minutes, seconds = divmod(seconds, 60)
        if p.signature is not None:
            hours, minutes = divmod(minutes, 60)
            days, hours = divmod(hours, 24)
            span = (
                f"{days} d {hours} h"
                if days
                else f"{hours} h {minutes} min"
                if hours
                else (f"{minutes} min")
            )
            self.elapsed.setText(f"Signed {span} after time-out")
            return
        self.elapsed.setText(f"Time-out + {minutes:02d}:{seconds:02d}")

    def _refresh_editor(self) -> None:
        site = self.session.site(self.selected_id) if self.selected_id is not None else None
        number = self.session.number_of(self.selected_id) if self.selected_id is not None else None
        preps = (
            tuple(p.id for p in self.session.procedure.preparations)
            if self.session.procedure
            else ()
        )
        self.editor.show_site(
            number, site, preps, editable=self._editable(), can_chart=self.can("chart")
        )

    def _failed(self, message: str) -> None:
        self.saved_indicator.show_failed()
        self.banner.show_message(message)

    def _after_signing(self) -> None:
        procedure_id = self.session.procedure_id
        assert procedure_id is not None
        self.undo_stack.clear()
        self.session.load(procedure_id)
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
        if self._syncing:
            return
        if site_id not in [s.id for s in self.session.sites]:
            # a new site placed on the diagram
            self.session.after_external_edit(self.diagram.document.sites)
        self.select_site(site_id if site_id >= 0 else None)

    def step(self, delta: int) -> None:
        if not self.session.sites:
            return
        ids = [int(s.id) for s in self.session.sites]
        if self.selected_id not in ids:
            self.select_site(ids[0])
            return
        index = ids.index(self.selected_id) + delta
        self.select_site(ids[max(0, min(len(ids) - 1, index))])

    def _next_planned_after(self, site_id: int) -> int | None:
        ids = [int(s.id) for s in self.session.sites]
        start = ids.index(site_id) if site_id in ids else -1
        ordered = self.session.sites[start + 1 :] + self.session.sites[: start + 1]
        for stored in ordered:
            if stored.site.state == "planned" and stored.id != site_id:
                return int(stored.id)
        return None

    def set_view(self, view: str) -> None:
        self.diagram.set_view(view)  # the diagram reports back through view_changed

    def _diagram_view_changed(self, view: str) -> None:
        self.current_view = view
        self.view_changed.emit(view)

    def _update_diagram_mode(self) -> None:
        """Clicks plan sites until a physician has done the time-out; then they chart injected
        sites. A signed note takes no clicks at all."""
        procedure = self.session.procedure
        self.diagram.set_read_only(procedure is None or procedure.status in ("signed", "external"))
        charting = procedure is not None and procedure.time_out is not None and self.can("chart")
        self.diagram.set_mode("chart" if charting else "plan")

    # -- edits -------------------------------------------------------------------------------

    def edit_header(self, changes: dict[str, Any], text: str) -> None:
        p = self.session.procedure
        if p is None or not self._editable():
            return
        before = {key: getattr(p, key) for key in changes}
        if before == changes:
            return
        self.undo_stack.push(HeaderEditCommand(self.session, before, changes, text))

    def record_time_out(self) -> None:
        p = self.session.procedure
        if p is None or not self._editable():
            return
        if p.time_out is not None:  # never overwrite the recorded time-out with a stray Ctrl+T
            local = p.time_out.at.astimezone()
            self.banner.show_message(
                f"The time-out was recorded by {p.time_out.performed_by} at {local:%H:%M}; "
                "undo it (Ctrl+Z) to record it again",
                "warn",
            )
            return
        if not self.can("chart"):
            self.banner.show_message("only a physician can confirm the time-out", "warn")
            return
        problems = time_out_problems(p)
        if problems:
            self.banner.show_message("Time-out: " + "; ".join(problems), "warn")
            return
        patient = self.services.patients.get(self.session.patient_id).patient
        dialog = TimeOutDialog(patient, p, self)
        self.time_out_dialog = dialog  # tests and the keyboard reach the open overlay here
        # Window-modal but not blocking: the event loop (autosave, the idle lock) keeps running.
        dialog.finished.connect(lambda _result: self._time_out_answered(dialog))
        dialog.open()
        dialog.setFocus()

    def _time_out_answered(self, dialog: TimeOutDialog) -> None:
        self.time_out_dialog = None
        dialog.deleteLater()
        # The overlay had the keyboard: hand it back to the chart's window, or the next shortcut
        # (they reach the active window only) goes nowhere where the platform leaves none active.
        self.window().activateWindow()
        if dialog.result() == TimeOutDialog.DialogCode.Accepted and dialog.site_marked is not None:
            self.undo_stack.push(TimeOutCommand(self.session, dialog.site_marked))

    def _edit_site(self, site_id: int, after: Site, text: str) -> bool:
        before = self.session.site(site_id)
        if before is None or before == after:
            return False
        count = self.undo_stack.count()
        self.undo_stack.push(SiteEditCommand(self.session, site_id, before, after, text))
        return self.undo_stack.count() > count or self.session.site(site_id) == after

    def _require_chart(self) -> bool:
        if self.can("chart"):
            return True
        self.banner.show_message(
            "only a physician can chart injections; planning stays open", "warn"
        )
        return False

    @staticmethod
    def _injected(site: Site) -> Site:
        """`site` marked injected; the operation fills in the volume (the plan's, else the last
        injected site's), the syringe, the time, and starts the procedure."""
        return site.model_copy(update={"state": "injected"})

    def inject_selected(self) -> None:
        site = self._selected_site()
        if site is None or site.state != "planned" or not self._require_chart():
            return
        self._edit_site(self.selected_id, self._injected(site), "Injected")  # type: ignore[arg-type]

    def set_twitch(self, twitch: str) -> None:
        site = self._selected_site()
        if site is None or not self._require_chart():
            return
        site_id = self.selected_id
        assert site_id is not None
        after = self._injected(site) if site.state == "planned" else site
        after = after.model_copy(update={"twitch": twitch})
        if self._edit_site(site_id, after, f"Twitch {twitch}"):
            following = self._next_planned_after(site_id)
            if following is not None:
                self.select_site(following)

    def set_volume(self, volume: float) -> None:
        site = self._selected_site()
        if site is None:
            return
        if site.state == "injected" and not self._require_chart():
            return
        self._edit_site(self.selected_id, site.model_copy(update={"volume_ml": volume}), "Volume")  # type: ignore[arg-type]

    def set_preparation(self, preparation: str) -> None:
        site = self._selected_site()
        if site is None:
            return
        value = preparation or None
        self._edit_site(self.selected_id, site.model_copy(update={"preparation": value}), "Syringe")  # type: ignore[arg-type]

    def set_finding(self, key: str, value: bool) -> None:
        site = self._selected_site()
        site_id = self.selected_id
        if site is None or site_id is None:
            return
        findings = Findings(**{**site.findings.model_dump(), key: value})
        self._edit_site(site_id, site.model_copy(update={"findings": findings}), "Findings")

    def set_dry_needling(self, on: bool) -> None:
        """Dry needling at the selected site (issue 14): it then has no syringe and no volume;
        off again, the volume and the syringe are charted as for any site."""
        site = self._selected_site()
        if site is None or site.dry_needling == on:
            return
        if site.state == "injected" and not self._require_chart():
            self._refresh_editor()
            return
        update: dict[str, Any] = {"dry_needling": on}
        if on:
            update |= {"volume_ml": None, "preparation": None}
        text = "Dry needling" if on else "Not dry needling"
        if not self._edit_site(self.selected_id, site.model_copy(update=update), text):  # type: ignore[arg-type]
            self._refresh_editor()

    def toggle_dry_needling(self) -> None:
        site = self._selected_site()
        if site is not None:
            self.set_dry_needling(not site.dry_needling)

    def recode_selected(self) -> None:
        """Open the muscle picker for the selected site (coded or not); its choice is one
        undoable edit. Non-blocking: `self.picker` is the open picker."""
        site = self._selected_site()
        site_id = self.selected_id
        if site is None or site_id is None:
            return
        if site.state == "injected" and not self._require_chart():
            return
        number = self.session.number_of(site_id)
        name = load_catalog().muscle_name(site.muscle)
        picker = MusclePicker(site.muscle, site.side, f"Site {number}: now {name}", self)
        picker.accepted.connect(lambda: self._apply_recode(site_id, picker.choice))
        picker.finished.connect(lambda _r: picker.deleteLater())
        self.picker = picker
        picker.open()
        picker.activateWindow()  # the typing goes to the search, not to the charting keys
        picker.search.setFocus()

    def add_site_by_name(self) -> None:
        """The muscle picker for a new site (A): the keyboard's way to plan or chart one."""
        if self.session.procedure_id is None or not self._editable():
            return
        picker = MusclePicker("unspecified", "left", "New site: type the muscle", self)
        picker.accepted.connect(lambda: self._add_named(picker.choice))
        picker.finished.connect(lambda _r: picker.deleteLater())
        self.picker = picker
        picker.open()
        picker.activateWindow()
        picker.search.setFocus()

    def _add_named(self, choice: tuple[str, str] | None) -> None:
        if choice is not None and self.diagram.add_named_site(*choice) is not None:
            self.setFocus()

    def _apply_recode(self, site_id: int, choice: tuple[str, str] | None) -> None:
        site = self.session.site(site_id)
        if site is None or choice is None:
            return
        muscle, side = choice
        self._edit_site(site_id, site.model_copy(update={"muscle": muscle, "side": side}), "Muscle")
        self.setFocus()

    def set_location(self, text: str) -> None:
        """The clinician's wording of the site's location; empty: described from the diagram."""
        site = self._selected_site()
        if site is None or self.selected_id is None:
            return
        value = text or None
        if value is None and site.view is not None:
            value = computed_location(site.view, site.x, site.y, site.side)
        if value == site.location:
            return
        self._edit_site(self.selected_id, site.model_copy(update={"location": value}), "Location")

    def remove_selected(self) -> None:
        if self.selected_id is None or not self._editable():
            return
        site = self._selected_site()
        if site is not None and site.state == "injected" and not self._require_chart():
            return
        self.undo_stack.push(RemoveSiteCommand(self.session, self.selected_id))

    def _selected_site(self) -> Site | None:
        if self.selected_id is None or not self._editable():
            return None
        return self.session.site(self.selected_id)

    def undo_applies(self) -> bool:
        """Undo and redo act only on the procedure on screen: never from the patient page."""
        return self.session.procedure_id is not None and self.isVisible()

    def undo(self) -> None:
        if self.undo_applies():
            self.undo_stack.undo()

    def redo(self) -> None:
        if self.undo_applies():
            self.undo_stack.redo()

    def keys_help(self) -> list[tuple[str, str]]:
        return _keys_help()
