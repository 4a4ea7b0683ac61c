"""Sign in: username and password. A wrong password keeps the dialog open and says so; nothing
about the attempt other than the username is kept anywhere (the password field is cleared). The
password is checked on the worker thread (`SignIn`): the dialog keeps painting meanwhile.

The launcher shows it before the clinic is open (`attach` gives it the clinic's sign-in then), so
this module imports Qt and nothing of the app's model: it is the first thing painted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from tpi_chart.ui.auth.demo_offer import demo_offer
from tpi_chart.ui.auth.sign_in import SignIn, SignInService

if TYPE_CHECKING:
    from tpi_chart.domain.users import User

#: Wide enough that every label, placeholder and the three buttons show whole.
MIN_WIDTH = 420


class LoginDialog(QDialog):
    def __init__(
        self,
        service: SignInService | None,
        username: str = "",
        parent: QWidget | None = None,
        *,
        offer_demo: bool = False,
        demo: bool = False,
    ) -> None:
        """`demo`: the demo clinic's sign-in, which says so before anyone types a password."""
        super().__init__(parent)
        self.setWindowTitle("TPI Chart — Sign in")
        self.sign_in = SignIn(service, self)
        self.sign_in.signed_in.connect(self._signed_in)
        self.sign_in.refused.connect(self._fail)
        self.sign_in.state_changed.connect(self._show_state)
        self.user: User | None = None
        heading = QLabel("Sign in to the TPI Chart demo" if demo else "Sign in to TPI Chart")
        heading.setObjectName("loginHeading")
        heading.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.username = QLineEdit(username)
        self.username.setAccessibleName("Username")
        self.password = QLineEdit()
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("")
        self.error.setObjectName("loginError")
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        self.error.hide()
        # "Checking the password…" or the countdown after failed attempts.
        self.status = QLabel("")
        self.status.setObjectName("loginStatus")
        self.status.setWordWrap(True)
        self.status.hide()
        # Made empty, then given its buttons: PySide6 matching the constructor's overloads (one
        # takes a Qt.Orientation) builds the whole `Qt` namespace, 26 ms before the first paint.
        self.buttons = QDialogButtonBox()
        self.buttons.setStandardButtons(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Sign in")
        self.sign_in_button = ok
        self.demo_requested = False
        self.demo_button, self.demo_hint = demo_offer(self.buttons, offer_demo, self.try_demo)
        self.setMinimumWidth(MIN_WIDTH)
        form = QFormLayout()
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.status)
        layout.addWidget(self.demo_hint)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        (self.password if username else self.username).setFocus()

    def submit(self) -> None:
        username = self.username.text().strip()
        password = self.password.text()
        self.password.clear()
        if not username or not password:
            self._fail("Enter your username and password.")
            return
        self.sign_in.submit(username, password)

    def attach(self, service: SignInService) -> None:
        """The clinic is open (the dialog was shown before it was): a sign-in pressed meanwhile
        is checked now."""
        self.sign_in.attach(service)

    def _signed_in(self, user: User) -> None:
        self.user = user
        self.accept()

    def _show_state(self, text: str, ready: bool) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
        self.sign_in_button.setEnabled(ready)

    def reject(self) -> None:
        self.sign_in.cancel()
        super().reject()

    def try_demo(self) -> None:
        """Close without signing in; the launcher opens the demo database instead."""
        self.demo_requested = True
        self.reject()

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        self.password.setFocus()

    @classmethod
    def ask(
        cls, service: SignInService, username: str = "", parent: QWidget | None = None
    ) -> User | None:
        """Show the dialog until a successful sign-in (the user) or Cancel (None)."""
        dialog = cls(service, username, parent)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        return dialog.user if accepted else None
