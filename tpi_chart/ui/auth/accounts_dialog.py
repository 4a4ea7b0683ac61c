"""User accounts, for an administrator: list, add, change roles, deactivate or reactivate, reset a
password. Every change goes through `AuthService`, which checks the role and audits it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.users import ROLE_LABELS, ROLES, Role, User
from tpi_chart.services.auth import AuthService
from tpi_chart.services.password_work import NewPassword, PasswordWork
from tpi_chart.ui.auth.first_run_dialog import PROTECTING
from tpi_chart.ui.plain_errors import user_message
from tpi_chart.ui.tasks import tasks


class AccountsDialog(QDialog):
    COLUMNS = ("Username", "Name", "Roles", "Status")

    def __init__(self, auth: AuthService, admin: User, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("User accounts")
        self.resize(720, 520)
        self._auth = auth
        self._admin = admin
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the full name
        self.toggle_button = QPushButton("Deactivate")
        self.reset_button = QPushButton("Reset password…")
        self.save_roles_button = QPushButton("Save roles")
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(self.save_roles_button)
        row_buttons.addWidget(self.toggle_button)
        row_buttons.addWidget(self.reset_button)
        row_buttons.addStretch(1)

        self.role_boxes: dict[Role, QCheckBox] = {
            role: QCheckBox(ROLE_LABELS[role]) for role in ROLES
        }
        roles_row = QHBoxLayout()
        for box in self.role_boxes.values():
            roles_row.addWidget(box)
        self.new_username = QLineEdit()
        self.new_name = QLineEdit()
        self.new_password = QLineEdit()
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.add_button = QPushButton("Add account")
        self.new_password.returnPressed.connect(self.add_button.click)
        add_box = QGroupBox("New account")
        form = QFormLayout(add_box)
        form.addRow("Username", self.new_username)
        form.addRow("Full name", self.new_name)
        form.addRow("Initial password", self.new_password)
        form.addRow(self.add_button)

        self.message = QLabel("")
        self.message.setObjectName("accountsMessage")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel("Roles of the selected account, or of a new account:"))
        layout.addLayout(roles_row)
        layout.addLayout(row_buttons)
        layout.addWidget(add_box)
        layout.addWidget(self.message)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        # Enter belongs to the field it is pressed in (the password adds the account), never
        # to whichever button Qt would make the dialog's default.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)

        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.add_button.clicked.connect(self.add_account)
        self.toggle_button.clicked.connect(self.toggle_active)
        self.save_roles_button.clicked.connect(self.save_roles)
        self.reset_button.clicked.connect(self._ask_reset_password)
        self.refresh()

    # -- data ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._users = self._auth.users(self._admin)
        self.table.setRowCount(len(self._users))
        for row, user in enumerate(self._users):
            values = (
                user.username,
                user.display_name,
                user.role_text,
                "active" if user.active else "deactivated",
            )
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self._selection_changed()

    def selected(self) -> User | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return self._users[min(rows)] if rows else None

    def select(self, username: str) -> None:
        for row, user in enumerate(self._users):
            if user.username == username:
                self.table.selectRow(row)

    def _checked_roles(self) -> list[Role]:
        return [role for role, box in self.role_boxes.items() if box.isChecked()]

    def _selection_changed(self) -> None:
        user = self.selected()
        for button in (self.toggle_button, self.reset_button, self.save_roles_button):
            button.setEnabled(user is not None)
        if user is not None:
            self.toggle_button.setText("Deactivate" if user.active else "Reactivate")
            for role, box in self.role_boxes.items():
                box.setChecked(role in user.roles)

    def _run(self, action: str, call: Callable[[], object]) -> bool:
        try:
            call()
        except DomainError as error:
            self._say(user_message(error), "#b3261e")
            return False
        self._say(action, "#1d7a46")
        return True

    def _set_busy(self, busy: bool) -> None:
        self.add_button.setEnabled(not busy)
        self.table.setEnabled(not busy)
        if busy:
            for button in (self.toggle_button, self.reset_button, self.save_roles_button):
                button.setEnabled(False)
        else:
            self._selection_changed()

    def _say(self, text: str, color: str) -> None:
        self.message.setStyleSheet(f"color: {color};" if color else "")
        self.message.setText(text)

    def _with_password(
        self,
        action: str,
        prepare: Callable[[], PasswordWork],
        store: Callable[[NewPassword], object],
        then: Callable[[], None],
    ) -> bool:
        """Check the password here, hash it and make the account key on the worker thread,
        then `store` and `then` back here; False when the password was refused at once."""
        try:
            work = prepare()
        except DomainError as error:
            self._say(user_message(error), "#b3261e")
            return False
        self._say(PROTECTING, "")
        self._set_busy(True)  # one account change at a time

        def done(new: NewPassword) -> None:
            self._set_busy(False)
            if self._run(action, lambda: store(new)):
                then()

        tasks().run(work.run, done, label=PROTECTING)
        return True

    # -- actions -------------------------------------------------------------------------------

    def add_account(self) -> None:
        username = self.new_username.text().strip().lower()
        name, roles, password = (
            self.new_name.text(),
            self._checked_roles(),
            self.new_password.text(),
        )
        self.new_password.clear()

        def added() -> None:
            self.new_username.clear()
            self.new_name.clear()
            self.refresh()
            self.select(username)

        self._with_password(
            f"Account {username} added.",
            lambda: self._auth.prepare_password(username, password),
            lambda new: self._auth.create_user(
                self._admin, username, name, roles, password, prepared=new
            ),
            added,
        )

    def save_roles(self) -> None:
        user = self.selected()
        if user is None:
            return
        if self._run(
            f"Roles of {user.username} saved.",
            lambda: self._auth.update_user(self._admin, user.username, roles=self._checked_roles()),
        ):
            self.refresh()
            self.select(user.username)

    def toggle_active(self) -> None:
        user = self.selected()
        if user is None:
            return
        verb = "deactivated" if user.active else "reactivated"
        if self._run(
            f"Account {user.username} {verb}.",
            lambda: self._auth.update_user(self._admin, user.username, active=not user.active),
        ):
            self.refresh()
            self.select(user.username)

    def reset_password(self, password: str) -> bool:
        """False when refused at once (a weak password); the reset itself is stored once the
        password is hashed, and the message says so."""
        user = self.selected()
        if user is None:
            return False
        return self._with_password(
            f"Password of {user.username} reset; ask them to change it.",
            lambda: self._auth.prepare_password(user.username, password),
            lambda new: self._auth.reset_password(
                self._admin, user.username, password, prepared=new
            ),
            lambda: None,
        )

    def _ask_reset_password(self) -> None:  # pragma: no cover - modal input, driven by hand
        password, ok = QInputDialog.getText(
            self, "Reset password", "New password (8+ characters):", QLineEdit.EchoMode.Password
        )
        if ok:
            self.reset_password(password)

    @classmethod
    def ask(cls, auth: AuthService, admin: User, parent: QWidget | None = None) -> None:
        cls(auth, admin, parent).exec()
