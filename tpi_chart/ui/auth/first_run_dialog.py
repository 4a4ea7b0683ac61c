"""First run: a new database has no accounts, so the first person creates the administrator.

"I am also a physician" gives the same account the physician role (a one-doctor clinic)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.domain.errors import DomainError
from tpi_chart.domain.users import User
from tpi_chart.services.password_work import NewPassword, PasswordWork
from tpi_chart.ui.auth.demo_offer import demo_offer
from tpi_chart.ui.plain_errors import user_message
from tpi_chart.ui.tasks import tasks

#: Shown while the password is hashed and the account key wrapped, on the worker thread.
PROTECTING = "Protecting the password…"


class FirstRunAuth(Protocol):
    """The two steps of `AuthService` that create the first administrator."""

    def prepare_password(self, username: str, password: str) -> PasswordWork: ...

    def create_first_administrator(
        self,
        username: str,
        display_name: str,
        password: str,
        *,
        physician: bool = False,
        prepared: NewPassword | None = None,
    ) -> User: ...


# (clinic name, clinic phone): stored before the administrator is created; raises on bad input
SaveClinic = Callable[[str, str], None]


#: Wide enough that every label, placeholder and the three buttons show whole.
MIN_WIDTH = 540


class FirstRunDialog(QDialog):
    def __init__(
        self,
        auth: FirstRunAuth,
        parent: QWidget | None = None,
        save_clinic: SaveClinic | None = None,
        *,
        offer_demo: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("TPI Chart — Create the administrator")
        self._auth = auth
        self._cancelled = False
        self._save_clinic = save_clinic
        self.user: User | None = None
        intro = QLabel(
            "Welcome. This database has no accounts yet. Create the administrator account: it "
            "adds and removes the other users. Everyone signs in with their own account."
        )
        intro.setWordWrap(True)
        self.username = QLineEdit()
        self.username.setAccessibleName("Username")
        self.display_name = QLineEdit()
        self.display_name.setAccessibleName("Full name")
        self.password = QLineEdit()
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setAccessibleName("Repeat password")
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        # The clinic's name and phone head every note; a new clinic starts empty, no demo data.
        self.clinic_name = QLineEdit()
        self.clinic_name.setObjectName("firstRunClinicName")
        self.clinic_name.setAccessibleName("Clinic name")
        self.clinic_phone = QLineEdit()
        self.clinic_phone.setObjectName("firstRunClinicPhone")
        self.clinic_phone.setAccessibleName("Clinic phone")
        self.clinic_phone.setPlaceholderText("printed on notes and handouts (optional)")
        self.physician = QCheckBox("I am also a physician (I chart and sign procedures)")
        self.error = QLabel("")
        self.error.setObjectName("firstRunError")
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.create_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create administrator")
        self.demo_requested = False
        self.demo_button, self.demo_hint = demo_offer(self.buttons, offer_demo, self.try_demo)
        self.setMinimumWidth(MIN_WIDTH)
        form = QFormLayout()
        if save_clinic is not None:
            form.addRow("Clinic name", self.clinic_name)
            form.addRow("Clinic phone", self.clinic_phone)
        form.addRow("Username", self.username)
        form.addRow("Full name", self.display_name)
        form.addRow("Password (8+ characters)", self.password)
        form.addRow("Repeat password", self.confirm)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.physician)
        layout.addWidget(self.error)
        layout.addWidget(self.demo_hint)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

    def submit(self) -> None:
        """Check here, hash the password and make the account key on the worker thread (the
        window keeps repainting), create the account back here."""
        password, confirm = self.password.text(), self.confirm.text()
        if password != confirm:
            self._fail("The two passwords differ; type the same password twice.")
            return
        username, display, physician = (
            self.username.text(),
            self.display_name.text(),
            self.physician.isChecked(),
        )
        try:
            if self._save_clinic is not None:
                self._save_clinic(self.clinic_name.text(), self.clinic_phone.text())
            work = self._auth.prepare_password(username, password)
        except DomainError as error:
            self._fail(user_message(error))
            return
        self.buttons.setEnabled(False)
        self.error.setStyleSheet("")
        self.error.setText(PROTECTING)
        self.error.show()
        tasks().run(
            work.run,
            lambda new: self._create(username, display, password, physician, new),
            label=PROTECTING,
        )

    def _create(
        self, username: str, display: str, password: str, physician: bool, new: NewPassword
    ) -> None:
        self.buttons.setEnabled(True)
        if self._cancelled:
            return  # closed while the password was hashed: no account
        try:
            user = self._auth.create_first_administrator(
                username, display, password, physician=physician, prepared=new
            )
        except DomainError as error:
            self._fail(user_message(error))
            return
        self.password.clear()
        self.confirm.clear()
        self.user = user
        self.accept()

    def reject(self) -> None:
        self._cancelled = True
        super().reject()

    def try_demo(self) -> None:
        """Close without signing in; the launcher opens the demo database instead."""
        self.demo_requested = True
        self.reject()

    def _fail(self, message: str) -> None:
        self.password.clear()
        self.confirm.clear()
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setText(message)
        self.error.show()

    @classmethod
    def ask(
        cls,
        auth: FirstRunAuth,
        parent: QWidget | None = None,
        save_clinic: SaveClinic | None = None,
    ) -> User | None:
        dialog = cls(auth, parent, save_clinic)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        return dialog.user if accepted else None
