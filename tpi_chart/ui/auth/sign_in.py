"""One sign-in form's logic, shared by the sign-in dialog and the lock screen: the database is
read and written on the GUI thread, the Argon2 work runs on the worker (`ui.tasks`), and the
wait after failed attempts is counted down with a timer, never slept.

The sign-in dialog is on screen before the clinic is open (`ui.launch` opens it while the rest of
the app is imported): a form may start without a service, and an attempt made before `attach`
waits for it ("Opening the clinic…"), so nothing typed is lost and nothing is checked early.
This module imports only Qt at first for the same reason; what the attempt needs comes with it.

The service enforces the wait (`AuthService.begin_login` refuses an early attempt); the
countdown only tells the person how long, and keeps the button off until then.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

if TYPE_CHECKING:
    from tpi_chart.domain.users import User

WRONG = "Wrong username or password."
CHECKING = "Checking the password…"
OPENING = "Opening the clinic…"


class Attempt(Protocol):
    def check(self, password: str) -> Any: ...


class SignInService(Protocol):
    """The three steps of `AuthService`'s sign-in (and the back-off's length)."""

    def wait_before_login(self, username: str) -> float: ...

    def begin_login(self, username: str) -> Attempt: ...

    def finish_login(self, attempt: Any, password: str, check: Any) -> User | None: ...


def countdown_text(seconds: int) -> str:
    return f"Several failed attempts: you can try again in {seconds} s."


class SignIn(QObject):
    """Signals:
    signed_in: the User, after a right password.
    refused: what to tell the person (wrong password, account locked…).
    state_changed: a status line ("Checking the password…", the countdown, or "") and whether
        the form may be submitted now.
    """

    signed_in = Signal(object)
    refused = Signal(str)
    state_changed = Signal(str, bool)

    def __init__(
        self,
        service: SignInService | None,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._clock = clock
        self._checking: object | None = None  # the attempt on the worker, if any
        self._held: tuple[str, str] | None = None  # submitted before the clinic was open
        self._ready_at = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._tick)

    @property
    def busy(self) -> bool:
        return self._checking is not None

    def seconds_to_wait(self) -> int:
        return max(0, math.ceil(self._ready_at - self._clock()))

    @property
    def attached(self) -> bool:
        return self._service is not None

    def attach(self, service: SignInService) -> None:
        """The clinic is open: an attempt made meanwhile goes ahead now."""
        self._service = service
        held, self._held = self._held, None
        if held is not None:
            self.submit(*held)

    def submit(self, username: str, password: str) -> None:
        if self.busy or self.seconds_to_wait() > 0 or self._held is not None:
            return  # the button is off; Return in the password field lands here too
        if self._service is None:
            self._held = (username, password)
            self.state_changed.emit(OPENING, False)
            return
        from tpi_chart.services.auth import SignInDelayed
        from tpi_chart.ui.plain_errors import KNOWN_ERRORS, user_message
        from tpi_chart.ui.tasks import tasks

        try:
            attempt = self._service.begin_login(username)
        except SignInDelayed as delayed:
            self._wait(delayed.seconds)
            return
        except KNOWN_ERRORS as error:
            self.refused.emit(user_message(error))
            return
        self._checking = attempt
        self.state_changed.emit(CHECKING, False)
        tasks().run(
            lambda: attempt.check(password),
            lambda check: self._finish(attempt, username, password, check),
            label=CHECKING,
        )

    def cancel(self) -> None:
        """The form closed: the check running (or waiting for the clinic) is forgotten (nothing
        recorded, nobody signed in), and the countdown stops."""
        self._checking = None
        self._held = None
        self._timer.stop()

    def _finish(self, attempt: Attempt, username: str, password: str, check: object) -> None:
        if self._checking is not attempt:
            return  # cancelled meanwhile
        self._checking = None
        from tpi_chart.ui.plain_errors import KNOWN_ERRORS, user_message

        assert self._service is not None  # an attempt is only made once attached
        try:
            user = self._service.finish_login(attempt, password, check)
        except KNOWN_ERRORS as error:
            self._refuse(user_message(error), username)
            return
        if user is None:
            self._refuse(WRONG, username)
            return
        self.state_changed.emit("", True)
        self.signed_in.emit(user)

    def _refuse(self, message: str, username: str) -> None:
        self.refused.emit(message)
        assert self._service is not None
        wait = self._service.wait_before_login(username)
        if wait > 0:
            self._wait(wait)
        else:
            self.state_changed.emit("", True)

    def _wait(self, seconds: float) -> None:
        self._ready_at = self._clock() + seconds
        self._timer.start()
        self._tick()

    def _tick(self) -> None:
        left = self.seconds_to_wait()
        if left > 0:
            self.state_changed.emit(countdown_text(left), False)
            return
        self._timer.stop()
        self.state_changed.emit("", True)
