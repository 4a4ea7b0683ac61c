"""The main window: the patient page and the procedure workspace, one at a time.

It remembers the last patient, procedure and diagram view in QSettings and reopens them.

The window starts on the patient page; the workspace (diagram, rules, forms) is imported and built
on first use (`workspace`), so the first frame does not wait for it. The undo stack the toolbar's
Undo/Redo act on belongs to the window and is handed to the workspace when it is built.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QKeySequence,
    QResizeEvent,
    QShowEvent,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QWidget,
)

from tpi_chart.domain.users import User
from tpi_chart.services.access import LIST_ROLES, allowed
from tpi_chart.services.context import Services
from tpi_chart.ui import window_geometry
from tpi_chart.ui.exports import export_pdf
from tpi_chart.ui.keys_overlay import KeysOverlay
from tpi_chart.ui.last_session import KEY_PATIENT, KEY_PROCEDURE, KEY_VIEW
from tpi_chart.ui.live import LiveUpdates
from tpi_chart.ui.outbox import OutboxSender
from tpi_chart.ui.patients import PatientsPage
from tpi_chart.ui.plain_errors import KNOWN_ERRORS, KNOWN_FILE_ERRORS
from tpi_chart.ui.quiet_actions import keep_layout_on_change
from tpi_chart.ui.style import DANGER, repolish
from tpi_chart.ui.tasks import tasks
from tpi_chart.ui.wheel_guard import install_wheel_guard

if TYPE_CHECKING:
    from tpi_chart.services.interop import OutboxResult
    from tpi_chart.services.notes import PreparedExport  # reportlab and pyHanko: not at start
    from tpi_chart.ui.workspace.page import WorkspacePage

log = logging.getLogger(__name__)


def settle_garbage_collector() -> None:
    """Once the window is up, everything built so far (modules, catalogs, the first screen)
    lives as long as the program: `gc.freeze` takes it out of the collector's sight, so a full
    collection during charting walks only what charting made. Python's default thresholds are
    kept: over 150 clicks (`gc.callbacks`, benchmarks/README.md) no full collection ran, and
    larger young generations only made each young collection longer."""
    gc.freeze()


class MainWindow(QMainWindow):
    #: Set by `bind`: a window built while the person was still typing their password
    #: (`ui.prebuild`) can reach nobody's records until it is bound to them.
    services: Services
    user: User

    def __init__(
        self,
        services: Services | None = None,
        user: User | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """The window of `user` on `services` (`Services.as_user`). Without them, only its
        frame and controls: `bind` gives it the person once their password is checked."""
        super().__init__(parent)
        self._bound = False
        self.setMinimumSize(1200, 700)
        application = QApplication.instance()
        if application is not None:  # once per application, whoever is first
            install_wheel_guard(application)

        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self._patients: PatientsPage | None = None
        self._patient_before_page: int | None = None  # a visit's patient, opened before the page
        self.undo_stack = QUndoStack(self)
        self._workspace: WorkspacePage | None = None

        self._build_toolbar()
        self._build_keys_dock()
        # Export and handout need an open procedure: the workspace page is the current one.
        self.stack.currentChanged.connect(self._update_procedure_actions)
        self.stack.currentChanged.connect(self._undo_tips)
        self._update_procedure_actions()
        # The age of the last good automatic backup, always visible; red after two days.
        self.backup_label = QLabel()
        self.backup_label.setObjectName("backupAge")
        self.statusBar().addPermanentWidget(self.backup_label)
        self._build_outbox_indicator()
        # What the worker thread is doing (ui.tasks), while the window stays usable.
        self.busy_label = QLabel()
        self.busy_label.setObjectName("busyLabel")
        self.busy_label.hide()
        self.statusBar().addPermanentWidget(self.busy_label)
        tasks().busy_changed.connect(self._show_busy)
        # Hidden, at the size launch.open_window will show it at (ui.window_geometry).
        self.opens_maximized = window_geometry.restore(self)
        if services is not None and user is not None:
            self.bind(services, user)

    def bind(self, services: Services, user: User) -> None:
        """Give the window the person signed in: their name and actions on the tool bar, the
        clinic in the title and the status bar, and the workspace if it was built before."""
        if self._bound:
            raise RuntimeError("a window belongs to one person")
        self._bound = True
        self.services = services
        self.user = user
        self.setWindowTitle(self._clinic_title())
        self._bind_toolbar()
        self.statusBar().showMessage(f"Database: {services.location}")
        self._show_backup_age()
        QTimer.singleShot(0, self._first_backup_of_the_day)
        if services.integrity_warnings:  # what the start-up checks found: never silent
            self.statusBar().showMessage(
                f"Integrity check: {services.integrity_warnings[0]}. Run `tpi-chart audit verify`."
            )
        self.outbox = OutboxSender(services.interop, self)
        self.refresh_outbox()
        if services.interop.pending_count():
            # After the first frame; the files are made on the worker thread.
            QTimer.singleShot(0, self.retry_outbox)
        # What other rooms change, shown here within a second (a server clinic only).
        self.live = LiveUpdates(self)
        if self._workspace is not None:
            self._workspace.bind(services, user)
        QTimer.singleShot(0, settle_garbage_collector)

    @property
    def patients(self) -> PatientsPage:
        """The patient list and search, built the first time it is needed: a window that
        reopens the last visit does not build it until the person goes back to the list."""
        if self._patients is None:
            # Created inside the stack, as the workspace: re-parenting would polish it again.
            page = PatientsPage(self.services, self.stack)
            page.patient_id = self._patient_before_page
            self.stack.insertWidget(0, page)  # the stack's first page when there is no other
            page.procedure_opened.connect(self.open_procedure)
            page.failed.connect(lambda message: self.statusBar().showMessage(message, 10000))
            self._patients = page
        return self._patients

    def patients_built(self) -> bool:
        return self._patients is not None

    def showEvent(self, event: QShowEvent) -> None:
        current = self.stack.currentWidget()
        # Nothing reopened: the window starts on the patient list (a workspace built while the
        # person typed, `ui.prebuild`, may be there with no procedure to show).
        if current is None or (current is self._workspace and self._open_procedure_id() is None):
            self.stack.setCurrentWidget(self.patients)
        super().showEvent(event)

    @property
    def workspace(self) -> WorkspacePage:
        """The procedure workspace, built the first time it is needed."""
        if self._workspace is None:
            self._workspace = self._build_workspace()
        return self._workspace

    def workspace_built(self) -> bool:
        return self._workspace is not None

    def _build_workspace(self) -> WorkspacePage:
        from tpi_chart.ui.workspace.page import WorkspacePage

        # Created inside the stack: re-parenting the finished page would polish it all again.
        workspace = WorkspacePage(parent=self.stack, undo_stack=self.undo_stack)
        if self._bound:
            workspace.bind(self.services, self.user)
        self.stack.addWidget(workspace)
        workspace.closed.connect(self.show_patients)
        # Signing (and an addendum) files the note in the export folder at once (product.md §2,
        # workflow 3), in the formats the clinic chose (the outbox keeps what could not be sent).
        workspace.signed.connect(self.send_signed)
        workspace.view_changed.connect(lambda view: QSettings().setValue(KEY_VIEW, view))
        return workspace

    def _open_procedure_id(self) -> int | None:
        """The procedure open in the workspace (None before the workspace was ever built)."""
        workspace = self._workspace
        return workspace.document.procedure_id if workspace is not None else None

    def _clinic_name(self) -> str:
        return str(self.services.settings.clinic_name())

    def _clinic_title(self) -> str:
        # Qt appends the application display name ("— TPI Chart") to every window title.
        return self._clinic_name()

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(bar)
        self.patients_action = QAction("Patients", self)
        self.patients_action.setShortcut(QKeySequence("Ctrl+P"))
        self.patients_action.setToolTip("Patient list and search (Ctrl+P)")
        self.patients_action.triggered.connect(self.show_patients)
        bar.addAction(self.patients_action)
        self.find_action = QAction("Find patient", self)
        self.find_action.setShortcut(QKeySequence("Ctrl+F"))
        self.find_action.setToolTip("Search by name, MRN or date of birth (Ctrl+F)")
        self.find_action.triggered.connect(self.find_patient)
        bar.addAction(self.find_action)
        bar.addSeparator()
        # Fixed labels: QUndoStack's own actions rename themselves "Undo Place Lower trapezius
        # (left)", which widens the buttons and pushes the signed-in user off the tool bar.
        # What would be undone is in the tooltip.
        # Enabled only while the workspace is on screen: the history belongs to the open
        # procedure, and undoing it from another patient's page would change a chart unseen.
        self.undo_action = QAction("Undo", self)
        self.undo_action.setObjectName("undoAction")
        self.undo_action.triggered.connect(self._undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setObjectName("redoAction")
        self.redo_action.triggered.connect(self._redo)
        self.undo_stack.canUndoChanged.connect(self._undo_tips)
        self.undo_stack.canRedoChanged.connect(self._undo_tips)
        self.undo_stack.undoTextChanged.connect(self._undo_tips)
        self.undo_stack.redoTextChanged.connect(self._undo_tips)
        self._undo_tips()
        bar.addAction(self.undo_action)
        bar.addAction(self.redo_action)
        keep_layout_on_change(bar, (self.undo_action, self.redo_action))  # new tips every edit
        bar.addSeparator()
        export = QAction("Export note", self)
        export.setObjectName("exportNote")
        export.setToolTip("Write the note (DRAFT until signed) to the export folder and open it")
        export.triggered.connect(lambda: self.export_note())
        bar.addAction(export)
        # "Handout", not "Aftercare handout": with an administrator's actions the bar must still
        # fit 1366 px with the signed-in name shown (the tooltip says what it is).
        handout = QAction("Handout", self)
        handout.setObjectName("printHandout")
        handout.setToolTip("Write the patient's one-page aftercare handout and open it to print")
        handout.triggered.connect(self.print_handout)
        bar.addAction(handout)
        self.export_action = export
        self.handout_action = handout
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.settings_action = QAction("Settings…", self)
        self.settings_action.setObjectName("clinicSettings")
        self.settings_action.setToolTip(
            "Clinic name and phone, export folder, page size, idle lock (administrators)"
        )
        self.settings_action.triggered.connect(self.open_settings)
        self.accounts_action = QAction("Accounts…", self)
        self.accounts_action.setObjectName("userAccounts")
        self.accounts_action.setToolTip("Add, change or deactivate user accounts (administrators)")
        self.accounts_action.triggered.connect(self.open_accounts)
        # Lot recall: the front desk's phone list (administrators and assistants).
        self.recall_action = QAction("Lot recall…", self)
        self.recall_action.setObjectName("lotRecall")
        self.recall_action.setToolTip(
            "Every patient and procedure that received a lot, as a list and a CSV "
            "(administrators and assistants)"
        )
        self.recall_action.triggered.connect(self.open_recall)
        # Shown by `_bind_toolbar` to those allowed them, once the person is known.
        for action in (self.recall_action, self.settings_action, self.accounts_action):
            action.setVisible(False)
            action.setEnabled(False)
            bar.addAction(action)
        self.lock_action = QAction("Lock now", self)
        self.lock_action.setObjectName("lockNow")
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setToolTip("Lock the window now; sign in again to continue (Ctrl+L)")
        self.lock_action.triggered.connect(self.lock_now)
        bar.addAction(self.lock_action)
        self.keys_action = QAction("Keys", self)
        self.keys_action.setCheckable(True)
        self.keys_action.setShortcuts([QKeySequence("F12"), QKeySequence("?")])
        self.keys_action.setToolTip("Show every keyboard shortcut (F12 or ?)")
        bar.addAction(self.keys_action)
        self.about_action = QAction("About", self)
        self.about_action.setObjectName("about")
        # No key: F1 to F4 switch the diagram's views.
        self.about_action.setToolTip("Version, and every check of this computer with its result")
        self.about_action.triggered.connect(self.open_about)
        bar.addAction(self.about_action)
        self.user_label = QLabel()
        self.user_label.setObjectName("userLabel")
        bar.addWidget(self.user_label)

    def _bind_toolbar(self) -> None:
        """The actions the person may use, and their name."""
        user = self.user
        permitted_by_action: tuple[tuple[QAction, bool], ...] = (
            (self.recall_action, user.active and bool(user.roles & LIST_ROLES)),
            (self.settings_action, allowed(user, "manage_settings")),
            (self.accounts_action, allowed(user, "manage_accounts")),
        )
        # Hidden, not only disabled, for everyone else: the services refuse them anyway.
        for action, permitted in permitted_by_action:
            action.setVisible(permitted)
            action.setEnabled(permitted)
        # The name only (roles in the tooltip): the bar must fit 1366 px with every action shown.
        self.user_label.setText(f"  {user.display_name}  ")
        self.user_label.setToolTip(f"Signed in as {user.username}: {user.role_text}")

    def _undo_applies(self) -> bool:
        workspace = self._workspace
        return (
            workspace is not None
            and self.stack.currentWidget() is workspace
            and workspace.document.procedure_id is not None
        )

    def _undo(self) -> None:
        if self._undo_applies():
            self.undo_stack.undo()

    def _redo(self) -> None:
        if self._undo_applies():
            self.undo_stack.redo()

    def _undo_tips(self, *_args: object) -> None:
        stack = self.undo_stack
        applies = self._undo_applies()
        self.undo_action.setEnabled(applies and stack.canUndo())
        self.redo_action.setEnabled(applies and stack.canRedo())
        undo, redo = stack.undoText(), stack.redoText()
        self.undo_action.setToolTip(f"Undo {undo} (Ctrl+Z)" if undo else "Undo (Ctrl+Z)")
        self.redo_action.setToolTip(
            f"Redo {redo} (Ctrl+Shift+Z)" if redo else "Redo (Ctrl+Shift+Z)"
        )

    def _build_keys_dock(self) -> None:
        # An overlay over the whole window, not a dock: every key and its full description fit.
        # Built when first shown: its hundred labels were ~11 ms of every start (issue 15).
        self._keys_overlay: KeysOverlay | None = None
        self.keys_action.toggled.connect(self._show_keys)

    def _show_keys(self, shown: bool) -> None:
        if shown or self._keys_overlay is not None:  # hiding one never built builds nothing
            self.keys_overlay.set_shown(shown)

    @property
    def keys_overlay(self) -> KeysOverlay:
        if self._keys_overlay is None:
            self._keys_overlay = KeysOverlay(self)
            self._keys_overlay.closed.connect(lambda: self.keys_action.setChecked(False))
        return self._keys_overlay

    # -- administration and lock --------------------------------------------------------------

    def open_settings(self) -> None:
        from tpi_chart.ui.settings_dialog import SettingsDialog

        title = self._clinic_title()
        if not SettingsDialog.ask(self.services, self):
            return
        if self.windowTitle() == title:
            self.setWindowTitle(self._clinic_title())
        idle_lock = getattr(self, "idle_lock", None)
        if idle_lock is not None:  # the new idle time applies at once, not at the next start
            idle_lock.set_minutes(self.services.settings.idle_lock_minutes())
        self.statusBar().showMessage("Clinic settings saved.", 10000)

    def open_recall(self) -> None:
        from tpi_chart.ui.recall_dialog import RecallDialog

        self.recall_dialog = RecallDialog.show_for(self.services, self)

    def open_about(self) -> None:
        from tpi_chart.ui.about_dialog import AboutDialog

        AboutDialog(self.services.db_path, self).exec()

    def open_accounts(self) -> None:
        from tpi_chart.ui.auth.accounts_dialog import AccountsDialog

        AccountsDialog.ask(self.services.auth, self.user, self)

    def lock_now(self) -> None:
        """Lock at once (Ctrl+L), as the idle time would; nothing is lost, everything is saved."""
        idle_lock = getattr(self, "idle_lock", None)
        if idle_lock is not None:
            idle_lock.lock()

    def _update_procedure_actions(self) -> None:
        open_procedure = (
            self._workspace is not None
            and self.stack.currentWidget() is self._workspace
            and self._open_procedure_id() is not None
        )
        self.export_action.setEnabled(open_procedure)
        self.handout_action.setEnabled(open_procedure)

    # -- navigation --------------------------------------------------------------------------

    def show_patients(self) -> None:
        if self._workspace is not None:  # the procedure is let go for the other rooms
            self._workspace.lease.release()
        if self.patients.patient_id is not None:
            self.patients.show_patient(self.patients.patient_id)
        self.stack.setCurrentWidget(self.patients)
        QSettings().setValue(KEY_PROCEDURE, None)

    def focus_start(self) -> None:
        """Where the keyboard goes when the window opens."""
        if self._workspace is not None and self.stack.currentWidget() is self._workspace:
            self._workspace.setFocus()
        else:
            self.patients.search.setFocus()

    def find_patient(self) -> None:
        self.show_patients()
        self.patients.search.setFocus()
        self.patients.search.selectAll()

    def open_patient(self, patient_id: int) -> None:
        self.patients.show_patient(patient_id)
        self.stack.setCurrentWidget(self.patients)
        QSettings().setValue(KEY_PATIENT, patient_id)

    def open_procedure(self, patient_id: int, procedure_id: int, view: str | None = None) -> None:
        if self._patients is not None:
            self._patients.patient_id = patient_id
        else:
            self._patient_before_page = patient_id
        self.workspace.open_procedure(procedure_id, view)
        self.stack.setCurrentWidget(self.workspace)
        self._update_procedure_actions()
        settings = QSettings()
        settings.setValue(KEY_PATIENT, patient_id)
        settings.setValue(KEY_PROCEDURE, procedure_id)
        try:
            patient = self.services.patients.get(patient_id).patient
            self.setWindowTitle(f"{patient.display_name} (MRN {patient.mrn})")
        except KNOWN_ERRORS:
            log.exception("patient %s not readable", patient_id)

    def restore_last(self) -> bool:
        """Reopen the last patient/procedure/view if they still exist; True if something opened."""
        settings = QSettings()
        patient_id = _int(settings.value(KEY_PATIENT))
        procedure_id = _int(settings.value(KEY_PROCEDURE))
        view = settings.value(KEY_VIEW)
        if patient_id is None:
            return False
        try:
            self.services.patients.get(patient_id)
        except KNOWN_ERRORS:  # deleted or unreadable since: start from the patient list
            return False
        if procedure_id is not None:
            try:
                stored = self.services.charting.get(procedure_id)
            except KNOWN_ERRORS:
                stored = None
            if stored is not None and stored.patient_id == patient_id:
                self.open_procedure(
                    patient_id, procedure_id, view if isinstance(view, str) else None
                )
                return True
        self.open_patient(patient_id)
        return True

    # -- notes -------------------------------------------------------------------------------

    def export_note(self, procedure_id: int | None = None, *, open_it: bool = True) -> None:
        procedure_id = procedure_id or self._open_procedure_id()
        if procedure_id is None:
            return
        notes = self.services.notes
        self._write_pdf(
            lambda: notes.prepare_export(procedure_id),
            "Note written to",
            "Note not exported",
            open_it,
        )

    def _write_pdf(
        self, prepare: Callable[[], PreparedExport], written: str, failed: str, open_it: bool
    ) -> None:
        """Drawn on the worker thread; said in the status bar, or in the banner on failure."""

        def done(path: Path) -> None:
            self.statusBar().showMessage(f"{written} {path}", 15000)
            if open_it:
                self.open_file(path)

        export_pdf(
            prepare,
            self.services.notes.write_export,
            done=done,
            failed=lambda why: self.workspace.banner.show_message(f"{failed}: {why}", "warn"),
        )

    # -- the outbox --------------------------------------------------------------------------

    def _build_outbox_indicator(self) -> None:
        self.outbox_button = QToolButton()
        self.outbox_button.setObjectName("outboxPending")
        self.outbox_button.setAutoRaise(True)
        self.outbox_button.setStyleSheet(f"color: {DANGER}; font-weight: bold;")
        self.outbox_button.clicked.connect(self.retry_outbox)
        self.outbox_button.hide()  # until `refresh_outbox` counts what waits
        self.statusBar().addPermanentWidget(self.outbox_button)

    def refresh_outbox(self) -> None:
        """Show how many files still wait for the export folder (hidden when none)."""
        pending = self.services.interop.pending()
        self.outbox_button.setVisible(bool(pending))
        if pending:
            self.outbox_button.setText(f"{len(pending)} file(s) not sent — retry")
            reasons = [item.last_error for item in pending if item.last_error]
            self.outbox_button.setToolTip(
                "Not yet written to the export folder:\n" + "\n".join(reasons[-5:])
                if reasons
                else "Waiting to be written to the export folder"
            )

    def retry_outbox(self) -> None:
        def sent(result: OutboxResult) -> None:
            if result.sent:
                self.statusBar().showMessage(
                    f"{result.sent} file(s) sent to the export folder", 10000
                )
            self.refresh_outbox()

        def failed(why: str) -> None:  # the count stays visible
            self.statusBar().showMessage(f"Files not sent: {why}", 15000)
            self.refresh_outbox()

        self.outbox.send(sent, failed)

    def send_signed(self, procedure_id: int) -> None:
        """After a signature or an addendum: queue and send the clinic's formats."""

        def failed(why: str) -> None:
            self.workspace.banner.show_message(f"Note not sent: {why}", "warn")
            self.refresh_outbox()

        try:
            self.services.interop.enqueue(procedure_id)
        except KNOWN_FILE_ERRORS as error:
            log.exception("outbox queue failed")
            failed(str(error))
            return
        self.outbox.send(self._signed_sent, failed)

    def _signed_sent(self, result: OutboxResult) -> None:
        self.refresh_outbox()
        if result.failed:
            self.workspace.banner.show_message(
                f"Signed and saved, but {len(result.failed)} file(s) could not be written to the "
                f"export folder; they stay in the outbox. {result.failed[0]}",
                "warn",
            )
            return
        folder = self.services.settings.export_folder()
        self.statusBar().showMessage(f"Note filed in {folder}", 15000)

    def print_handout(self) -> None:
        procedure_id = self._open_procedure_id()
        if procedure_id is None:
            return
        notes = self.services.notes
        self._write_pdf(
            lambda: notes.prepare_handout(procedure_id),
            "Aftercare handout written to",
            "Handout not written",
            True,
        )

    def _show_busy(self, label: str) -> None:
        self.busy_label.setText(label)
        self.busy_label.setVisible(bool(label))

    def open_file(self, path: Path) -> None:
        """Show a written PDF in the system viewer (replaced in tests)."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def _show_backup_age(self) -> None:
        try:
            state = self.services.automatic_backups.state()
        except KNOWN_FILE_ERRORS:  # a backup folder problem must not stop charting
            log.exception("backup state unavailable")
            return
        now = datetime.now(UTC)
        self.backup_label.setText(state.age_text(now))
        # The status bar's messages would otherwise squeeze it to a few letters.
        text = self.backup_label.text()
        self.backup_label.setMinimumWidth(
            self.backup_label.fontMetrics().horizontalAdvance(text) + 24
        )
        self.backup_label.setProperty("role", "error" if state.needs_warning(now) else "")
        repolish(self.backup_label)

    def run_automatic_backup(self) -> None:
        """One automatic backup, reported in the status bar; never blocks charting."""
        if self.services.store.readonly:
            return
        try:
            self.services.automatic_backups.run()
        except Exception as error:
            # Deliberately broad: this runs unattended from a timer, and whatever stops it, the
            # person must keep charting; it is logged with its stack, said in the status bar,
            # and the backup age beside it turns red when the last good backup gets old.
            log.exception("automatic backup failed")
            self.statusBar().showMessage(f"Automatic backup failed: {error}", 15000)
        self._show_backup_age()

    def _first_backup_of_the_day(self) -> None:
        try:
            due = self.services.automatic_backups.due()
        except KNOWN_FILE_ERRORS:
            log.exception("backup state unavailable")
            return
        if due:
            self.run_automatic_backup()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        window_geometry.remember_maximized(self)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Every edit is already committed; only the window state is left to remember, and the
        # closing backup to write.
        if self._bound:
            self.outbox.stop()
            self.live.stop()
            if self._workspace is not None:
                self._workspace.lease.release()
            window_geometry.save(self)
            self.run_automatic_backup()
        super().closeEvent(event)


def _int(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
